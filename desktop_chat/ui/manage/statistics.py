"""The Statistics tab: requests, tokens, errors, latency and cost over a chosen period.

All figures come from desktop_chat.engine.stats over the usage records the window has
already read; changing the period, the grouping or a price recomputes them in memory
without touching the database. Prices are the user's own (providers change them, local
models cost nothing) and are kept in a small JSON file beside the settings.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.engine import stats
from desktop_chat.engine.stats import Price, Report, Summary
from desktop_chat.schemas import Agent, UsageRecord
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.i18n import N_, t
from desktop_chat.ui.manage.charts import BarChart, LineChart, Series
from desktop_chat.ui.manage.format import DASH, count, millis, money

Index = QModelIndex | QPersistentModelIndex
RANGE_LABELS = {
    "24h": N_("Last 24 hours"),
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "all": N_("All time"),
}
GROUPINGS = {"day": N_("Per day"), "agent": N_("Per agent"), "model": N_("Per model")}
KEY_HEADERS = {"day": N_("Day"), "agent": N_("Agent"), "model": N_("Model")}
COLUMNS = (
    "",  # the key column, named after the grouping
    N_("Requests"),
    N_("Tokens in"),
    N_("Tokens out"),
    N_("Errors"),
    N_("First token, median / p95"),
    N_("Duration, median / p95"),
    N_("Cost"),
)
INPUT_COLOR = QColor("#2f80ed")
OUTPUT_COLOR = QColor("#f2994a")


class StatsTableModel(QAbstractTableModel):
    """One row per day, agent or model."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Summary] = []
        self.key_header = KEY_HEADERS["day"]
        self.names: dict[str, str] = {}

    def set_rows(self, rows: list[Summary], key_header: str, names: dict[str, str]) -> None:
        self.beginResetModel()
        self.rows, self.key_header, self.names = rows, key_header, names
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return t(self.key_header) if section == 0 else t(COLUMNS[section])

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        s = self.rows[index.row()]
        cells = (
            self.names.get(s.key, s.key) or t("(no agent)"),
            count(s.requests),
            count(s.prompt_tokens),
            count(s.completion_tokens),
            count(s.errors),
            f"{millis(s.ttft_median_ms)} / {millis(s.ttft_p95_ms)}",
            f"{millis(s.duration_median_ms)} / {millis(s.duration_p95_ms)}",
            money(s.cost),
        )
        return cells[index.column()]


class PricesEditor(QTableWidget):
    """Per-model prices per million tokens; a blank cell means no price."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setObjectName("managePrices")
        self.setAccessibleName(t("Prices per million tokens"))
        self.setHorizontalHeaderLabels([t("Model"), t("Input / 1M"), t("Output / 1M")])
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.setWordWrap(False)
        self.prices: dict[str, Price] = {}
        self._filling = False
        self.itemChanged.connect(self._edited)

    def set_models(self, models: list[str], prices: dict[str, Price]) -> None:
        self._filling = True
        self.prices = dict(prices)
        self.setRowCount(len(models))
        for row, model in enumerate(models):
            name = QTableWidgetItem(model)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.setItem(row, 0, name)
            price = prices.get(model)
            self.setItem(row, 1, QTableWidgetItem(_price_text(price, 1)))
            self.setItem(row, 2, QTableWidgetItem(_price_text(price, 2)))
        self._filling = False

    def set_price(self, model: str, input_per_million: float, output_per_million: float) -> None:
        """Type a price into the row of `model`, as a person would."""
        for row in range(self.rowCount()):
            if self.item(row, 0).text() == model:
                self.item(row, 1).setText(f"{input_per_million:g}")
                self.item(row, 2).setText(f"{output_per_million:g}")
                return
        raise KeyError(model)

    def _edited(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() == 0:
            return
        row = item.row()
        model = self.item(row, 0).text()
        try:
            given, taken = (_parse(self.item(row, c).text()) for c in (1, 2))
        except ValueError:
            item.setBackground(QColor("#f8d7da"))
            item.setToolTip(t("Type a number, like 2.5"))
            return
        item.setBackground(self.palette().color(QPalette.ColorRole.Base))
        item.setToolTip("")
        if given is None and taken is None:
            self.prices.pop(model, None)
        else:
            self.prices[model] = Price(given or 0.0, taken or 0.0)
        self.changed.emit()


def _price_text(price: Price | None, column: int) -> str:
    if price is None:
        return ""
    return f"{price.input_per_million if column == 1 else price.output_per_million:g}"


def _parse(text: str) -> float | None:
    """A price, or None for a blank cell; ValueError for anything but a number >= 0."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    value = float(text)
    if value < 0 or value != value:  # negative or NaN
        raise ValueError(text)
    return value


class StatisticsTab(QWidget):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self._generations = itertools.count(1)
        self._latest = 0
        self.records: list[UsageRecord] = []
        self.agents: list[Agent] = []
        self.prices_file = core.paths.config / stats.PRICES_FILE
        self.report: Report | None = None

        self.range_combo = QComboBox()
        self.range_combo.setObjectName("statsRange")
        self.range_combo.setAccessibleName(t("Period"))
        for key, label in RANGE_LABELS.items():
            self.range_combo.addItem(t(label), key)
        self.range_combo.setCurrentIndex(self.range_combo.findData("7d"))
        self.grouping_combo = QComboBox()
        self.grouping_combo.setObjectName("statsGrouping")
        self.grouping_combo.setAccessibleName(t("Grouping"))
        for key, label in GROUPINGS.items():
            self.grouping_combo.addItem(t(label), key)
        self.range_combo.currentIndexChanged.connect(lambda _i: self.recompute())
        self.grouping_combo.currentIndexChanged.connect(lambda _i: self._show_table())
        self.csv_button = QPushButton(t("Export CSV…"))
        self.csv_button.setObjectName("statsCsv")
        self.csv_button.clicked.connect(self._export_clicked)
        self.summary = QLabel()
        self.summary.setObjectName("statsSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.requests_chart = BarChart(t("Requests per day"))
        self.requests_chart.setObjectName("requestsChart")
        self.tokens_chart = LineChart(t("Tokens per day"))
        self.tokens_chart.setObjectName("tokensChart")
        charts = QHBoxLayout()
        charts.addWidget(self.requests_chart)
        charts.addWidget(self.tokens_chart)

        self.table_model = StatsTableModel()
        self.table = QTableView()
        self.table.setObjectName("statsTable")
        self.table.setAccessibleName(t("Statistics"))
        self.table.setModel(self.table_model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        self.prices = PricesEditor()
        self.prices.changed.connect(self._prices_changed)
        prices_box = QGroupBox(t("Prices per million tokens"))
        prices_box.setMaximumWidth(380)
        prices_layout = QVBoxLayout(prices_box)
        prices_layout.addWidget(self.prices)
        hint = QLabel(t("For the cost estimate; in your billing currency. Blank: no price."))
        hint.setWordWrap(True)
        prices_layout.addWidget(hint)

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.table)
        lower.addWidget(prices_box)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 1)
        lower.setChildrenCollapsible(False)

        controls = QHBoxLayout()
        controls.addWidget(QLabel(t("Period:")))
        controls.addWidget(self.range_combo)
        controls.addWidget(self.grouping_combo)
        controls.addStretch(1)
        controls.addWidget(self.csv_button)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addLayout(charts, 2)
        layout.addWidget(lower, 3)

    @property
    def range_key(self) -> str:
        return str(self.range_combo.currentData())

    @property
    def grouping(self) -> str:
        return str(self.grouping_combo.currentData())

    async def set_usage(self, records: list[UsageRecord], agents: list[Agent]) -> None:
        self.records = records
        self.agents = agents
        models = sorted({r.model for r in records} | {a.model for a in agents})
        self.prices.set_models(models, stats.load_prices(self.prices_file))
        await self.update_report()

    def _prices_changed(self) -> None:
        stats.save_prices(self.prices_file, self.prices.prices)
        self.recompute()

    def recompute(self) -> None:
        self.bridge.spawn(self.update_report())

    async def update_report(self) -> None:
        """Compute off the loop's thread: a year of heavy use is ~100,000 records."""
        generation = next(self._generations)
        self._latest = generation
        now = datetime.now(UTC)
        report = await asyncio.to_thread(
            stats.build_report,
            self.records,
            since=stats.range_start(self.range_key, now),
            until=now,
            prices=dict(self.prices.prices),
        )
        if generation != self._latest or not isValid(self):
            return  # the period or a price changed again meanwhile
        self.report = report
        self._show_summary(report)
        self._show_charts(report)
        self._show_table()

    def _show_summary(self, report: Report) -> None:
        total = report.total
        lines = [
            t(
                "{requests} requests · {tokens_in} tokens in · {tokens_out} tokens out · "
                "{errors} errors"
            ).format(
                requests=count(total.requests),
                tokens_in=count(total.prompt_tokens),
                tokens_out=count(total.completion_tokens),
                errors=count(total.errors),
            ),
            t(
                "First token: {ttft} median, {ttft95} p95 · Duration: {duration} median, "
                "{duration95} p95 · Estimated cost: {cost}"
            ).format(
                ttft=millis(total.ttft_median_ms),
                ttft95=millis(total.ttft_p95_ms),
                duration=millis(total.duration_median_ms),
                duration95=millis(total.duration_p95_ms),
                cost=money(total.cost) if total.cost is not None else DASH,
            ),
        ]
        if report.unpriced_models and total.requests:
            lines.append(
                t("No price set for: {models}").format(models=", ".join(report.unpriced_models))
            )
        self.summary.setText("\n".join(lines))

    def _show_charts(self, report: Report) -> None:
        labels = [d.key[5:] for d in report.days]  # MM-DD
        bar = self.palette().color(QPalette.ColorRole.Highlight)
        self.requests_chart.set_data(
            labels, [Series(t("Requests"), [float(d.requests) for d in report.days], bar)]
        )
        self.tokens_chart.set_data(
            labels,
            [
                Series(t("In"), [float(d.prompt_tokens) for d in report.days], INPUT_COLOR),
                Series(t("Out"), [float(d.completion_tokens) for d in report.days], OUTPUT_COLOR),
            ],
        )

    def _show_table(self) -> None:
        if self.report is None:
            return
        grouping = self.grouping
        if grouping == "day":
            rows = list(reversed(self.report.days))  # newest first
        elif grouping == "agent":
            rows = self.report.agents
        else:
            rows = self.report.models
        names = {a.agent_id: a.name for a in self.agents} if grouping == "agent" else {}
        self.table_model.set_rows(rows, KEY_HEADERS[grouping], names)

    def choose_csv_file(self) -> Path | None:
        path, _chosen = QFileDialog.getSaveFileName(
            self, t("Export statistics"), "desktop_chat-usage.csv", t("CSV (*.csv)")
        )
        return Path(path) if path else None

    def _export_clicked(self) -> None:
        path = self.choose_csv_file()
        if path is not None:
            self.export_csv(path)

    def export_csv(self, path: Path) -> None:
        if self.report is None:
            return
        names = {a.agent_id: a.name for a in self.agents}
        path.write_text(stats.report_csv(self.report, names), encoding="utf-8")
        self.summary.setText(self.summary.text() + "\n" + t("Exported to {path}").format(path=path))

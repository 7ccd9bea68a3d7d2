"""Two small charts drawn with QPainter: requests per day as bars, tokens per day as lines.

QtCharts is a separate, large PySide6 add-on; a bar and a line over a few dozen days need
only axes, a grid and a handful of rectangles, and drawn here they follow the window's
palette (light or dark) with no extra dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_chat.ui.i18n import t
from desktop_chat.ui.manage.format import compact

TICKS = 4


@dataclass
class Series:
    name: str
    values: list[float]
    color: QColor


def nice_step(maximum: float, ticks: int = TICKS) -> float:
    """A round grid step (1, 2 or 5 times a power of ten) so `ticks` steps reach `maximum`."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return max(factor * power, 1.0)  # counts: never a step below one
    return 10 * power


class Chart(QWidget):
    """Title, legend, y grid and x labels; subclasses draw the series inside the plot."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.labels: list[str] = []
        self.series: list[Series] = []
        self.setMinimumSize(260, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName(title)

    def set_data(self, labels: list[str], series: list[Series]) -> None:
        self.labels = labels
        self.series = series
        total = sum(sum(s.values) for s in series)
        self.setAccessibleDescription(
            ", ".join(f"{s.name}: {compact(sum(s.values))}" for s in series) if total else ""
        )
        self.update()

    @property
    def maximum(self) -> float:
        return max((v for s in self.series for v in s.values), default=0.0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = QColor(text)
        muted.setAlphaF(0.55)
        grid = QColor(text)
        grid.setAlphaF(0.12)
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        area = QRectF(self.rect()).adjusted(8, 6, -10, -6)

        painter.setPen(text)
        title_font = self.font()
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.drawText(area.topLeft() + QPointF(0, line - metrics.descent()), self.title)
        painter.setFont(self.font())
        self._legend(painter, area, metrics)

        if not self.labels or self.maximum <= 0:
            painter.setPen(muted)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, t("No requests in this period"))
            return

        step = nice_step(self.maximum)
        top = step * math.ceil(self.maximum / step)
        y_labels = [compact(step * i) for i in range(round(top / step) + 1)]
        left = max(metrics.horizontalAdvance(s) for s in y_labels) + 8
        plot = QRectF(area.left() + left, area.top() + line + 10, area.width() - left, 0)
        plot.setBottom(area.bottom() - line - 6)
        if plot.height() < 20 or plot.width() < 20:
            return

        for i, label in enumerate(y_labels):
            y = plot.bottom() - plot.height() * (step * i) / top
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(muted)
            painter.drawText(
                QRectF(area.left(), y - line / 2, left - 6, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
        self._x_labels(painter, plot, metrics, muted)
        self.draw_series(painter, plot, top)

    def _legend(self, painter: QPainter, area: QRectF, metrics: QFontMetrics) -> None:
        if len(self.series) < 2:
            return
        x = area.right()
        for series in reversed(self.series):
            width = metrics.horizontalAdvance(series.name)
            x -= width
            baseline = area.top() + metrics.height() - metrics.descent()
            painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            painter.drawText(QPointF(x, baseline), series.name)
            x -= 14
            painter.fillRect(QRectF(x, baseline - 9, 10, 10), series.color)
            x -= 14

    def _x_labels(
        self, painter: QPainter, plot: QRectF, metrics: QFontMetrics, color: QColor
    ) -> None:
        slot = plot.width() / len(self.labels)
        widest = max(metrics.horizontalAdvance(label) for label in self.labels) + 8
        every = max(1, math.ceil(widest / slot))  # skip labels rather than overlap them
        painter.setPen(color)
        for i, label in enumerate(self.labels):
            if i % every and i != len(self.labels) - 1:
                continue
            center = plot.left() + slot * (i + 0.5)
            painter.drawText(
                QRectF(center - widest / 2, plot.bottom() + 4, widest, metrics.height()),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                label,
            )

    def draw_series(self, painter: QPainter, plot: QRectF, top: float) -> None:
        raise NotImplementedError


class BarChart(Chart):
    """One bar per label for the first series (requests per day)."""

    def draw_series(self, painter: QPainter, plot: QRectF, top: float) -> None:
        if not self.series:
            return
        series = self.series[0]
        slot = plot.width() / len(self.labels)
        width = max(1.0, min(slot * 0.7, 48.0))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(series.color)
        for i, value in enumerate(series.values):
            if value <= 0:
                continue
            height = plot.height() * value / top
            x = plot.left() + slot * (i + 0.5) - width / 2
            painter.drawRoundedRect(QRectF(x, plot.bottom() - height, width, height), 2, 2)


class LineChart(Chart):
    """A line per series through one point per label (tokens in and out per day)."""

    def draw_series(self, painter: QPainter, plot: QRectF, top: float) -> None:
        slot = plot.width() / len(self.labels)
        for series in self.series:
            points = [
                QPointF(plot.left() + slot * (i + 0.5), plot.bottom() - plot.height() * v / top)
                for i, v in enumerate(series.values)
            ]
            if not points:
                continue
            path = QPainterPath(points[0])
            for point in points[1:]:
                path.lineTo(point)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(series.color, 2))
            painter.drawPath(path)
            if len(points) <= 62:  # dots only while they stay apart
                painter.setBrush(series.color)
                painter.setPen(Qt.PenStyle.NoPen)
                for point in points:
                    painter.drawEllipse(point, 2.5, 2.5)

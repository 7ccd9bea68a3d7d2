"""The Live tab: replies being written right now, the request slots they hold, recent errors.

Everything here comes from the engine's events and its in-memory reply states, never from
the database: a delta event counts a token, a done event clears the row, an error event
adds a line. A one-second timer only turns those in-memory counts into rates and elapsed
times (and picks up replies still waiting for a slot, which send no events yet).

Requests of other programs through the API's OpenAI-compatible gateway send no events:
the timer reads them from the gateway's list of requests in flight, each second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.engine import ConversationService
from desktop_chat.engine.events import ReplyDelta, ReplyDone, ReplyFailed, ReplyStarted
from desktop_chat.engine.gateway import GatewayCall, GatewayService
from desktop_chat.engine.reply import ReplyState
from desktop_chat.engine.stats import failures_since
from desktop_chat.schemas import Agent, UsageRecord
from desktop_chat.ui.i18n import N_, say, t
from desktop_chat.ui.manage.format import DASH, count
from desktop_chat.ui.manage.providers import error_words

Index = QModelIndex | QPersistentModelIndex
COLUMNS = (
    N_("Conversation"),
    N_("Agent"),
    N_("Model"),
    N_("State"),
    N_("Tokens so far"),
    N_("Tokens/s"),
    N_("Elapsed"),
)
ERROR_WINDOW = timedelta(hours=1)
GATEWAY_ROW = "gateway:"  # row keys of gateway requests, which belong to no conversation
TitleOf = Callable[[str], str]


@dataclass
class LiveReply:
    """What the tab knows of one reply; `tokens` counts streamed chunks (one token each
    on OpenAI-compatible servers), reasoning included."""

    conversation_id: str
    agent: str
    model: str
    started: float  # time.monotonic(), like the engine's ReplyState
    first_token: float | None
    tokens: int
    queued: bool
    client: str | None = None  # the API token of a gateway request

    @classmethod
    def of_call(cls, call: GatewayCall) -> LiveReply:
        return cls(
            conversation_id=GATEWAY_ROW + call.id,
            agent=call.agent.name,
            model=call.agent.model,
            started=call.started,
            first_token=call.first_token,
            tokens=call.tokens,
            queued=call.queued,
            client=call.token,
        )

    @classmethod
    def of(cls, state: ReplyState) -> LiveReply:
        return cls(
            conversation_id=state.conversation_id,
            agent=state.agent.name,
            model=state.agent.model,
            started=state.started,
            first_token=state.first_token,
            tokens=len(state.text) + len(state.reasoning),
            queued=state.queued,
        )

    def rate(self, now: float) -> float | None:
        """Tokens per second since the first one; None until there is a meaningful span."""
        if self.first_token is None or now - self.first_token < 0.2:
            return None
        return self.tokens / (now - self.first_token)


class LiveModel(QAbstractTableModel):
    def __init__(self, title_of: TitleOf) -> None:
        super().__init__()
        self.rows: list[LiveReply] = []
        self.title_of = title_of

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return t(COLUMNS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        reply = self.rows[index.row()]
        now = time.monotonic()
        if reply.queued:
            state = t("Waiting for a slot")
        elif reply.first_token is None:
            state = t("Waiting for the first token")
        else:
            state = t("Streaming")
        rate = reply.rate(now)
        if reply.client is not None:
            title = t("Through the API: {client}").format(client=reply.client)
        else:
            title = self.title_of(reply.conversation_id)
        cells = (
            title,
            reply.agent,
            reply.model,
            state,
            count(reply.tokens),
            DASH if rate is None else f"{rate:.1f}",
            f"{now - reply.started:.0f} s",
        )
        return cells[index.column()]

    def find(self, conversation_id: str) -> LiveReply | None:
        return next((r for r in self.rows if r.conversation_id == conversation_id), None)

    def sync(self, current: list[LiveReply]) -> None:
        """Match the engine's requests: add new ones, drop finished ones, follow queue moves."""
        by_id = {r.conversation_id: r for r in current}
        for i in reversed(range(len(self.rows))):
            if self.rows[i].conversation_id not in by_id:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self.rows[i]
                self.endRemoveRows()
        for now in current:
            reply = self.find(now.conversation_id)
            if reply is None:
                self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
                self.rows.append(now)
                self.endInsertRows()
            else:
                reply.queued, reply.started = now.queued, now.started
                reply.first_token, reply.tokens = now.first_token, now.tokens
        self.refresh()

    def remove(self, conversation_id: str) -> None:
        for i, reply in enumerate(self.rows):
            if reply.conversation_id == conversation_id:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self.rows[i]
                self.endRemoveRows()
                return

    def refresh(self) -> None:
        if self.rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1)
            )


class LiveTab(QWidget):
    gateway_done = Signal()  # gateway requests ended: they are in the usage table now

    def __init__(
        self,
        service: ConversationService,
        gateway: GatewayService,
        title_of: TitleOf,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.gateway = gateway
        self.title_of = title_of
        self.agent_names: dict[str, str] = {}
        self.errors: list[tuple[datetime, str, str, str, str]] = []  # at, cid, agent, kind, text
        self._gateway_ended = gateway.ended  # gateway requests counted when last looked

        self.slots = QProgressBar()
        self.slots.setObjectName("liveSlots")
        self.slots.setAccessibleName(t("Request slots in use"))
        self.slots.setTextVisible(True)
        self.occupancy = QLabel()
        self.occupancy.setObjectName("liveOccupancy")
        self.model = LiveModel(title_of)
        self.view = QTableView()
        self.view.setObjectName("liveReplies")
        self.view.setAccessibleName(t("Replies in flight"))
        self.view.setModel(self.model)
        self.view.verticalHeader().hide()
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Fixed widths: columns that resized to their contents would jump while tokens arrive.
        for column, width in enumerate((0, 150, 130, 190, 110, 80, 80)):
            if column:
                header.resizeSection(column, max(width, header.sectionSizeHint(column)))
        self.errors_label = QLabel()
        self.errors_label.setObjectName("liveErrorsLabel")
        self.error_table = QTableWidget(0, 4)
        self.error_table.setObjectName("liveErrors")
        self.error_table.setAccessibleName(t("Errors in the last hour"))
        self.error_table.setHorizontalHeaderLabels(
            [t("Time"), t("Conversation"), t("Agent"), t("Error")]
        )
        self.error_table.verticalHeader().hide()
        self.error_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        errors_header = self.error_table.horizontalHeader()
        errors_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        errors_header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

        slots_row = QHBoxLayout()
        slots_row.addWidget(QLabel(t("Request slots:")))
        slots_row.addWidget(self.slots, 1)
        slots_row.addWidget(self.occupancy)
        layout = QVBoxLayout(self)
        layout.addLayout(slots_row)
        layout.addWidget(QLabel(t("Replies in flight")))
        layout.addWidget(self.view, 2)
        layout.addWidget(self.errors_label)
        layout.addWidget(self.error_table, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.tick()

    def set_agents(self, agents: list[Agent]) -> None:
        self.agent_names = {a.agent_id: a.name for a in agents}

    def seed_errors(self, records: list[UsageRecord]) -> None:
        """Failures of the last hour from before the window opened; later ones arrive as events."""
        since = datetime.now(UTC) - ERROR_WINDOW
        self.errors = [
            (
                r.created_at,
                r.conversation_id,
                self.agent_names.get(r.agent_id or "", ""),
                r.error_kind or "",
                error_words(r.error_kind) if r.error_kind else t("Failed"),
            )
            for r in failures_since(records, since)
        ]
        self._show_errors()

    def add_gateway_failures(self, fresh: list[UsageRecord]) -> None:
        """Failed gateway requests, read from new usage records: they send no events.

        A failed reply of a conversation is already here from its event (same id, same
        moment); any other new failure is a request of another program through the gateway.
        """
        shown = {cid for _at, cid, *_ in self.errors}
        added = [
            (
                r.created_at,
                GATEWAY_ROW + r.conversation_id,
                self.agent_names.get(r.agent_id or "", ""),
                r.error_kind or "",
                error_words(r.error_kind) if r.error_kind else t("Failed"),
            )
            for r in failures_since(fresh, datetime.now(UTC) - ERROR_WINDOW)
            if r.conversation_id not in shown
        ]
        if added:
            self.errors = sorted(self.errors + added, key=lambda e: e[0], reverse=True)
            self._show_errors()

    # Events and the clock -------------------------------------------------------------

    def on_reply_delta(self, event: ReplyDelta) -> None:
        reply = self.model.find(event.conversation_id)
        if reply is not None:
            reply.tokens += 1
            if reply.first_token is None:
                reply.first_token = time.monotonic()
                reply.queued = False
        else:  # started before the window opened, or its first token: take the state
            self.tick()

    def on_reply_done(self, event: ReplyDone) -> None:
        self.model.remove(event.conversation_id)
        self._show_occupancy()

    def on_reply_started(self, event: ReplyStarted) -> None:
        self.tick()

    def on_reply_failed(self, event: ReplyFailed) -> None:
        reply = self.model.find(event.conversation_id)
        self.errors.insert(
            0,
            (
                datetime.now(UTC),
                event.conversation_id,
                reply.agent if reply else "",
                event.kind,
                say(event.message) or error_words(event.kind),
            ),
        )
        self._show_errors()

    def tick(self) -> None:
        replies = [LiveReply.of(state) for state in self.service.active_replies]
        calls = [LiveReply.of_call(call) for call in self.gateway.active]
        self.model.sync(replies + calls)
        if self.gateway.ended != self._gateway_ended:
            self._gateway_ended = self.gateway.ended
            self.gateway_done.emit()
        self._show_occupancy()
        cutoff = datetime.now(UTC) - ERROR_WINDOW
        if self.errors and self.errors[-1][0] < cutoff:
            self.errors = [e for e in self.errors if e[0] >= cutoff]
            self._show_errors()

    def _show_occupancy(self) -> None:
        replies = self.service.replies
        running = replies.requests_in_flight + self.gateway.requests_in_flight
        limit = self.service.upstream.max_concurrent
        queued = replies.requests_queued + self.gateway.requests_queued
        self.slots.setRange(0, max(limit, running))
        self.slots.setValue(running)
        self.slots.setFormat(t("{running} of {limit}").format(running=running, limit=limit))
        self.occupancy.setText(t("Waiting for a slot: {queued}").format(queued=queued))

    def _show_errors(self) -> None:
        self.errors_label.setText(
            t("Errors in the last hour: {count}").format(count=len(self.errors))
        )
        self.error_table.setRowCount(len(self.errors))
        for row, (at, cid, agent, _kind, text) in enumerate(self.errors):
            stamp = at.astimezone().strftime("%H:%M:%S")
            where = (
                t("A request through the gateway")
                if cid.startswith(GATEWAY_ROW)
                else self.title_of(cid)
            )
            for column, value in enumerate((stamp, where, agent, text)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.error_table.setItem(row, column, item)

"""The Manage window driven as a person would, on a real core and a fake server, offscreen."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from shiboken6 import isValid

from desktop_chat.engine import stats
from desktop_chat.engine.stats import Price
from desktop_chat.schemas import Agent, MessageStatus, UsageRecord
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.manage import ManageWindow, open_manage_window
from desktop_chat.ui.manage.charts import nice_step
from desktop_chat.ui.manage.conversations import AGENT, OWNER, TITLE, TOKENS
from desktop_chat.ui.manage.statistics import INPUT_COLOR
from tests.fake_openai import Scenario
from tests.gui_support import (
    CoreOnLoop,
    WindowOnLoop,
    click,
    type_text,
    wait_until,
)

RARE_WORD = "zebrafish"


@pytest.fixture(autouse=True)
def keep_running_without_windows(qapp):
    previous = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(previous)


class ManageOnLoop:
    """`async with ManageOnLoop(core) as window:` — the Manage window, shown offscreen."""

    def __init__(self, core, parent: QWidget | None = None) -> None:
        self.core = core
        self.parent = parent
        self.failures: list[str] = []

    async def __aenter__(self) -> ManageWindow:
        self.bridge = EngineBridge(self.core.service)
        self.bridge.failed.connect(self.failures.append)
        self.opened_at = time.perf_counter()
        self.window = open_manage_window(self.core, self.bridge, self.parent)
        await wait_until(lambda: self.window.ready, what="the Manage window has loaded")
        return self.window

    async def __aexit__(self, *exc_info: object) -> None:
        if isValid(self.window):
            self.window.close()
        await self.bridge.drain()
        self.bridge.close()
        await wait_until(lambda: not isValid(self.window), what="the window deleted")
        assert self.failures == []


def question() -> QMessageBox | None:
    box = QApplication.activeModalWidget()
    return box if isinstance(box, QMessageBox) and box.isVisible() else None


async def answer(text: str) -> None:
    await wait_until(question, what="a question")
    box = question()
    button = next(b for b in box.buttons() if b.text() == text)
    click(button)
    await wait_until(lambda: question() is None, what="the question to close")


def click_row(view, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    rect = view.visualRect(view.model().index(row, TITLE))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def cell(model, row: int, column: int) -> str:
    return model.index(row, column).data()


def db_time(moment: datetime) -> str:
    return str(moment.astimezone(UTC).replace(tzinfo=None))


def fill(repo, agent_id: str, conversations: int, messages: int) -> None:
    """Many conversations in one transaction with plain SQL; the FTS triggers still fire.

    One conversation in a thousand mentions a rare word in its messages, for searches.
    """
    conn = repo.db.connection()
    (agent_pk,) = conn.execute("SELECT id FROM agent WHERE agent_id = ?", (agent_id,)).fetchone()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    conv_rows, message_rows = [], []
    per = messages // conversations
    for i in range(conversations):
        stamp = db_time(start + timedelta(minutes=i))
        owner = "local" if i % 10 else "token:my-editor"
        conv_rows.append(
            (i + 1, f"conv{i:06d}", agent_pk, f"Conversation {i}", owner, 0, None, "", stamp, stamp)
        )
        rare = f" about {RARE_WORD}" if i % 1000 == 0 else ""
        for p in range(per):
            role = "user" if p % 2 == 0 else "assistant"
            message_rows.append(
                (i + 1, p + 1, role, f"message {p} of {i}{rare}", "", "complete", stamp)
            )
    with repo.db.atomic():
        conn.executemany(
            "INSERT INTO conversation (id, session_id, agent_id, title, owner, pinned,"
            " preset_messages, draft, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            conv_rows,
        )
        conn.executemany(
            "INSERT INTO message (conversation_id, position, role, content, reasoning, status,"
            " created_at) VALUES (?,?,?,?,?,?,?)",
            message_rows,
        )


# Conversations ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_opens_fast_on_10000_conversations_then_searches_and_deletes(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core:
        await core.store.run(lambda r: fill(r, agent.agent_id, 10_000, 100_000))
        manage = ManageOnLoop(core)
        async with manage as window:
            tab = window.conversations
            await wait_until(lambda: tab.model.rowCount() == 10_000, what="every row")
            opened = time.perf_counter() - manage.opened_at
            began = time.perf_counter()
            window.grab()  # a full paint of the window, as the user first sees it
            painted = time.perf_counter() - began
            print(
                f"\nManage window on 10,000 conversations / 100,000 messages: "
                f"table filled in {window.opened_in * 1000:.0f} ms, "
                f"loaded and ready in {opened * 1000:.0f} ms, "
                f"a full paint takes {painted * 1000:.0f} ms"
            )
            assert window.opened_in < 2.0
            assert opened < 2.0
            # Newest first; the agent, message count and owner come from the one query.
            assert cell(tab.model, 0, TITLE) == "Conversation 9999"
            assert cell(tab.model, 0, AGENT) == "Fake"
            assert cell(tab.model, 0, 2) == "10"
            assert cell(tab.model, 0, OWNER) == "window"
            assert cell(tab.model, 9, OWNER) == "my-editor"  # conversation 9990
            assert tab.summary.text() == "10,000 conversations"

            # Sorting by title is a click on its header.
            header = tab.view.horizontalHeader()
            QTest.mouseClick(
                header.viewport(),
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
                _section_center(header, TITLE),
            )
            assert cell(tab.model, 0, TITLE) == "Conversation 0"
            assert cell(tab.model, 1, TITLE) == "Conversation 1"

            # Search reaches message text through the store's query.
            type_text(tab.search, RARE_WORD)
            await wait_until(lambda: tab.model.rowCount() == 10, what="search results")
            titles = {cell(tab.model, r, TITLE) for r in range(10)}
            assert titles == {f"Conversation {i}" for i in range(0, 10_000, 1000)}
            assert tab.summary.text() == "10 conversations match"

            # Pick three with the mouse (click, Ctrl+click) and delete them.
            click_row(tab.view, 0)
            click_row(tab.view, 1, Qt.KeyboardModifier.ControlModifier)
            click_row(tab.view, 2, Qt.KeyboardModifier.ControlModifier)
            chosen = tab.selected_ids()
            assert len(chosen) == 3
            click(tab.delete_button)
            box = await _question()
            assert "Delete 3 conversations" in box.text()
            await answer("Delete")
            await wait_until(lambda: tab.model.rowCount() == 7, what="rows removed")
            assert not set(chosen) & {
                tab.model.conversation_at(r).id for r in range(tab.model.rowCount())
            }
            left = await core.service.list_conversations(query=RARE_WORD)
            assert len(left) == 7 and not set(chosen) & {c.id for c in left}
            assert len(await core.service.list_conversations()) == 9_997

            # Cancel leaves everything in place.
            click_row(tab.view, 0)
            click(tab.delete_button)
            await answer("Cancel")
            await asyncio.sleep(0.05)
            assert tab.model.rowCount() == 7

            # Clearing the search shows them all again.
            tab.search.clear()
            await wait_until(lambda: tab.model.rowCount() == 9_997, what="full table")


def _section_center(header, section: int) -> QPoint:
    x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
    return QPoint(x, header.height() // 2)


async def _question() -> QMessageBox:
    await wait_until(question, what="a question")
    return question()


@pytest.mark.asyncio
async def test_change_agent_and_export_selected(qapp, paths, secrets, agent, fake, tmp_path):
    other = Agent(name="Other", base_url=fake.base_url, model="fake-reasoner")

    async with CoreOnLoop(paths, secrets, agent) as core:
        await core.service.save_agent(other)
        made = [await core.service.create_conversation(title=f"Chat {i}") for i in range(3)]
        await core.service.send(made[0].id, "Hello there")
        await wait_until(lambda: core.service.in_flight(made[0].id) is None, what="reply")
        async with ManageOnLoop(core) as window:
            tab = window.conversations
            assert tab.model.rowCount() == 3
            row = tab.model.row_of(made[0].id)
            assert int(cell(tab.model, row, TOKENS)) > 0  # from the usage records
            tab.select_ids([made[0].id, made[1].id])
            tab.agent_combo.setCurrentIndex(tab.agent_combo.findText("Other"))
            click(tab.change_agent_button)
            await wait_until(
                lambda: cell(tab.model, tab.model.row_of(made[1].id), AGENT) == "Other",
                what="the agent column follows",
            )
            stored = {c.id: c.agent_id for c in await core.service.list_conversations()}
            assert stored[made[0].id] == stored[made[1].id] == other.agent_id
            assert stored[made[2].id] == agent.agent_id

            target = tmp_path / "chosen.json"
            tab.choose_export_file = lambda: (target, True)
            click(tab.export_button)
            await wait_until(target.exists, what="the export file")
            exported = json.loads(target.read_text(encoding="utf-8"))
            text = json.dumps(exported)
            assert "Chat 0" in text and "Chat 1" in text and "Chat 2" not in text
            assert "Hello there" in text

            # A conversation created elsewhere appears without a reload.
            await core.service.create_conversation(title="From elsewhere")
            await wait_until(lambda: tab.model.rowCount() == 4, what="the new row")
            assert cell(tab.model, 0, TITLE) == "From elsewhere"


# Providers ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_providers_show_key_state_last_error_and_test(qapp, paths, secrets, agent, fake):
    keyless = Agent(name="Local", base_url=fake.base_url, model="fake-model")
    broken = Agent(name="Nowhere", base_url="http://127.0.0.1:9/v1", model="m", key_ref="k:none")
    failed_at = datetime.now(UTC) - timedelta(minutes=5)

    async with CoreOnLoop(paths, secrets, agent) as core:
        await core.service.save_agent(keyless)
        await core.service.save_agent(broken)
        rejected = UsageRecord(
            conversation_id="gone",
            agent_id=keyless.agent_id,
            model="fake-model",
            status=MessageStatus.FAILED,
            error_kind="auth",
            created_at=failed_at,
        )
        await core.store.run(lambda r: r.usage.record(rejected))
        async with ManageOnLoop(core) as window:
            tab = window.providers
            window.tabs.setCurrentWidget(tab)
            await wait_until(lambda: tab.key_text(agent.agent_id) == "Set", what="key state")
            assert tab.key_text(keyless.agent_id) == "Rejected"
            assert tab.key_text(broken.agent_id) == "Missing"
            row = tab._row_of(keyless.agent_id)
            assert tab.table.item(row, 4).text() == "Key rejected"
            assert tab.table.item(row, 5).text() == failed_at.astimezone().strftime(
                "%Y-%m-%d %H:%M"
            )
            assert tab.table.item(tab._row_of(agent.agent_id), 4).text() == "None"
            text = "".join(tab.table.item(r, c).text() for r in range(3) for c in (0, 3, 4))
            assert "sk-test" not in text

            click(tab.table.cellWidget(tab._row_of(agent.agent_id), 6))
            await wait_until(
                lambda: tab.result_text(agent.agent_id).startswith("Works"), what="test"
            )
            assert tab.result_text(agent.agent_id) == "Works: 2 models"
            click(tab.table.cellWidget(tab._row_of(broken.agent_id), 6))
            await wait_until(
                lambda: tab.result_text(broken.agent_id) not in ("", "Testing…"),
                what="a failed test",
                timeout=30,
            )
            assert "Works" not in tab.result_text(broken.agent_id)


@pytest.mark.asyncio
async def test_providers_never_call_a_session_only_key_set(qapp, paths, secrets, agent, fake):
    session = Agent(name="Session", base_url=fake.base_url, model="fake-model", key_ref="k:s")

    async with CoreOnLoop(paths, secrets, agent) as core:
        secrets.set("k:s", "sk-session-only-0123456789", session_only=True)
        await core.service.save_agent(session)
        async with ManageOnLoop(core) as window:
            tab = window.providers
            window.tabs.setCurrentWidget(tab)
            await wait_until(lambda: tab.key_text(agent.agent_id) == "Set", what="key state")
            assert tab.key_text(session.agent_id) == "This session only"


# Statistics ----------------------------------------------------------------------------------


def _usage(days_ago: float, model: str, agent_id: str, status=MessageStatus.COMPLETE, **kw):
    return UsageRecord(
        conversation_id="c",
        agent_id=agent_id,
        model=model,
        status=status,
        created_at=datetime.now(UTC) - timedelta(days=days_ago),
        **kw,
    )


def _pixels(widget) -> QImage:
    image = widget.grab().toImage()
    assert not image.isNull() and image.width() > 100
    return image


def _count_near(image: QImage, color: QColor, tolerance: int = 24) -> int:
    found = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = image.pixelColor(x, y)
            if (
                abs(pixel.red() - color.red()) <= tolerance
                and abs(pixel.green() - color.green()) <= tolerance
                and abs(pixel.blue() - color.blue()) <= tolerance
            ):
                found += 1
    return found


@pytest.mark.asyncio
async def test_statistics_charts_table_prices_and_csv(qapp, paths, secrets, agent, fake, tmp_path):
    records = [
        _usage(
            0.1,
            "fake-model",
            agent.agent_id,
            prompt_tokens=100,
            completion_tokens=50,
            ttft_ms=200.0,
            duration_ms=1000.0,
        ),
        _usage(
            1.1,
            "fake-model",
            agent.agent_id,
            prompt_tokens=300,
            completion_tokens=150,
            ttft_ms=400.0,
            duration_ms=3000.0,
        ),
        _usage(
            1.2,
            "fake-model",
            agent.agent_id,
            prompt_tokens=200,
            completion_tokens=100,
            ttft_ms=300.0,
            duration_ms=2000.0,
        ),
        _usage(
            2.1,
            "other-model",
            agent.agent_id,
            status=MessageStatus.FAILED,
            error_kind="server",
            duration_ms=40.0,
        ),
        _usage(
            20.0,
            "fake-model",
            agent.agent_id,
            prompt_tokens=1000,
            completion_tokens=1000,
            ttft_ms=100.0,
            duration_ms=100.0,
        ),
    ]

    async with CoreOnLoop(paths, secrets, agent) as core:
        for record in records:
            await core.store.run(lambda r, rec=record: r.usage.record(rec))
        async with ManageOnLoop(core) as window:
            window.resize(1100, 760)
            tab = window.statistics
            window.tabs.setCurrentWidget(tab)
            await asyncio.sleep(0.05)
            assert tab.range_key == "7d"
            assert tab.report.total.requests == 4
            assert tab.report.total.errors == 1
            assert len(tab.report.days) == 8  # seven days back from now, both ends included
            assert tab.summary.text().startswith(
                "4 requests · 600 tokens in · 300 tokens out · 1 errors"
            )
            assert "First token: 300 ms median" in tab.summary.text()

            # Both charts draw something: bars in the highlight colour, the input line.
            bar_color = tab.palette().color(tab.palette().ColorRole.Highlight)
            assert _count_near(_pixels(tab.requests_chart), bar_color) > 50
            assert _count_near(_pixels(tab.tokens_chart), INPUT_COLOR) > 20

            # The table per model, then a price typed in gives a cost.
            tab.grouping_combo.setCurrentIndex(tab.grouping_combo.findData("model"))
            model = tab.table_model
            assert [model.index(r, 0).data() for r in range(model.rowCount())] == [
                "fake-model",
                "other-model",
            ]
            assert model.index(0, 1).data() == "3"
            # median of 200, 300, 400; p95 at rank 1.9: 300 + 0.9 * 100
            assert model.index(0, 5).data() == "300 ms / 390 ms"
            assert model.index(0, 6).data() == "2.0 s / 2.9 s"
            assert model.index(0, 7).data() == "—"
            tab.prices.set_price("fake-model", 2.0, 8.0)
            expected = (600 * 2.0 + 300 * 8.0) / 1e6
            await wait_until(lambda: tab.report.total.cost is not None, what="a cost")
            assert model.index(0, 7).data() == f"{expected:.4f}"
            assert f"Estimated cost: {expected:.4f}" in tab.summary.text()
            saved = stats.load_prices(paths.config / stats.PRICES_FILE)
            assert saved == {"fake-model": Price(2.0, 8.0)}

            tab.range_combo.setCurrentIndex(tab.range_combo.findData("all"))
            await wait_until(lambda: tab.report.total.requests == 5, what="all time")
            assert len(tab.report.days) == 21
            tab.range_combo.setCurrentIndex(tab.range_combo.findData("24h"))
            await wait_until(lambda: tab.report.total.requests == 1, what="one day")

            target = tmp_path / "usage.csv"
            tab.export_csv(target)
            rows = list(csv.DictReader(target.open(encoding="utf-8")))
            assert rows[0]["group"] == "total" and rows[0]["requests"] == "1"
            assert rows[0]["cost"] == f"{(100 * 2.0 + 50 * 8.0) / 1e6:.6f}"


@pytest.mark.asyncio
async def test_charts_say_so_when_there_is_nothing_to_draw(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, ManageOnLoop(core) as window:
        window.tabs.setCurrentWidget(window.statistics)
        await asyncio.sleep(0.05)
        chart = window.statistics.requests_chart
        assert chart.maximum == 0
        assert not chart.grab().toImage().isNull()
        assert window.statistics.summary.text().startswith("0 requests")

    assert [nice_step(v) for v in (0, 3, 10, 37, 1234)] == [1.0, 1.0, 5.0, 10.0, 500.0]


# Live --------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_live_tab_follows_a_reply_and_its_errors(qapp, paths, secrets, agent, fake):
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(40)], delay=0.04)

    async with CoreOnLoop(paths, secrets, agent) as core:
        chat = await core.service.create_conversation(title="Streaming chat")
        async with ManageOnLoop(core) as window:
            tab = window.live
            window.tabs.setCurrentWidget(tab)
            assert tab.model.rowCount() == 0
            assert tab.slots.text() == "0 of 4"

            await core.service.send(chat.id, "Count for me")
            await wait_until(lambda: tab.model.rowCount() == 1, what="the reply in flight")
            await wait_until(lambda: tab.model.rows[0].tokens >= 5, what="tokens counted")
            assert cell(tab.model, 0, 0) == "Streaming chat"
            assert cell(tab.model, 0, 1) == "Fake"
            assert cell(tab.model, 0, 3) == "Streaming"
            tab.tick()
            assert tab.slots.text() == "1 of 4"
            assert tab.occupancy.text() == "Waiting for a slot: 0"
            await wait_until(lambda: cell(tab.model, 0, 5) != "—", what="a rate")
            assert float(cell(tab.model, 0, 5)) > 0

            await wait_until(lambda: tab.model.rowCount() == 0, what="the row clears")
            assert tab.slots.text() == "0 of 4"
            assert tab.errors_label.text() == "Errors in the last hour: 0"

            # A refused key: an error line now, "Rejected" on the Providers tab soon after.
            fake.scenario = Scenario(status=401)
            await core.service.send(chat.id, "Again")
            await wait_until(lambda: tab.error_table.rowCount() == 1, what="the error")
            assert tab.errors_label.text() == "Errors in the last hour: 1"
            assert tab.error_table.item(0, 1).text() == "Streaming chat"
            assert tab.error_table.item(0, 2).text() == "Fake"
            await wait_until(
                lambda: window.providers.key_text(agent.agent_id) == "Rejected",
                what="the usage table re-read after the reply",
            )
            assert len(window.usage) == 2  # read again from the last one on, no doubles


@pytest.mark.asyncio
async def test_queued_replies_are_shown_waiting_for_a_slot(qapp, paths, secrets, agent, fake):
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(30)], delay=0.04)

    async with CoreOnLoop(paths, secrets, agent) as core:
        await core.service.reconfigure(replace(core.service.config, max_concurrent_requests=1))
        chats = [await core.service.create_conversation(title=f"C{i}") for i in range(2)]
        async with ManageOnLoop(core) as window:
            tab = window.live
            for chat in chats:
                await core.service.send(chat.id, "Go")
            await wait_until(lambda: tab.model.rowCount() == 2, what="both replies")
            tab.tick()
            assert tab.slots.text() == "1 of 1"
            assert tab.occupancy.text() == "Waiting for a slot: 1"
            states = {cell(tab.model, r, 3) for r in range(2)}
            assert "Waiting for a slot" in states
            await wait_until(lambda: tab.model.rowCount() == 0, timeout=15, what="both done")


@pytest.mark.asyncio
async def test_live_tab_shows_requests_through_the_gateway(qapp, paths, secrets, agent, fake):
    import openai

    from tests.test_api_support import running_api

    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(40)], delay=0.05)
    async with CoreOnLoop(paths, secrets, agent) as core, running_api(core) as api:
        sdk = openai.AsyncOpenAI(
            base_url=api.base + "/v1", api_key=await api.token("editor"), max_retries=0
        )
        async with ManageOnLoop(core) as window:
            tab = window.live
            window.tabs.setCurrentWidget(tab)

            async def ask() -> str:
                messages = [{"role": "user", "content": "Count"}]
                stream = await sdk.chat.completions.create(
                    model="Fake", messages=messages, stream=True
                )
                return "".join([c.choices[0].delta.content or "" async for c in stream])

            asking = asyncio.create_task(ask())
            await wait_until(lambda: tab.model.rowCount() == 1, what="the request in flight")
            await wait_until(lambda: tab.model.rows[0].tokens >= 3, what="tokens counted")
            assert cell(tab.model, 0, 0) == "Through the API: editor"
            assert (cell(tab.model, 0, 1), cell(tab.model, 0, 3)) == ("Fake", "Streaming")
            assert tab.slots.text() == "1 of 4"

            assert (await asking).startswith("t0 t1 ")
            await wait_until(lambda: tab.model.rowCount() == 0, what="the row clears")
            await wait_until(lambda: len(window.usage) == 1, what="the usage re-read")
            assert window.usage[0].agent_id == agent.agent_id
            assert tab.error_table.rowCount() == 0

            # A request that fails at once is never seen in flight; its error still shows.
            fake.scenario = Scenario(status=401)
            with pytest.raises(openai.APIStatusError):
                await ask()
            await wait_until(lambda: tab.error_table.rowCount() == 1, what="the error listed")
            assert tab.error_table.item(0, 1).text() == "A request through the gateway"
            assert tab.error_table.item(0, 2).text() == "Fake"
            assert tab.errors_label.text() == "Errors in the last hour: 1"
        await sdk.close()


@pytest.mark.asyncio
async def test_the_window_is_opened_once_per_main_window(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core:
        parent = QWidget()
        async with ManageOnLoop(core, parent) as window:
            again = open_manage_window(core, window.bridge, parent)
            assert again is window
        parent.deleteLater()


@pytest.mark.asyncio
async def test_opened_beside_the_main_window_both_follow_one_engine(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as main:
        await wait_until(lambda: main.session.current is not None, what="a conversation opens")
        spare = await core.service.create_conversation(title="To be cleaned up")
        await wait_until(lambda: main.sidebar.model.get(spare.id) is not None)
        manage = open_manage_window(core, main.bridge, main)
        await wait_until(lambda: manage.ready, what="the Manage window has loaded")
        assert open_manage_window(core, main.bridge, main) is manage  # one per window
        tab = manage.conversations
        assert tab.model.rowCount() == 2
        tab.select_ids([spare.id])
        click(tab.delete_button)
        await answer("Delete")
        await wait_until(lambda: main.sidebar.model.get(spare.id) is None, what="gone there")
        assert tab.model.rowCount() == 1
        main.close()  # the Manage window closes with the main window
        await wait_until(lambda: not isValid(manage), what="the Manage window closed")

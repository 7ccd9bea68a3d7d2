"""Every item model of the window passes Qt's model tester, with real data and real changes.

A model that breaks Qt's rules (a row count that disagrees with its indexes, a change
signalled with the wrong rows, data for an index it does not have) crashes views or
shows the wrong row, and only sometimes. pytest-qt's `qtmodeltester` checks the model
once, then again at every signal it emits; its failures are Qt warnings, which fail the
test (qt_log_level_fail). Each model is filled here with what a person's history holds
and then changed the way the window changes it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import replace

import pytest
from PySide6.QtCore import QAbstractItemModel, QPoint, Qt
from PySide6.QtTest import QTest

import desktop_chat.ui
from desktop_chat.schemas import Agent
from desktop_chat.session import PAGE_SIZE
from desktop_chat.ui.conversation_list import ConversationListModel
from desktop_chat.ui.manage.conversations import ConversationTableModel
from desktop_chat.ui.manage.live import LiveModel
from desktop_chat.ui.manage.statistics import StatsTableModel
from tests.fake_openai import Scenario
from tests.gui_support import CoreOnLoop, WindowOnLoop, click, type_text, wait_until
from tests.test_gui_manage import ManageOnLoop

# Titles as people write them: several scripts, an emoji, none at all.
TITLES = ("Trip to Kyoto", "周末计划", "Budget 2025 📊", "", "مرحبا بالعالم", "Refactor the parser")


def item_models_of_the_window() -> set[type]:
    found = set()
    for module in pkgutil.walk_packages(desktop_chat.ui.__path__, "desktop_chat.ui."):
        for _name, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(cls, QAbstractItemModel) and cls.__module__.startswith("desktop_chat."):
                found.add(cls)
    return found


def test_every_item_model_of_the_window_is_checked_here():
    checked = {ConversationListModel, ConversationTableModel, StatsTableModel, LiveModel}
    assert item_models_of_the_window() == checked, "a new model needs its model-tester test"


async def a_history(core, fake) -> tuple[list[str], Agent]:
    """Conversations on two agents and models, most with a reply, one failed, one pinned."""
    other = await core.service.save_agent(
        Agent(name="Local", base_url=fake.base_url, model="llama3.2")
    )
    ids = []
    for i, title in enumerate(TITLES):
        agent_id = other.agent_id if i % 2 else None
        ids.append((await core.service.create_conversation(agent_id=agent_id, title=title)).id)
    fake.queue = [Scenario(), Scenario(status=401)]
    for cid in ids[:4]:
        await core.service.send(cid, "What should I know first?")
        await wait_until(lambda c=cid: core.service.in_flight(c) is None, what="the reply")
    await core.service.update_conversation(ids[2], pinned=True)
    return ids, other


def _section_center(header, section: int) -> QPoint:
    x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
    return QPoint(x, header.height() // 2)


@pytest.mark.asyncio
async def test_the_conversation_list_model(qapp, qtmodeltester, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core:
        ids, _other = await a_history(core, fake)
        for i in range(PAGE_SIZE):  # more than a page: loading the next is a change too
            await core.service.create_conversation(title=f"Older chat {i}")
        async with WindowOnLoop(core) as window:
            model, sidebar = window.sidebar.model, window.sidebar
            await wait_until(lambda: model.conversation_count >= PAGE_SIZE, what="the list")
            qtmodeltester.check(model)
            await wait_until(lambda: model.get(ids[0]) is not None, what="the next page")

            click(sidebar.new_button)
            await wait_until(lambda: model.conversation_count == len(ids) + PAGE_SIZE + 1)
            await core.service.update_conversation(ids[0], pinned=True)
            await core.service.update_conversation(ids[1], title="Weekend plans")
            await core.service.send(ids[5], "And the tests?")
            await wait_until(lambda: core.service.in_flight(ids[5]) is None, what="the reply")
            await core.service.update_conversation(ids[2], pinned=False)
            await core.service.delete_conversation(ids[3])
            await wait_until(lambda: model.get(ids[3]) is None, what="the row removed")
            assert model.get(ids[1]).title == "Weekend plans"

            type_text(sidebar.search, "Kyoto")
            await wait_until(lambda: model.conversation_count == 1, what="the match")
            sidebar.search.clear()
            await wait_until(lambda: model.conversation_count >= PAGE_SIZE, what="all again")


@pytest.mark.asyncio
async def test_the_conversation_table_model(qapp, qtmodeltester, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core:
        ids, other = await a_history(core, fake)
        async with ManageOnLoop(core) as window:
            tab = window.conversations
            model = tab.model
            qtmodeltester.check(model)
            header = tab.view.horizontalHeader()
            for column in range(model.columnCount()):  # each column, one way then the other
                for _ in range(2):
                    QTest.mouseClick(
                        header.viewport(),
                        Qt.MouseButton.LeftButton,
                        pos=_section_center(header, column),
                    )

            made = await core.service.create_conversation(title="Made elsewhere")
            await wait_until(lambda: model.get(made.id) is not None, what="the new row")
            await core.service.update_conversation(ids[4], title="Hello world")
            await core.service.update_conversation(ids[0], agent_id=other.agent_id)
            await core.service.send(made.id, "One more question")
            await wait_until(lambda: core.service.in_flight(made.id) is None, what="the reply")
            await core.service.delete_conversation(ids[1])
            await wait_until(lambda: model.get(ids[1]) is None, what="the row removed")
            await wait_until(lambda: model.get(made.id).message_count == 2, what="the count")

            type_text(tab.search, "Kyoto")
            await wait_until(lambda: model.rowCount() == 1, what="the match")
            tab.search.clear()
            await wait_until(lambda: model.rowCount() == len(ids), what="all again")


@pytest.mark.asyncio
async def test_the_statistics_table_model(qapp, qtmodeltester, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core:
        await a_history(core, fake)
        async with ManageOnLoop(core) as window:
            tab = window.statistics
            window.tabs.setCurrentWidget(tab)
            model = tab.table_model
            await wait_until(lambda: model.rowCount() > 0, what="the table")
            qtmodeltester.check(model)
            resets: list[int] = []
            model.modelReset.connect(lambda: resets.append(1))

            async def choose(combo, index: int) -> None:
                before = len(resets)
                combo.setCurrentIndex(index)
                await wait_until(lambda: len(resets) > before, what="the table again")
                requests = sum(int(model.index(r, 1).data()) for r in range(model.rowCount()))
                assert requests == 4, "every period holds today's four requests"

            for period in range(tab.range_combo.count()):  # from "Last 7 days" on
                await choose(tab.range_combo, period)
                for grouping in (1, 2, 0):  # per agent, per model, per day
                    await choose(tab.grouping_combo, grouping)


@pytest.mark.asyncio
async def test_the_live_model(qapp, qtmodeltester, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core:
        ids, _other = await a_history(core, fake)
        await core.service.reconfigure(replace(core.service.config, max_concurrent_requests=2))
        async with ManageOnLoop(core) as window:
            tab = window.live
            window.tabs.setCurrentWidget(tab)
            model = tab.model
            qtmodeltester.check(model)
            fake.queue = [Scenario(tokens=[f"t{i} " for i in range(30)], delay=0.02)] * 3
            for cid in ids[:3]:  # two stream, the third waits for a slot
                await core.service.send(cid, "Tell me more")
            await wait_until(lambda: model.rowCount() == 3, what="three replies")
            await wait_until(lambda: model.rowCount() == 0, timeout=15, what="all done")
            fake.queue = [Scenario(status=500)]
            await core.service.send(ids[4], "Once more")
            await wait_until(lambda: core.service.in_flight(ids[4]) is None, what="the failure")
            assert model.rowCount() == 0

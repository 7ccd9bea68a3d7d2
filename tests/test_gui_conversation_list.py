"""The conversation list: rows kept in order as conversations change, pages loaded as the
list scrolls, search as you type, and conversations opened before their page is loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QWidget

from desktop_chat.schemas import Conversation, Message
from desktop_chat.session import PAGE_SIZE
from desktop_chat.ui import conversation_list
from desktop_chat.ui.conversation_list import HEADER_ROLE, ID_ROLE, ConversationListModel
from desktop_chat.ui.conversation_sidebar import ConversationList
from tests.gui_support import CoreOnLoop, WindowOnLoop, type_text, wait_until

NOW = datetime.now(UTC)


def _rows(model: ConversationListModel) -> list[str]:
    """Each row as the list shows it: `# header` or a conversation's id."""
    rows = []
    for row in range(model.rowCount()):
        index = model.index(row)
        rows.append("# " + index.data() if index.data(HEADER_ROLE) else index.data(ID_ROLE))
    return rows


def _fresh(conversations: list[Conversation]) -> list[str]:
    """The rows a list filled from scratch with these conversations shows."""
    model = ConversationListModel()
    model.set_conversations(conversations)
    return _rows(model)


def _conversations() -> list[Conversation]:
    ages = [0.1, 0.5, 26, 30, 50, 24 * 3, 24 * 5, 24 * 20, 24 * 40, 24 * 41, 24 * 300]
    made = [
        Conversation(title=f"{hours} hours ago", updated_at=NOW - timedelta(hours=hours))
        for hours in ages
    ]
    made.append(Conversation(title="pinned", pinned=True, updated_at=NOW - timedelta(days=9)))
    return made


@pytest.fixture
def sidebar(qtbot, qtmodeltester) -> ConversationList:
    widget = ConversationList()
    qtbot.addWidget(widget)
    qtmodeltester.check(widget.model)  # and keeps checking every change that follows
    widget.resize(260, 500)
    widget.show()
    return widget


def test_changes_keep_pinned_first_then_most_recent_and_the_selection(sidebar) -> None:
    model = sidebar.model
    made = _conversations()
    model.set_conversations(made)
    by_title = {c.title: c for c in made}
    current = by_title[f"{24 * 40} hours ago"]
    sidebar.select(current.id)

    def change(name: str, **update: object) -> None:
        changed = by_title.pop(name).model_copy(update=update)
        by_title[changed.title] = changed
        model.upsert(changed)
        assert _rows(model) == _fresh(list(by_title.values())), f"after {name}: {update}"
        assert sidebar.current_id() == current.id, "the selection stays on its conversation"

    change(current.title, updated_at=NOW)  # a reply in the selected one: to the top
    change("0.1 hours ago", title="renamed in place")
    change("26 hours ago", pinned=True)  # a new member of Pinned
    change("pinned", pinned=False)
    change(f"{24 * 300} hours ago", updated_at=NOW - timedelta(hours=27))  # opens a group
    change("30 hours ago", updated_at=NOW - timedelta(days=100))  # down the list
    change("26 hours ago", pinned=False)
    change("50 hours ago", updated_at=NOW + timedelta(minutes=1))

    new = Conversation(title="new", updated_at=NOW + timedelta(minutes=2))
    model.upsert(new)
    by_title["new"] = new
    assert _rows(model) == _fresh(list(by_title.values()))
    for title in ("new", "renamed in place", f"{24 * 300} hours ago"):
        model.remove(by_title.pop(title).id)
        assert _rows(model) == _fresh(list(by_title.values())), f"removed {title}"
    assert sidebar.current_id() == current.id


def test_past_midnight_the_groups_are_counted_again(sidebar, monkeypatch) -> None:
    model = sidebar.model
    made = _conversations()
    model.set_conversations(made)
    sidebar.select(made[0].id)
    tomorrow = datetime.now().astimezone() + timedelta(days=1)
    monkeypatch.setattr(conversation_list, "_now", lambda: tomorrow)

    touched = made[3].model_copy(update={"updated_at": tomorrow})
    model.upsert(touched)

    assert _rows(model) == _fresh([*made[:3], touched, *made[4:]])
    assert "# Yesterday" in _rows(model) and sidebar.current_id() == made[0].id


def test_a_change_beyond_the_loaded_pages_waits_for_its_page(qtbot, sidebar) -> None:
    model = sidebar.model
    made = _conversations()
    asked: list[Conversation] = []
    model.fetch_requested.connect(asked.append)
    model.set_conversations(made[:4], more=True)

    model.upsert(made[7])  # further down: its page brings it
    assert model.get(made[7].id) is None
    model.include(made[8])  # opened: listed at once, at its place
    assert model.get(made[8].id) is not None

    qtbot.waitUntil(lambda: bool(asked))  # the view is not full: it asks for more
    model.fetchMore()
    assert [c.id for c in asked] == [made[3].id], "one page asked for at a time"
    model.add_page(made[4:], more=False)
    assert _rows(model) == _fresh(made), "no row twice, all in order"
    assert not model.canFetchMore()


# In the window, over a real store ------------------------------------------------------


async def _many(core, count: int) -> list[str]:
    """`count` conversations an hour apart, newest first; every tenth mentions a database."""
    items = []
    for i in range(count):
        stamp = NOW - timedelta(hours=i + 1)
        text = "我们今天学习数据库。" if i % 10 == 3 else "Tuning the database" if i % 10 else "hi"
        message = Message(role="user", content=text, created_at=stamp)
        conversation = Conversation(title=f"c{i:03}", created_at=stamp, updated_at=stamp)
        items.append((conversation, [message], None))
    created = await core.store.run(lambda r: r.conversations.import_many(items))
    return created


def _compose(widget: QWidget, text: str) -> None:
    """Type `text` as an input method commits Chinese (QTest types only ASCII keys)."""
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def _listed_ids(model: ConversationListModel) -> list[str]:
    return [i for i in _rows(model) if not i.startswith("# ")]


@pytest.mark.asyncio
async def test_scrolling_down_loads_the_rest_of_a_long_list(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core:
        ids = await _many(core, 2 * PAGE_SIZE + 50)
        async with WindowOnLoop(core) as window:
            model, view = window.sidebar.model, window.sidebar.view
            assert model.conversation_count == PAGE_SIZE and model.canFetchMore()
            bar = view.verticalScrollBar()
            while model.conversation_count < len(ids):
                loaded = model.conversation_count
                # The rows of the last page are laid out (lazily, on a busy machine later)
                # before the bar has anywhere to go: a drag to the end it already is at
                # asks for nothing.
                await wait_until(lambda: bar.value() < bar.maximum(), what="room to scroll")
                bar.setValue(bar.maximum())  # dragged to the end
                await wait_until(lambda n=loaded: model.conversation_count > n, what="a page")
            assert _listed_ids(model) == ids
            assert not model.canFetchMore()


@pytest.mark.asyncio
async def test_typing_in_the_search_box_lists_prefix_and_chinese_matches(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core:
        ids = await _many(core, 60)
        async with WindowOnLoop(core) as window:
            model, search = window.sidebar.model, window.sidebar.search

            def listed() -> list[str]:
                return _listed_ids(model)

            type_text(search, "datab")
            expected = [cid for i, cid in enumerate(ids) if i % 10 not in (0, 3)]
            await wait_until(lambda: listed() == expected, what="the prefix matches")
            search.clear()
            _compose(search, "数")
            _compose(search, "据")
            expected = [cid for i, cid in enumerate(ids) if i % 10 == 3]
            await wait_until(lambda: listed() == expected, what="the Chinese matches")
            search.clear()
            await wait_until(lambda: listed() == ids, what="everything again")


@pytest.mark.asyncio
async def test_selecting_a_conversation_beyond_the_first_page_opens_and_lists_it(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core:
        ids = await _many(core, PAGE_SIZE + 30)
        old = ids[-5]
        async with WindowOnLoop(core) as window:
            model = window.sidebar.model
            assert model.get(old) is None, "not in the first page"
            window.sidebar.select(old)  # as a search result or the Manage window does
            await wait_until(lambda: window.session.is_open(old))
            assert window.sidebar.current_id() == old, "shown selected in the list"

            bar = window.sidebar.view.verticalScrollBar()
            while model.canFetchMore() or model.conversation_count < len(ids):
                bar.setValue(bar.maximum())
                await wait_until(lambda: not model._fetching, what="the page")
            assert _listed_ids(model) == ids, "its page does not list it twice"
            assert window.sidebar.current_id() == old


@pytest.mark.asyncio
async def test_start_up_reopens_the_last_conversation_even_beyond_the_first_page(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core:
        ids = await _many(core, PAGE_SIZE + 10)
        state = QSettings(str(paths.config / "window.ini"), QSettings.Format.IniFormat)
        state.setValue("window/conversation", ids[-1])
        state.sync()
        async with WindowOnLoop(core) as window:
            await wait_until(lambda: window.session.current is not None, what="it opens")
            assert window.session.current_id == ids[-1]
            assert window.sidebar.current_id() == ids[-1]

"""A search shows where each conversation matched, and opening a result lands on the
matching message, marked (#17)."""

from __future__ import annotations

import pytest

from desktop_chat.schemas import Message
from tests.gui_support import CoreOnLoop, WindowOnLoop, type_text, wait_until


async def _fill(core, title: str, texts: list[str]) -> str:
    conversation = await core.service.create_conversation(title=title)
    for number, text in enumerate(texts):
        role = "user" if number % 2 == 0 else "assistant"
        message = Message(role=role, content=text)
        await core.store.run(lambda r, m=message: r.messages.append(conversation.id, m))
    return conversation.id


@pytest.mark.asyncio
async def test_the_store_gives_each_listed_conversation_its_first_match_and_snippet(core):
    filler = "Nothing to see in this message, just words about the weather today. " * 3
    first = await _fill(core, "Databases", [filler, filler + "Use WAL mode in SQLite here.", "x"])
    other = await _fill(core, "Cooking", ["Bake the bread"])
    titled = await _fill(core, "WAL notes", ["no match inside"])

    hits = await core.service.search_hits([first, other, titled], "wal sqlite")
    assert [h.conversation_id for h in hits] == [first]
    stored = (await core.service.get_conversation(first)).messages
    assert hits[0].message_id == stored[1].id
    snippet = hits[0].snippet
    assert "WAL mode in SQLite" in snippet and snippet.startswith("…")
    assert len(snippet) < 140 and "\n" not in snippet

    chinese = await _fill(core, "中文", ["我们今天讨论数据库的预写日志模式。"])
    [hit] = await core.service.search_hits([chinese], "预写日志")
    assert "预写日志" in hit.snippet


@pytest.mark.asyncio
async def test_a_result_shows_its_snippet_and_opens_on_the_match(qapp, paths, secrets, agent, fake):
    long = [f"Message {i} about nothing in particular." for i in range(60)]
    long[7] = "Here the zeppelin finally appears in the conversation."

    async with CoreOnLoop(paths, secrets, agent) as core:
        target = await _fill(core, "A long talk", long)
        await _fill(core, "Newer", ["hello"])
        async with WindowOnLoop(core) as window:
            await wait_until(lambda: window.session.is_open(window.session.current_id))
            type_text(window.sidebar.search, "zeppelin")
            model = window.sidebar.model
            await wait_until(lambda: model.conversation_count == 1, what="one result")
            row = model.index(model.row_of(target))
            assert "zeppelin finally appears" in row.data()
            window.sidebar.select(target)
            await wait_until(
                lambda: window.session.current_id == target and window.session.is_open(target),
                what="the result opens",
            )
            chat = window.chat
            found = [w for w in chat.message_widgets if w.property("found")]
            assert len(found) == 1 and "zeppelin" in found[0].body.toPlainText()
            marks = found[0].body.extraSelections()
            assert [m.cursor.selectedText().lower() for m in marks] == ["zeppelin"]
            await wait_until(
                lambda: found[0].visibleRegion().boundingRect().height() > 10,
                what="the match is in view",
            )
            bar = chat.verticalScrollBar()
            assert bar.value() < bar.maximum(), "not at the bottom: at the match"

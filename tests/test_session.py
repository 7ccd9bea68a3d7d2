"""The window's session without a window: what is open, drafts, editing, search."""

from __future__ import annotations

import asyncio
import threading

import pytest

from desktop_chat.app import Core
from desktop_chat.schemas import Agent, Message
from desktop_chat.session import PAGE_SIZE, ChatSession
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog

pytestmark = pytest.mark.asyncio


async def opened(core: Core, title: str = "") -> tuple[ChatSession, str]:
    session = ChatSession(core.service)
    await session.load_agents()
    conversation = await core.service.create_conversation(title=title)
    session.switch_to(conversation.id, "")
    assert await session.load() is not None
    return session, conversation.id


async def test_drafts_are_kept_per_conversation_and_saved_only_when_changed(core: Core) -> None:
    session, first = await opened(core)
    second = (await core.service.create_conversation()).id

    saving = session.switch_to(second, "half a thought")
    assert saving is not None
    await saving
    await session.load()
    assert session.draft() == ""
    assert session.switch_to(first, "") is None, "an empty draft that was empty is not saved"
    await session.load()
    assert session.draft() == "half a thought"
    assert (await core.service.get_conversation(first)).draft == "half a thought"
    assert session.keep_draft("half a thought") is None


async def test_a_send_while_a_reply_streams_is_refused_and_an_edit_resends_in_place(
    core: Core, fake: FakeOpenAI
) -> None:
    session, cid = await opened(core, "Edits")
    log = EventLog(core.service, cid)
    fake.scenario = Scenario(tokens=["slow "] * 20, delay=0.02)
    sending = session.send("First question")
    assert sending is not None
    await sending
    assert session.replying and session.send("Second") is None
    await log.done(cid)

    fake.scenario = Scenario(tokens=["Better."])
    await session.reopen()
    question = session.current.messages[0] if session.current else None
    assert question is not None and question.role == "user"
    session.begin_edit(question)
    editing = session.send("First question, rephrased")
    assert editing is not None and session.editing is None
    await editing
    await log.done(cid, 2)
    stored = (await core.service.get_conversation(cid)).messages
    assert [(m.role, m.content) for m in stored] == [
        ("user", "First question, rephrased"),
        ("assistant", "Better."),
    ]


async def test_a_load_the_user_moved_on_from_is_dropped(core: Core) -> None:
    session, first = await opened(core)
    second = (await core.service.create_conversation()).id
    session.switch_to(first, "")
    stale = asyncio.ensure_future(session.load())
    await asyncio.sleep(0)  # it starts reading
    session.switch_to(second, "")
    fresh = await session.load()
    assert await stale is None
    assert fresh is not None and fresh.id == second and session.current == fresh


async def test_a_message_stored_during_a_read_is_read_again(core: Core) -> None:
    """The read runs on the store's thread; a message stored after it would not be shown."""
    session, cid = await opened(core)
    gate = threading.Event()
    blocked = asyncio.ensure_future(core.store.run(lambda r: gate.wait(10)))
    reading = asyncio.ensure_future(session.reopen())
    await asyncio.sleep(0)  # the read is queued behind the gate
    storing = asyncio.ensure_future(
        core.store.run(lambda r: r.messages.append(cid, Message(role="user", content="Late")))
    )
    await asyncio.sleep(0)  # the write is queued behind the read
    session.note_change(cid)  # as the window does when MessageStored arrives meanwhile
    gate.set()
    await blocked
    await storing
    detail = await reading
    assert detail is not None and [m.content for m in detail.messages] == ["Late"]


async def test_only_the_newest_search_is_answered(core: Core) -> None:
    session = ChatSession(core.service)
    for title in ("apple pie", "apple tart", "pear"):
        await core.service.create_conversation(title=title)
    session.set_search("pear")
    older = asyncio.ensure_future(session.first_page())
    await asyncio.sleep(0)  # it starts reading
    session.set_search("  apple ")
    newer = await session.first_page()
    assert await older is None
    assert newer is not None and not newer.more
    assert sorted(c.title for c in newer.conversations) == ["apple pie", "apple tart"]
    assert len(newer.conversations) < PAGE_SIZE


async def test_deleting_the_open_conversation_closes_it(core: Core) -> None:
    session, cid = await opened(core)
    other = (await core.service.create_conversation()).id
    assert not session.closed(other)
    assert session.closed(cid)
    assert session.current_id is None and session.current is None


async def test_choosing_an_agent_moves_the_open_conversation(core: Core, agent: Agent) -> None:
    session, cid = await opened(core)
    other = await core.service.save_agent(
        agent.model_copy(update={"agent_id": "other", "name": "Other", "is_default": False})
    )
    await session.load_agents()
    assert session.choose_agent(agent.agent_id) is None, "already its agent"
    changing = session.choose_agent(other.agent_id)
    assert changing is not None
    await changing
    assert session.current_agent is not None and session.current_agent.name == "Other"
    assert (await core.service.conversation_summary(cid)).agent_id == "other"

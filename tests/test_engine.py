"""The conversation engine against a real SQLite file and the fake server via the real SDK."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest

from desktop_chat.app import Core
from desktop_chat.engine import InputError, NoAgentError, ReplyInProgressError
from desktop_chat.engine.collector import NO_FULL_COLLECTION, FullCollectionsWaitForReplies
from desktop_chat.engine.context_rules import rebase_history
from desktop_chat.engine.events import (
    ConversationDeleted,
    ReplyDelta,
    ReplyDone,
    ReplyFailed,
    TitleChanged,
)
from desktop_chat.schemas import ChatMessage, Context, ContextEntry, Message, MessageStatus
from desktop_chat.store import NotFoundError
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog, wait_until

pytestmark = pytest.mark.asyncio


def _message_count(core: Core, cid: str) -> int:
    row = core.store._repo.db.execute_sql(  # type: ignore[union-attr]
        "SELECT COUNT(*) FROM message m JOIN conversation c ON c.id = m.conversation_id "
        "WHERE c.session_id = ?",
        (cid,),
    ).fetchone()
    return int(row[0])


async def test_reply_streams_and_is_stored_once(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["Hel", "lo", " there"], reasoning=["think", "ing"])
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "Hi")
    done = await log.done(conv.id)

    assert done.status == "complete"
    assert done.prompt_tokens is not None
    deltas = log.of(ReplyDelta)
    assert "".join(e.text for e in deltas) == "Hello there"
    assert "".join(e.reasoning for e in deltas) == "thinking"
    seqs = [e.seq for e in log.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    detail = await core.service.get_conversation(conv.id)
    assert [(m.role, m.content, m.status) for m in detail.messages] == [
        ("user", "Hi", MessageStatus.COMPLETE),
        ("assistant", "Hello there", MessageStatus.COMPLETE),
    ]
    reply = detail.messages[1]
    assert reply.reasoning == "thinking"
    assert reply.finish_reason == "stop"
    assert reply.model == "fake-model"
    assert reply.completion_tokens is not None
    assert _message_count(core, conv.id) == 2
    assert not list(core.paths.journal.glob("*.jsonl")), "journal entry left behind"
    assert len(core.service._locks) == 0, "idle conversation lock was not dropped"


async def test_nothing_is_written_while_streaming(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["a"] * 50, delay=0.02)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "go")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 5)

    assert _message_count(core, conv.id) == 1
    journal = core.paths.journal / f"{conv.id}.jsonl"
    assert journal.exists() and journal.stat().st_mode & 0o777 == 0o600
    await log.done(conv.id)
    assert _message_count(core, conv.id) == 2


async def test_the_journal_gathers_a_fast_stream_and_keeps_up_with_a_stalled_one(
    core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(200)], stall_after=120)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "go")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) == 120)
    journal = core.paths.journal / f"{conv.id}.jsonl"

    def journaled() -> str:
        lines = journal.read_text(encoding="utf-8").splitlines()[1:]
        return "".join(json.loads(line).get("t", "") for line in lines)

    # The server has gone quiet: what it sent reaches the file anyway, in a few writes.
    await wait_until(lambda: journaled() == "".join(f"t{i} " for i in range(120)))
    assert len(journal.read_text(encoding="utf-8").splitlines()) - 1 < 120 / 4
    await core.service.stop(conv.id)
    await log.done(conv.id)


async def test_request_sends_preset_and_history_only(core: Core, fake: FakeOpenAI) -> None:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "first")
    await log.done(conv.id)
    await core.service.send(conv.id, "second")
    await log.done(conv.id, 2)

    body = fake.requests[-1]["body"]
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Hello, world!"},
        {"role": "user", "content": "second"},
    ]
    sent = str(fake.requests)
    assert "Hi! Ask me anything." not in sent, "a greeting was sent to the model"
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer sk-test-key-1234567890"


async def test_stop_keeps_partial_text_and_closes_the_stream(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(200)], delay=0.02)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "long please")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 3)

    assert await core.service.stop(conv.id)

    done = await log.done(conv.id)
    assert done.status == "stopped"
    reply = (await core.service.get_conversation(conv.id)).messages[-1]
    assert reply.status is MessageStatus.STOPPED
    assert reply.content.startswith("t0 t1 t2 ")
    assert len(reply.content) < len("".join(f"t{i} " for i in range(200)))
    assert fake.wait_for(lambda: fake.disconnects >= 1), "the HTTP stream was not closed"


async def test_cut_stream_keeps_partial_text_as_failed(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["one ", "two ", "three ", "four"], cut_after=2)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "hi")
    done = await log.done(conv.id)

    assert done.status == "failed"
    (error,) = log.of(ReplyFailed)
    assert error.kind == "stream_cut"
    assert error.retryable is True
    reply = (await core.service.get_conversation(conv.id)).messages[-1]
    assert (reply.content, reply.status) == ("one two ", MessageStatus.FAILED)
    assert reply.error and "cut" in reply.error


async def test_rate_limit_error_tells_when_to_retry(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(status=429, retry_after=7)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "hi")
    await log.done(conv.id)

    (error,) = log.of(ReplyFailed)
    assert error.kind == "rate_limit"
    assert error.retry_after == 7
    assert "7 s" in error.message
    messages = (await core.service.get_conversation(conv.id)).messages
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[-1].status is MessageStatus.FAILED and messages[-1].content == ""


async def test_second_send_while_replying_is_refused(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["x"] * 40, delay=0.02)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "one")
    with pytest.raises(ReplyInProgressError):
        await core.service.send(conv.id, "two")
    await log.done(conv.id)
    await core.service.send(conv.id, "three")
    await log.done(conv.id, 2)
    roles = [m.content for m in (await core.service.get_conversation(conv.id)).messages]
    assert roles[0] == "one" and roles[2] == "three" and "two" not in roles


async def test_fifty_conversations_share_four_streams(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["a", "b", "c"], delay=0.01)
    log = EventLog(core.service)
    conversations = [await core.service.create_conversation() for _ in range(50)]
    for i, conv in enumerate(conversations):
        await core.service.send(conv.id, f"question {i}")
    await log.wait_for(lambda: len(log.of(ReplyDone)) == 50, timeout=60)

    assert fake.max_open_streams <= 4
    assert fake.max_open_streams >= 2, "requests did not overlap at all"
    for i, conv in enumerate(conversations):
        detail = await core.service.get_conversation(conv.id)
        assert [(m.role, m.content) for m in detail.messages] == [
            ("user", f"question {i}"),
            ("assistant", "abc"),
        ]


async def test_edited_context_is_what_the_server_receives(core: Core, fake: FakeOpenAI) -> None:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "What is 2+2?")
    await log.done(conv.id)

    context = await core.service.get_context(conv.id)
    assert [e.role for e in context.history] == ["user", "assistant"]
    edited = Context(
        preset=[ChatMessage(role="system", content="Answer in French.")],
        history=[
            ContextEntry(id=context.history[0].id, role="user", content="What is 3+3?"),
            ContextEntry(role="assistant", content="6"),
        ],
    )
    await core.service.replace_context(conv.id, edited)
    await core.service.send(conv.id, "Thanks")
    await log.done(conv.id, 2)

    assert fake.requests[-1]["body"]["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "What is 3+3?"},
        {"role": "assistant", "content": "6"},
        {"role": "user", "content": "Thanks"},
    ]


async def test_an_edited_copy_keeps_the_entries_whose_message_has_gone(
    core: Core, fake: FakeOpenAI
) -> None:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "What is 2+2?")
    await log.done(conv.id)
    copy = await core.service.get_context(conv.id)  # what an editor shows, read now
    question, reply = copy.history
    fake.scenario = Scenario(tokens=["Four."])
    await core.service.regenerate(conv.id)  # deletes the stored reply the copy shows
    await log.done(conv.id, 2)
    edited = copy.model_copy(
        update={"history": [question.model_copy(update={"content": "What is 3+3?"}), reply]}
    )

    with pytest.raises(NotFoundError):  # a strict replace (the API's) refuses the copy
        await core.service.replace_context(conv.id, edited)
    saved = await core.service.replace_context(conv.id, edited, missing_as_new=True)

    assert [(e.role, e.content) for e in saved.history] == [
        ("user", "What is 3+3?"),
        ("assistant", "Hello, world!"),
    ]
    assert saved.history[0].id == question.id, "the question was not updated in place"
    assert saved.history[1].id not in (None, reply.id)


async def test_each_stored_message_is_kept_by_one_entry_at_most() -> None:
    history = [
        ContextEntry(id=1, role="user", content="Hi"),
        ContextEntry(id=1, role="user", content="Hi again"),
        ContextEntry(id=7, role="assistant", content="Gone since"),
        ContextEntry(role="user", content="New"),
    ]

    rebased = rebase_history(history, [1, 2, None])

    assert [e.id for e in rebased] == [1, None, None, None]
    assert [e.content for e in rebased] == [e.content for e in history]


async def test_regenerate_replaces_the_last_reply(core: Core, fake: FakeOpenAI) -> None:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Tell me")
    await log.done(conv.id)
    fake.scenario = Scenario(tokens=["Another", " answer"])
    await core.service.regenerate(conv.id)
    await log.done(conv.id, 2)

    messages = (await core.service.get_conversation(conv.id)).messages
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Tell me"),
        ("assistant", "Another answer"),
    ]
    assert fake.requests[-1]["body"]["messages"][-1] == {"role": "user", "content": "Tell me"}


async def test_auto_title_after_first_reply(core: Core, fake: FakeOpenAI) -> None:
    core.service.config.auto_title = True
    fake.queue = [Scenario(tokens=["Sure."]), Scenario(tokens=['"Paris trip ideas"'])]
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Plan a weekend in Paris for me please")
    await log.wait_for(lambda: len(log.of(TitleChanged)) >= 2)

    titles = [e.title for e in log.of(TitleChanged)]
    assert titles == ["Plan a weekend in Paris for me please", "Paris trip ideas"]
    assert (await core.service.get_conversation(conv.id)).title == "Paris trip ideas"


async def test_app_closing_mid_reply_stores_it_interrupted(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["w "] * 100, delay=0.02)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "go")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 2)

    await core.service.aclose()

    reply = (await core.service.get_conversation(conv.id)).messages[-1]
    assert reply.status is MessageStatus.INTERRUPTED
    assert reply.content.startswith("w w ")


async def test_delete_during_reply_stops_it(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["w "] * 100, delay=0.02)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "go")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 2)

    await core.service.delete_conversation(conv.id)

    assert log.of(ConversationDeleted)
    with pytest.raises(NotFoundError):
        await core.service.get_conversation(conv.id)
    assert not list(core.paths.journal.glob("*.jsonl"))


async def test_bad_input_is_refused_clearly(core: Core) -> None:
    conv = await core.service.create_conversation()
    with pytest.raises(InputError, match="empty"):
        await core.service.send(conv.id, "   ")
    with pytest.raises(InputError, match="too long"):
        await core.service.send(conv.id, "x" * 1_000_001)
    with pytest.raises(NotFoundError, match="No conversation"):
        await core.service.send("nope", "hello")
    with pytest.raises(InputError, match="no question"):
        await core.service.regenerate(conv.id)
    assert (await core.service.get_conversation(conv.id)).messages == []


async def test_owner_sees_only_its_conversations(core: Core) -> None:
    mine = await core.service.create_conversation(owner="token-a")
    await core.service.create_conversation(owner="token-b")
    assert [c.id for c in await core.service.list_conversations(owner="token-a")] == [mine.id]
    with pytest.raises(NotFoundError):
        await core.service.get_conversation(mine.id, owner="token-b")
    with pytest.raises(NotFoundError):
        await core.service.send(mine.id, "hi", owner="token-b")


async def test_send_without_any_agent_says_what_to_do(core: Core) -> None:
    for agent in await core.service.list_agents():
        await core.service.delete_agent(agent.agent_id)
    conv = await core.service.create_conversation()
    with pytest.raises(NoAgentError, match="Settings"):
        await core.service.send(conv.id, "hello")


async def test_many_events_reach_many_subscribers_in_order(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=[str(i) for i in range(100)])
    conv = await core.service.create_conversation()
    logs = [EventLog(core.service, conv.id) for _ in range(20)]
    await core.service.send(conv.id, "count")
    await asyncio.gather(*(log.done(conv.id) for log in logs))
    expected = [str(i) for i in range(100)]
    for log in logs:
        assert [e.text for e in log.of(ReplyDelta)] == expected


async def test_a_regenerated_reply_never_reuses_the_old_id(core: Core, fake: FakeOpenAI) -> None:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Tell me")
    await log.done(conv.id)
    first_reply = (await core.service.get_conversation(conv.id)).messages[-1]
    await core.service.regenerate(conv.id)
    await log.done(conv.id, 2)
    second_reply = (await core.service.get_conversation(conv.id)).messages[-1]
    assert second_reply.id != first_reply.id
    assert second_reply.id > first_reply.id


async def test_one_typed_letter_searches_titles_then_messages_from_the_second(
    core: Core, fake: FakeOpenAI
) -> None:
    titled = await core.service.create_conversation(title="Dinner ideas")
    other = await core.service.create_conversation(title="Groceries")
    await core.store.run(
        lambda r: r.messages.append(other.id, Message(role="user", content="do we need dill?"))
    )
    assert [c.id for c in await core.service.list_conversations(query="d")] == [titled.id]
    found = {c.id for c in await core.service.list_conversations(query="do")}
    assert found == {other.id}, "two letters: a whole word in a message"
    assert {c.id for c in await core.service.list_conversations(query="di")} == {titled.id}
    found = {c.id for c in await core.service.list_conversations(query="dil")}
    assert found == {other.id}, "three letters: the start of a word"


async def test_full_collections_wait_while_any_reply_streams(core: Core, fake: FakeOpenAI) -> None:
    before = gc.get_threshold()
    collector = FullCollectionsWaitForReplies(core.service)
    try:
        fake.queue = [Scenario(tokens=["a"] * 200, stall_after=3), Scenario(tokens=["b"] * 5)]
        first = await core.service.create_conversation()
        second = await core.service.create_conversation()
        log = EventLog(core.service)
        await core.service.send(first.id, "Long one")
        await log.wait_for(lambda: len(log.of(ReplyDelta, first.id)) == 3)
        assert gc.get_threshold() == (*before[:2], NO_FULL_COLLECTION)

        await core.service.send(second.id, "Short one")
        await log.done(second.id)
        assert gc.get_threshold()[2] == NO_FULL_COLLECTION, "the first reply still streams"

        await core.service.stop(first.id)
        await log.done(first.id)
        assert gc.get_threshold() == before
    finally:
        collector.close()
        gc.set_threshold(*before)  # whatever happened, the rest of the suite collects
    assert gc.get_threshold() == before

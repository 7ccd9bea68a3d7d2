"""Many conversations at once, and Stop / Delete racing a reply.

The fake server counts open streams; the database is read back with SQL, so a message
lost, duplicated or out of order shows. Races take their timing from a seeded RNG and
trigger on events (n deltas arrived, k turns of the loop), never on the clock.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from desktop_chat.app import Core
from desktop_chat.engine import ConversationService, EngineConfig, ReplyInProgressError
from desktop_chat.engine.events import ReplyDelta, ReplyDone, ReplyFailed
from desktop_chat.schemas import Message, MessageStatus
from desktop_chat.store import NotFoundError
from desktop_chat.store.messages import Messages
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog
from tests.test_api_support import running_api
from tests.test_reliability_support import Replies, open_core

pytestmark = pytest.mark.asyncio

LIMIT = 8
REPLY = ["a", "b", "c"]


@pytest_asyncio.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Whatever reaches the loop's exception handler (a task that died unseen, say)."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    yield seen
    loop.set_exception_handler(previous)


async def row_count(core: Core) -> int:
    rows = await core.store.run(lambda r: r.db.execute_sql("SELECT COUNT(*) FROM message"))
    return int(rows.fetchone()[0])


def expected_history(i: int, count: int) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for j in range(count):
        pairs += [("user", f"c{i} m{j}"), ("assistant", "".join(REPLY))]
    return pairs


# Through the engine -----------------------------------------------------------------------


async def many_at_once(core: Core, fake: FakeOpenAI, conversations: int, messages: int) -> None:
    await core.service.reconfigure(
        EngineConfig(max_concurrent_requests=LIMIT, request_timeout=60, auto_title=False)
    )
    fake.scenario = Scenario(tokens=REPLY, delay=0.005)
    replies = Replies(core.service)
    created = [await core.service.create_conversation() for _ in range(conversations)]

    async def chat(i: int, cid: str) -> None:
        for j in range(messages):
            await core.service.send(cid, f"c{i} m{j}")
            assert (await replies.done(cid, timeout=300)).status == "complete"

    await asyncio.gather(*(chat(i, c.id) for i, c in enumerate(created)))

    assert fake.max_open_streams <= LIMIT, f"{fake.max_open_streams} streams were open at once"
    assert fake.max_open_streams >= 2, "the replies never overlapped"
    assert replies.of(ReplyFailed) == []
    assert await row_count(core) == conversations * messages * 2
    for i, conv in enumerate(created):
        detail = await core.service.get_conversation(conv.id)
        assert [(m.role, m.content) for m in detail.messages] == expected_history(i, messages)
        assert all(m.status is MessageStatus.COMPLETE for m in detail.messages)
        ids = [m.id for m in detail.messages]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # Every request carried exactly the history before it, in order.
    for request in fake.requests:
        sent = request["body"]["messages"][1:]  # after the system prompt
        i, j = (int(part[1:]) for part in sent[-1]["content"].split())
        assert [(m["role"], m["content"]) for m in sent] == expected_history(i, j + 1)[:-1]
    assert len(fake.requests) == conversations * messages
    assert list(core.paths.journal.iterdir()) == []


async def test_sixty_conversations_three_messages_each_at_once(
    core: Core, fake: FakeOpenAI
) -> None:
    await many_at_once(core, fake, conversations=60, messages=3)


@pytest.mark.slow
async def test_two_hundred_conversations_five_messages_each_at_once(
    core: Core, fake: FakeOpenAI
) -> None:
    """About 11 s: `pytest -m slow tests/test_reliability_concurrency.py`."""
    await many_at_once(core, fake, conversations=200, messages=5)


# Through the API ---------------------------------------------------------------------------


async def many_through_the_api(
    core: Core, fake: FakeOpenAI, conversations: int, messages: int
) -> None:
    await core.service.reconfigure(
        EngineConfig(max_concurrent_requests=LIMIT, request_timeout=60, auto_title=False)
    )
    fake.scenario = Scenario(tokens=REPLY, delay=0.005)
    async with running_api(core, heartbeat=5) as api:
        created = [(await api.conversation())["id"] for _ in range(conversations)]

        async def chat(i: int, cid: str) -> list[int]:
            seqs: list[int] = []
            async with api.stream(cid) as stream:
                for j in range(messages):
                    path = f"/api/conversations/{cid}/messages"
                    sent = await api.call("POST", path, {"text": f"c{i} m{j}"})
                    assert sent.status == 202, sent.body
                    events = await stream.until("done", timeout=300)
                    assert events[-1].data["status"] == "complete"
                    text = "".join(e.data["text"] for e in events if e.type == "delta")
                    assert text == "".join(REPLY)
                    seqs += [e.id for e in events if e.id is not None]
            return seqs

        all_seqs = await asyncio.gather(*(chat(i, cid) for i, cid in enumerate(created)))
        details = [(await api.call("GET", f"/api/conversations/{cid}")).body for cid in created]

    for seqs in all_seqs:
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "events out of order"
    assert fake.max_open_streams <= LIMIT
    assert fake.max_open_streams >= 2, "the replies never overlapped"
    assert await row_count(core) == conversations * messages * 2
    for i, detail in enumerate(details):
        got = [(m["role"], m["content"]) for m in detail["messages"]]
        assert got == expected_history(i, messages)
        assert {m["status"] for m in detail["messages"]} == {"complete"}
        assert detail["reply"] is None


async def test_thirty_conversations_three_messages_each_through_the_api(
    core: Core, fake: FakeOpenAI
) -> None:
    await many_through_the_api(core, fake, conversations=30, messages=3)


@pytest.mark.slow
async def test_two_hundred_conversations_five_messages_each_through_the_api(
    core: Core, fake: FakeOpenAI
) -> None:
    """About 13 s: `pytest -m slow tests/test_reliability_concurrency.py`."""
    await many_through_the_api(core, fake, conversations=200, messages=5)


# Stop and Delete racing a reply ----------------------------------------------------------

TOKENS = [f"t{i} " for i in range(8)]
ACTIONS = [
    ("stop",),
    ("delete",),
    ("stop", "delete"),
    ("delete", "stop"),
    ("delete", "delete"),
    ("stop", "stop"),
    ("stop", "send"),
    ("send", "stop"),
]  # Send racing Delete is a known gap, tested on its own below.
ALLOWED = {
    "stop": (),
    "delete": (NotFoundError,),  # the other delete won
    "send": (ReplyInProgressError, NotFoundError),
}


async def race_once(
    service: ConversationService,
    fake: FakeOpenAI,
    replies: Replies,
    rng: random.Random,
    iteration: int,
) -> str:
    """One reply, Stop/Delete/Send thrown at it at a random moment; returns the outcome."""
    actions = rng.choice(ACTIONS)
    trigger = rng.choice(["loop", "deltas", "deltas", "done"])
    wanted = rng.randint(1, len(TOKENS) - 1)
    # Before "done", the first reply holds still after `wanted` tokens (or before the first),
    # so that Stop lands mid-stream for sure, never in the final write (a case tested
    # on its own below). Later replies, and those of "done", run through. A request the
    # previous step cancelled may reach the server only now: it must not take `held`.
    held = Scenario(
        tokens=TOKENS,
        stall_after=wanted if trigger == "deltas" else 0,
        only_for=f"question {iteration}",  # never a late request of the step before
    )
    fake.queue = [held] if trigger != "done" else []
    cid = (await service.create_conversation()).id
    log = EventLog(service, cid)
    await service.send(cid, f"question {iteration}")
    if trigger == "loop":
        # k turns of the loop: queued, connecting, or waiting for the first token.
        for _ in range(rng.randint(1, 6)):
            await asyncio.sleep(0)
    elif trigger == "deltas":
        await log.wait_for(lambda: len(log.of(ReplyDelta)) >= wanted)
    else:
        await replies.done(cid)
    log.unsubscribe()

    calls = {
        "stop": lambda: service.stop(cid),
        "delete": lambda: service.delete_conversation(cid),
        "send": lambda: service.send(cid, "and again"),
    }
    results = await asyncio.gather(*(calls[a]() for a in actions), return_exceptions=True)
    where = (iteration, actions, trigger)
    for action, result in zip(actions, results, strict=True):
        if isinstance(result, BaseException):
            assert isinstance(result, ALLOWED[action]), (*where, result)
    # A reply started by "send" must end too before the state is judged.
    while service.in_flight(cid) is not None:
        await replies.done(cid)

    done = list(zip(actions, results, strict=True))
    if any(a == "delete" and r is None for a, r in done):
        with pytest.raises(NotFoundError):
            await service.get_conversation(cid)
        return "deleted"
    messages = (await service.get_conversation(cid)).messages
    assert [m.role for m in messages] in (
        ["user", "assistant"],
        ["user", "assistant", "user", "assistant"],
    ), (*where, messages)
    reply = messages[1]
    stopped = any(a == "stop" and r is True for a, r in done)
    assert reply.status is (MessageStatus.STOPPED if stopped else MessageStatus.COMPLETE), (
        *where,
        reply,
    )
    full = "".join(TOKENS)
    assert full.startswith(reply.content)
    assert reply.status is not MessageStatus.COMPLETE or reply.content == full
    return reply.status.value


async def test_stop_and_delete_racing_replies_never_lose_or_leak_anything(
    core: Core, fake: FakeOpenAI, loop_errors: list[dict[str, Any]]
) -> None:
    rng = random.Random(20261125)
    fake.scenario = Scenario(tokens=TOKENS)
    service = core.service
    listeners = service.bus.listener_count
    replies = Replies(service)
    outcomes: dict[str, int] = {}

    for iteration in range(80):
        outcome = await race_once(service, fake, replies, rng, iteration)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    assert loop_errors == []
    assert service.active_replies == [] and not service.replies._tasks
    assert len(service._locks) == 0
    assert list(core.paths.journal.iterdir()) == []
    assert service.bus.listener_count == listeners + 1  # only `replies` is left
    assert set(outcomes) == {"deleted", "stopped", "complete"}, outcomes  # all paths were taken


async def test_stop_and_delete_racing_a_reply_through_the_api(core: Core, fake: FakeOpenAI) -> None:
    rng = random.Random(7)
    async with running_api(core, heartbeat=5) as api:
        for _ in range(15):
            cid = (await api.conversation())["id"]
            wanted = rng.randint(1, len(TOKENS) - 1)
            fake.queue = [Scenario(tokens=TOKENS, stall_after=wanted)]  # mid-stream for sure
            async with api.stream(cid) as stream:
                sent = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Go"})
                assert sent.status == 202
                deltas = 0
                while deltas < wanted:
                    event = await stream.next()
                    assert event is not None
                    deltas += event.type == "delta"
                calls = [
                    api.call("POST", f"/api/conversations/{cid}/stop", {}),
                    api.call("DELETE", f"/api/conversations/{cid}"),
                ]
                if rng.random() < 0.5:
                    calls.reverse()
                answers = await asyncio.gather(*calls)
                while await stream.next() is not None:  # the stream ends with the conversation
                    pass
            assert {a.status for a in answers} <= {200, 204, 404}, [a.body for a in answers]
            assert 204 in {a.status for a in answers}
            assert (await api.call("GET", f"/api/conversations/{cid}")).status == 404
    assert core.service.active_replies == []
    assert list(core.paths.journal.iterdir()) == []


# Known gaps in ConversationService (see docs/reliability.md) -----------------------------


async def test_delete_racing_a_send_leaves_no_reply_behind(core: Core, fake: FakeOpenAI) -> None:
    conv = await core.service.create_conversation()
    replies = Replies(core.service)
    await core.service.send(conv.id, "First")
    await replies.done(conv.id)
    fake.reset()

    sent, deleted = await asyncio.gather(
        core.service.send(conv.id, "Second"), core.service.delete_conversation(conv.id)
    )
    while core.service.in_flight(conv.id) is not None:
        await replies.done(conv.id)

    assert isinstance(sent, Message) and deleted is None
    assert list(core.paths.journal.iterdir()) == [], "a journal file outlived its conversation"
    assert replies.of(ReplyFailed, conv.id) == [], "a reply ran on into a deleted conversation"


async def test_stop_at_once_after_send_stores_the_reply_as_stopped(
    core: Core, fake: FakeOpenAI
) -> None:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Never mind")
    assert await core.service.stop(conv.id)  # no turn of the loop in between

    assert core.service.in_flight(conv.id) is None, "the conversation stays busy for good"
    assert (await log.done(conv.id, timeout=5)).status == "stopped"
    messages = (await core.service.get_conversation(conv.id)).messages
    assert [(m.role, m.status) for m in messages] == [
        ("user", MessageStatus.COMPLETE),
        ("assistant", MessageStatus.STOPPED),
    ]


async def test_stop_while_the_reply_is_being_written_ends_it_once(
    core: Core, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, go_on = threading.Event(), threading.Event()
    append = Messages.append

    def spy(
        self: Messages, session_id: str, message: Message, usage: Any = None, **kw: Any
    ) -> Message:
        if message.role == "assistant":
            writing.set()
            go_on.wait(10)
        return append(self, session_id, message, usage, **kw)

    monkeypatch.setattr(Messages, "append", spy)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Hello")
    try:
        assert await asyncio.to_thread(writing.wait, 10)
        stopping = asyncio.ensure_future(core.service.stop(conv.id))
        await asyncio.sleep(0)  # one turn: stop() has asked the task to cancel
    finally:
        go_on.set()
    await stopping
    await core.store.run(lambda r: None)  # the write has finished

    paths, secrets = core.paths, core.secrets
    assert len(log.of(ReplyDone)) == 1, "no done event: the window and SSE clients wait for ever"
    await core.aclose()
    again = await open_core(paths, secrets)
    try:
        messages = (await again.service.get_conversation(conv.id)).messages
    finally:
        await again.aclose()
    assert [m.role for m in messages] == ["user", "assistant"], "the reply was stored twice"

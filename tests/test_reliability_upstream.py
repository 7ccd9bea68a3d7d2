"""Upstream faults, end to end: what the user is told, and what is stored.

Each case drives the real engine (and, where it matters, the real HTTP API) against a
server misbehaving in one particular way. The single-call mapping of errors is in
test_llm.py; here the question is what a person ends up with: the sentence they see, the
message in the database, and a conversation that still takes the next question.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from desktop_chat.app import Core
from desktop_chat.engine import EngineConfig
from desktop_chat.engine.events import ReplyDelta, ReplyFailed
from desktop_chat.schemas import MAX_MESSAGE_CHARS, Agent, MessageStatus
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog
from tests.test_api_support import running_api
from tests.test_reliability_support import (
    scripted_sse_server,
    sse_chunk,
    sse_events_until,
)

pytestmark = pytest.mark.asyncio

UNKNOWN_HOST = "desktop-chat-no-such-host.invalid"


async def stored(core: Core, cid: str) -> list[tuple[str, MessageStatus, str]]:
    detail = await core.service.get_conversation(cid)
    return [(m.role, m.status, m.content) for m in detail.messages]


async def usage_statuses(core: Core) -> list[tuple[str, str | None]]:
    records = await core.store.run(lambda r: r.usage.list())
    return [(r.status.value, r.error_kind) for r in records]


def journal_files(core: Core) -> list[str]:
    return sorted(p.name for p in core.paths.journal.iterdir())


# Rate limits and server errors, then Retry ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after", "kind", "sentence"),
    [
        (429, 2, "rate_limit",
         "The server is rate limiting requests or the quota is used up. Try again in 2 s."),
        (500, None, "server",
         "The server at {base} had an internal error (HTTP 500): The server had an error "
         "while processing your request. Try again shortly."),
        (503, None, "server",
         "The server at {base} had an internal error (HTTP 503): Service Unavailable. "
         "Try again shortly."),
    ],
    ids=["429-retry-after", "500", "503"],
)  # fmt: skip
async def test_a_burst_of_errors_then_retry_keeps_one_question_and_one_reply(
    core: Core,
    fake: FakeOpenAI,
    status: int,
    retry_after: int | None,
    kind: str,
    sentence: str,
) -> None:
    failing = Scenario(status=status, retry_after=retry_after)
    fake.queue = [failing, failing, failing, Scenario(tokens=["Fine", " now."])]
    sentence = sentence.format(base=fake.base_url)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "Hello?")
    for attempt in range(1, 4):
        done = await log.done(conv.id, attempt)
        assert done.status == "failed"
        error = log.of(ReplyFailed)[attempt - 1]
        assert (error.kind, error.message, error.retryable, error.retry_after) == (
            kind,
            sentence,
            True,
            float(retry_after) if retry_after else None,
        )
        messages = (await core.service.get_conversation(conv.id)).messages
        assert [(m.role, m.status, m.content) for m in messages] == [
            ("user", MessageStatus.COMPLETE, "Hello?"),
            ("assistant", MessageStatus.FAILED, ""),
        ]
        assert messages[-1].error == sentence
        await core.service.regenerate(conv.id)  # the Retry button

    assert (await log.done(conv.id, 4)).status == "complete"
    assert await stored(core, conv.id) == [
        ("user", MessageStatus.COMPLETE, "Hello?"),
        ("assistant", MessageStatus.COMPLETE, "Fine now."),
    ]
    chats = [r["body"]["messages"] for r in fake.requests if r["body"]]
    assert len(chats) == 4
    assert all(c == [chats[0][0], {"role": "user", "content": "Hello?"}] for c in chats), (
        "a failed empty reply was sent back to the server"
    )
    assert await usage_statuses(core) == [("failed", kind)] * 3 + [("complete", None)]
    assert journal_files(core) == []


# A server that does not exist ------------------------------------------------------------


@pytest.fixture
def offline_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Answer names under .invalid (RFC 6761) locally, as "no such name", without any DNS."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").endswith(".invalid"):
            asked.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked


async def test_an_unknown_host_fails_fast_with_the_address_in_the_sentence(
    core: Core, offline_resolver: list[str]
) -> None:
    url = f"http://{UNKNOWN_HOST}/v1"
    agent = await core.service.save_agent(Agent(name="Nowhere", base_url=url, model="m"))
    conv = await core.service.create_conversation(agent_id=agent.agent_id)
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "Anyone there?")
    done = await log.done(conv.id, timeout=20)

    sentence = f"Cannot reach the server at {url}. Is it running, and is the address right?"
    assert done.status == "failed"
    (error,) = log.of(ReplyFailed)
    assert (error.kind, error.message) == ("connection", sentence)
    assert offline_resolver and offline_resolver[0] == UNKNOWN_HOST, "the name was not looked up"
    messages = (await core.service.get_conversation(conv.id)).messages
    assert [(m.role, m.status, m.content, m.error) for m in messages] == [
        ("user", MessageStatus.COMPLETE, "Anyone there?", None),
        ("assistant", MessageStatus.FAILED, "", sentence),
    ]

    async with running_api(core, heartbeat=5) as api:  # the same through the local API
        created = await api.conversation(agent=agent.agent_id)
        async with api.stream(created["id"]) as stream:
            sent = await api.call(
                "POST", f"/api/conversations/{created['id']}/messages", {"text": "Hello?"}
            )
            assert sent.status == 202, sent.body
            events = await stream.until("done", timeout=20)
    assert [e.data["message"] for e in events if e.type == "error"] == [sentence]
    assert events[-1].data["status"] == "failed"


# A stream that stalls ----------------------------------------------------------------------


async def test_a_stalled_stream_times_out_keeps_the_partial_text_and_closes_the_connection(
    core: Core, fake: FakeOpenAI
) -> None:
    await core.service.reconfigure(EngineConfig(request_timeout=1.0, auto_title=False))
    fake.scenario = Scenario(
        tokens=["Partial ", "text ", "then ", "silence"], stall_after=2, stall_timeout=30
    )
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "Go on")
    done = await log.done(conv.id, timeout=15)

    sentence = (
        f"The server at {fake.base_url} stopped answering (timed out). "
        "The partial reply was kept; try again."
    )
    assert done.status == "failed"
    assert [(e.kind, e.message) for e in log.of(ReplyFailed)] == [("timeout", sentence)]
    assert await stored(core, conv.id) == [
        ("user", MessageStatus.COMPLETE, "Go on"),
        ("assistant", MessageStatus.FAILED, "Partial text "),
    ]
    assert fake.wait_for(lambda: fake.disconnects >= 1), "the stalled connection was left open"
    assert journal_files(core) == []
    await core.service.send(conv.id, "Still there?")  # the conversation takes the next one
    assert (await log.done(conv.id, 2, timeout=15)).status == "failed"


async def test_a_stalled_stream_through_the_api(core: Core, fake: FakeOpenAI) -> None:
    await core.service.reconfigure(EngineConfig(request_timeout=1.0, auto_title=False))
    fake.scenario = Scenario(tokens=["Half ", "a ", "thought"], stall_after=2, stall_timeout=30)
    async with running_api(core, heartbeat=5) as api:
        cid = (await api.conversation())["id"]
        async with api.stream(cid) as stream:
            sent = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Hm?"})
            assert sent.status == 202
            events = await stream.until("done", timeout=15)
        detail = (await api.call("GET", f"/api/conversations/{cid}")).body

    assert "".join(e.data["text"] for e in events if e.type == "delta") == "Half a "
    assert [e.data["kind"] for e in events if e.type == "error"] == ["timeout"]
    assert events[-1].data["status"] == "failed"
    reply = detail["messages"][-1]
    assert (reply["content"], reply["status"]) == ("Half a ", "failed")
    assert detail["reply"] is None


# Malformed streams -------------------------------------------------------------------------

A, B, FINISH, DONE = (
    sse_chunk({"role": "assistant", "content": "a"}),
    sse_chunk({"content": "b"}),
    sse_chunk(finish="stop"),
    "data: [DONE]\n\n",
)


def _raw(data: str) -> str:
    return f"data: {data}\n\n"


# name -> (stream, stored status, stored text); every failure keeps the text before it.
SCRIPTS: dict[str, tuple[list[str | bytes], MessageStatus, str]] = {
    "comment-lines": ([A, ": keep-alive\n\n", B, FINISH, DONE], MessageStatus.COMPLETE, "ab"),
    "crlf-line-ends": (
        [A.replace("\n", "\r\n"), B.replace("\n", "\r\n"), FINISH, DONE],
        MessageStatus.COMPLETE,
        "ab",
    ),
    "line-without-data": ([A, "what is this\n\n", B, FINISH, DONE], MessageStatus.COMPLETE, "ab"),
    "usage-counts-are-words": (
        [A, B, FINISH,
         _raw('{"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", '
              '"choices": [], "usage": {"prompt_tokens": "many", "completion_tokens": -1}}'),
         DONE],
        MessageStatus.COMPLETE,
        "ab",
    ),
    "finish-reason-is-a-number": ([A, B, sse_chunk(finish=7), DONE], MessageStatus.COMPLETE, "ab"),
    "not-json": ([A, _raw("{not json"), B, DONE], MessageStatus.FAILED, "a"),
    "text-is-a-number": ([A, sse_chunk({"content": 5}), B, DONE], MessageStatus.FAILED, "a"),
    "choices-is-a-string": ([A, _raw('{"choices": "oops"}'), B, DONE], MessageStatus.FAILED, "a"),
    "choice-is-a-number": ([A, _raw('{"choices": [5]}'), B, DONE], MessageStatus.FAILED, "a"),
    "array-not-object": ([A, _raw("[1, 2]"), B, DONE], MessageStatus.FAILED, "a"),
    "null-chunk": ([A, _raw("null"), B, DONE], MessageStatus.FAILED, "a"),
    "invalid-utf8": (
        [A, b'data: {"choices": [{"index": 0, "delta": {"content": "\xff\xfe"}}]}\n\n', B, DONE],
        MessageStatus.FAILED,
        "a",
    ),
    "nested-100000-deep": ([A, _raw("[" * 100_000), B, DONE], MessageStatus.FAILED, "a"),
    "error-object-mid-stream": (
        [A, _raw('{"error": {"message": "overloaded", "type": "server_error"}}')],
        MessageStatus.FAILED,
        "a",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SCRIPTS))
async def test_malformed_stream_lines_never_leave_a_conversation_stuck(
    core: Core, name: str
) -> None:
    script, status, text = SCRIPTS[name]
    async with scripted_sse_server({name: script}) as root:
        url = f"{root}/{name}/v1"
        agent = await core.service.save_agent(Agent(name=name, base_url=url, model="m"))
        conv = await core.service.create_conversation(agent_id=agent.agent_id)
        log = EventLog(core.service, conv.id)

        await core.service.send(conv.id, "Tell me")
        done = await log.done(conv.id)
        # A reply that cannot be stored would leave the conversation "still writing" for ever:
        await core.service.send(conv.id, "And again")
        await log.done(conv.id, 2)

    assert done.status == status.value
    messages = (await core.service.get_conversation(conv.id)).messages
    assert [(m.role, m.status, m.content) for m in messages] == [
        ("user", MessageStatus.COMPLETE, "Tell me"),
        ("assistant", status, text),
        ("user", MessageStatus.COMPLETE, "And again"),
        ("assistant", status, text),
    ]
    errors = [(e.kind, e.message) for e in log.of(ReplyFailed)]
    if status is MessageStatus.FAILED:
        sentence = (
            f"The server at {url} sent a reply that could not be read. The partial reply was kept."
        )
        assert errors == [("malformed", sentence)] * 2
        assert messages[1].error == sentence
    else:
        assert errors == []
        assert messages[1].prompt_tokens is None or messages[1].prompt_tokens >= 0
        assert messages[1].finish_reason in ("stop", None)
    assert journal_files(core) == []


# Streams that end without finishing --------------------------------------------------------


def unfinished_sentence(url: str, text: str) -> str:
    if text:
        return (
            f"The server at {url} ended the reply before finishing it. The partial reply was "
            "kept; use Retry or Continue."
        )
    return (
        f"The server at {url} ended the reply without sending any of it. Some servers do "
        "this when the conversation is longer than the model's context: remove older "
        "messages in the context editor or start a new conversation, then try again."
    )


async def test_an_empty_stream_is_a_failed_reply_not_a_complete_one(
    core: Core, fake: FakeOpenAI
) -> None:
    """llama.cpp's server, given a prompt longer than its context, answers 200 and closes."""
    fake.scenario = Scenario(empty_stream=True)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "A prompt longer than the context")
    done = await log.done(conv.id)

    sentence = unfinished_sentence(fake.base_url, "")
    assert done.status == "failed"
    assert [(e.kind, e.message) for e in log.of(ReplyFailed)] == [
        ("stream_cut", sentence)
    ]
    assert await stored(core, conv.id) == [
        ("user", MessageStatus.COMPLETE, "A prompt longer than the context"),
        ("assistant", MessageStatus.FAILED, ""),
    ]
    assert (await core.service.get_conversation(conv.id)).messages[1].error == sentence
    assert await usage_statuses(core) == [("failed", "stream_cut")]
    assert journal_files(core) == []


UNFINISHED: dict[str, tuple[list[str | bytes], str]] = {
    "nothing": ([], ""),
    "done-alone": ([DONE], ""),
    "text-then-the-end": ([A, B], "ab"),
    "text-then-done": ([A, B, DONE], "ab"),
    "text-usage-then-done": (
        [A, B, _raw('{"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}'),
         DONE],
        "ab",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(UNFINISHED))
async def test_a_stream_without_a_finish_reason_keeps_its_text_as_failed(
    core: Core, name: str
) -> None:
    script, text = UNFINISHED[name]
    async with scripted_sse_server({name: script}) as root:
        url = f"{root}/{name}/v1"
        agent = await core.service.save_agent(Agent(name=name, base_url=url, model="m"))
        conv = await core.service.create_conversation(agent_id=agent.agent_id)
        log = EventLog(core.service, conv.id)
        await core.service.send(conv.id, "Tell me")
        done = await log.done(conv.id)

    assert done.status == "failed"
    assert [e.message for e in log.of(ReplyFailed)] == [unfinished_sentence(url, text)]
    assert await stored(core, conv.id) == [
        ("user", MessageStatus.COMPLETE, "Tell me"),
        ("assistant", MessageStatus.FAILED, text),
    ]


# Keep-alives without content ---------------------------------------------------------------


async def test_keep_alives_alone_time_out_and_keep_the_partial_text(
    core: Core, fake: FakeOpenAI
) -> None:
    await core.service.reconfigure(EngineConfig(request_timeout=1.0, auto_title=False))
    fake.scenario = Scenario(
        tokens=["Partial ", "text ", "then ", "comments"], keepalive_after=2, stall_timeout=60
    )
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "Go on")
    done = await log.done(conv.id, timeout=15)

    assert done.status == "failed"
    assert [e.kind for e in log.of(ReplyFailed)] == ["timeout"]
    assert await stored(core, conv.id) == [
        ("user", MessageStatus.COMPLETE, "Go on"),
        ("assistant", MessageStatus.FAILED, "Partial text "),
    ]
    assert fake.wait_for(lambda: fake.open_streams == 0), "the connection was left open"


# Very large replies ------------------------------------------------------------------------


async def test_a_one_megabyte_chunk_is_stored_whole_and_streamed_whole(
    core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=["Start "], big_chunk=1_000_000 - len("Start "))
    expected = "Start " + "x" * (1_000_000 - len("Start "))
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "Big one")
    assert (await log.done(conv.id)).status == "complete"

    assert "".join(e.text for e in log.of(ReplyDelta)) == expected
    assert await stored(core, conv.id) == [
        ("user", MessageStatus.COMPLETE, "Big one"),
        ("assistant", MessageStatus.COMPLETE, expected),
    ]
    async with running_api(core, heartbeat=5) as api:  # the same through the local API
        cid = (await api.conversation())["id"]
        headers = {"Authorization": f"Bearer {await api.token()}"}
        async with api.session.get(
            f"{api.base}/api/conversations/{cid}/stream", headers=headers
        ) as response:
            assert response.status == 200, await response.text()
            sent = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Big"})
            assert sent.status == 202, sent.body
            events = await sse_events_until(response, "done")
        detail = (await api.call("GET", f"/api/conversations/{cid}")).body
    assert "".join(e["data"]["text"] for e in events if e["type"] == "delta") == expected
    assert [e["data"]["content"] for e in events if e["type"] == "message"][-1] == expected
    assert detail["messages"][-1]["content"] == expected


async def test_a_reply_longer_than_a_message_can_hold_is_cut_and_kept(
    core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=["a" * 400_000, "b" * 400_000, "c" * 400_000])
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "Never stop talking")
    done = await log.done(conv.id)

    sentence = (
        "The reply grew longer than 1,000,000 characters, the most one message can hold. "
        "It was cut there; the text so far was kept."
    )
    assert done.status == "failed"
    assert [(e.kind, e.message) for e in log.of(ReplyFailed)] == [
        ("too_long", sentence)
    ]
    reply = (await core.service.get_conversation(conv.id)).messages[-1]
    assert reply.status is MessageStatus.FAILED and reply.error == sentence
    assert reply.content == "a" * 400_000 + "b" * 400_000 + "c" * 200_000
    assert len(reply.content) == MAX_MESSAGE_CHARS
    assert core.service.in_flight(conv.id) is None
    assert journal_files(core) == []
    assert fake.wait_for(lambda: fake.open_streams == 0), "the cut stream was left open"


@pytest.mark.slow
async def test_a_reply_of_200000_tokens_is_stored_whole(core: Core, fake: FakeOpenAI) -> None:
    """45 to 70 s on 2 cores: run with `pytest -m slow tests/test_reliability_upstream.py`."""
    tokens = [f"{i % 1000:03d} " for i in range(200_000)]  # 800,000 characters
    fake.scenario = Scenario(tokens=tokens)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, "Count for a long while")
    done = await log.done(conv.id, timeout=300)

    assert done.status == "complete"
    assert done.completion_tokens == 200_000
    reply = (await core.service.get_conversation(conv.id)).messages[-1]
    assert reply.content == "".join(tokens)
    assert journal_files(core) == []

"""The local API through a real HTTP client: CRUD, replies, and the SSE stream.

The server runs in the test's own event loop, as it would in the window's, on a free
port; the fake OpenAI server writes the replies through the real SDK.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
import pytest_asyncio

from desktop_chat.api.events import STREAMED, encode
from desktop_chat.api.fanout import Batch, StreamHub, Subscriber, chunk
from desktop_chat.api.finals import FinalMessages
from desktop_chat.app import Core
from desktop_chat.engine import EventBus, ReplyInProgressError
from desktop_chat.engine.events import (
    ConversationDeleted,
    EngineEvent,
    MessageStored,
    ReplyDelta,
    ReplyDone,
    TitleChanged,
)
from desktop_chat.schemas import Message
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog, wait_until
from tests.test_api_support import Api, SseEvent, running_api

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def api(core: Core) -> AsyncIterator[Api]:
    async with running_api(core, heartbeat=0.2) as running:
        yield running


def text_of(events: list[SseEvent]) -> str:
    return "".join(e.data["text"] for e in events if e.type == "delta")


async def stored_reply(core: Core, cid: str) -> str:
    detail = await core.service.get_conversation(cid)
    assert detail.messages[-1].role == "assistant"
    return detail.messages[-1].content


# Conversations -------------------------------------------------------------------------


async def test_conversation_crud_round_trip(api: Api, core: Core) -> None:
    agents = (await api.call("GET", "/api/agents")).body["items"]
    created = await api.call(
        "POST",
        "/api/conversations",
        {
            "agent": "Fake",
            "title": "Planning",
            "context": {
                "preset": [{"role": "system", "content": "Be brief."}],
                "history": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"},
                ],
            },
        },
    )
    assert created.status == 201, created.body
    conversation = created.body
    cid = conversation["id"]
    assert created.headers["Location"] == f"/api/conversations/{cid}"
    assert conversation["owner"] == "token:alice"
    assert conversation["agent_id"] == agents[0]["agent_id"]
    assert [m["content"] for m in conversation["messages"]] == ["Hi", "Hello"]
    for title in ("second", "third"):
        await api.conversation(title=title)

    listed = await api.call("GET", "/api/conversations?limit=2")
    assert listed.status == 200
    assert [c["title"] for c in listed.body["items"]] == ["third", "second"]
    assert listed.body["next_offset"] == 2
    rest = await api.call("GET", "/api/conversations?limit=2&offset=2")
    assert [c["title"] for c in rest.body["items"]] == ["Planning"]
    assert rest.body["next_offset"] is None
    found = await api.call("GET", "/api/conversations?q=hello")
    assert [c["id"] for c in found.body["items"]] == [cid]

    patched = await api.call(
        "PATCH", f"/api/conversations/{cid}", {"title": "Renamed", "pinned": True}
    )
    assert patched.status == 200, patched.body
    assert (patched.body["title"], patched.body["pinned"]) == ("Renamed", True)
    first = await api.call("GET", "/api/conversations?limit=1")
    assert first.body["items"][0]["id"] == cid, "a pinned conversation comes first"

    context = await api.call("GET", f"/api/conversations/{cid}")
    history = [
        {"id": context.body["messages"][0]["id"], "role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello again"},
    ]
    put = await api.call(
        "PUT",
        f"/api/conversations/{cid}/context",
        {"preset": [{"role": "system", "content": "Be kind."}], "history": history},
    )
    assert put.status == 200, put.body
    assert put.body["preset"] == [{"role": "system", "content": "Be kind."}]
    assert [(e["role"], e["content"]) for e in put.body["history"]] == [
        ("user", "Hi there"),
        ("assistant", "Hello again"),
    ]
    detail = await api.call("GET", f"/api/conversations/{cid}")
    assert detail.status == 200
    assert detail.body["title"] == "Renamed" and detail.body["reply"] is None
    assert [m["content"] for m in detail.body["messages"]] == ["Hi there", "Hello again"]
    assert (await core.service.get_context(cid)).preset[0].content == "Be kind."

    deleted = await api.call("DELETE", f"/api/conversations/{cid}")
    assert deleted.status == 204 and deleted.body is None
    gone = await api.call("GET", f"/api/conversations/{cid}")
    assert gone.status == 404 and gone.error["kind"] == "not_found"


async def test_a_second_send_while_replying_is_refused_with_409(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=[f"w{i} " for i in range(200)], delay=0.02)
    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)

    first = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Go on"})
    assert first.status == 202, first.body
    assert first.body["message"]["role"] == "user"
    assert first.body["stream"] == f"/api/conversations/{cid}/stream"
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 1)
    in_flight = await api.call("GET", f"/api/conversations/{cid}")
    assert in_flight.body["reply"]["model"] == "fake-model"

    second = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "And?"})
    assert second.status == 409
    assert second.error["message"] == ReplyInProgressError().user_message

    stopped = await api.call("POST", f"/api/conversations/{cid}/stop", {})
    assert stopped.status == 200 and stopped.body == {"stopped": True}
    assert (await log.done(cid)).status == "stopped"
    again = await api.call("POST", f"/api/conversations/{cid}/stop", data="", headers={
        "Content-Type": "application/json"})  # fmt: skip
    assert again.status == 200 and again.body == {"stopped": False}


async def test_agents_never_show_keys_and_stats_count_own_usage(api: Api, core: Core) -> None:
    agents = await api.call("GET", "/api/agents")
    assert agents.status == 200
    (agent,) = agents.body["items"]
    assert agent["has_key"] is True and agent["name"] == "Fake"
    assert agent["vision"] is True  # an OpenAI agent: images may be sent to it
    text = str(agents.body)
    assert "key_ref" not in text and "agent:fake" not in text and "sk-test" not in text

    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)
    await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Count me"})
    await log.done(cid)
    mine = await api.call("GET", "/api/stats")
    assert mine.status == 200
    assert mine.body["requests"] == 1 and mine.body["errors"] == 0
    assert mine.body["completion_tokens"] > 0
    assert [m["model"] for m in mine.body["by_model"]] == ["fake-model"]
    other = await api.call("GET", "/api/stats", as_="bob")
    assert other.body["requests"] == 0 and other.body["by_model"] == []


async def test_stats_give_the_latency_and_every_day_of_the_period(api: Api, core: Core) -> None:
    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)
    await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Time me"})
    await log.done(cid)
    reply = (await core.service.get_conversation(cid)).messages[-1]

    week = await api.call("GET", "/api/stats?days=7")
    assert week.status == 200 and week.body["period_days"] == 7
    days = week.body["by_day"]
    today = datetime.now(UTC).date()
    assert [d["day"] for d in days] == [str(today - timedelta(days=n)) for n in range(6, -1, -1)]
    assert [d["requests"] for d in days] == [0] * 6 + [1]
    assert week.body["latency"]["ttft_median_ms"] == pytest.approx(reply.ttft_ms)
    assert week.body["latency"]["duration_p95_ms"] == pytest.approx(reply.duration_ms)
    assert days[-1]["ttft_median_ms"] == pytest.approx(reply.ttft_ms)

    default = await api.call("GET", "/api/stats")
    assert len(default.body["by_day"]) == 30
    other = await api.call("GET", "/api/stats", as_="bob")
    assert other.body["latency"]["ttft_median_ms"] is None
    assert sum(d["requests"] for d in other.body["by_day"]) == 0
    refused = await api.call("GET", "/api/stats?days=0")
    assert (refused.status, refused.error["fields"]) == (422, ["days"])


async def test_openapi_document_covers_every_route(api: Api) -> None:
    from desktop_chat.api.app import ROUTES

    reply = await api.call("GET", "/openapi.json")
    assert reply.status == 200
    document = reply.body
    assert document["openapi"].startswith("3.1")
    for spec in ROUTES:
        operation = document["paths"][spec.path][spec.method.lower()]
        assert str(spec.status) in operation["responses"]
    schemas = document["components"]["schemas"]
    assert {"CreateConversationRequest", "SendMessageRequest", "ErrorResponse", "Message"} <= set(
        schemas
    )

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    registered = {
        (route.method, route.resource.canonical)
        for route in api.server.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert registered == documented


async def test_the_page_and_its_files_are_served_without_a_token(api: Api) -> None:
    page = await api.call("GET", "/", as_=None)
    assert page.status == 200 and "<title>Desktop Chat</title>" in page.body
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    script = await api.call("GET", "/static/app.js", as_=None)
    assert script.status == 200 and "EventSource" in script.body
    for name in ("files.js", "tools.js"):  # the page's other scripts
        assert (await api.call("GET", f"/static/{name}", as_=None)).status == 200
    # Files are shown through blob URLs: the page cannot send a token from an <img>.
    assert "img-src 'self' data: blob:;" in page.headers["Content-Security-Policy"]
    assert (await api.call("GET", "/static/style.css", as_=None)).status == 200
    for missing in ("/static/nothing.js", "/static/..%2Fapi%2Fapp.py", "/static/.hidden"):
        assert (await api.call("GET", missing, as_=None)).status == 404, missing


# The stream ---------------------------------------------------------------------------


async def test_stream_carries_deltas_and_done_in_order_with_ids(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=["Hel", "lo", ", ", "world", "!"], reasoning=["hm"])
    cid = (await api.conversation())["id"]
    async with api.stream(cid) as stream:
        headers = stream.response.headers
        assert headers["Content-Type"].startswith("text/event-stream")
        assert headers["Cache-Control"] == "no-cache"
        assert headers["X-Accel-Buffering"] == "no"
        assert "Content-Encoding" not in headers
        sent = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Say hello"})
        assert sent.status == 202
        events = await stream.until("done")

    assert stream.retry == 2000
    types = [e.type for e in events]
    assert types[0] == "message" and events[0].data["content"] == "Say hello"
    assert "title" in types
    deltas = [e for e in events if e.type == "delta"]
    assert text_of(events) == "Hello, world!"
    assert "".join(e.data["reasoning"] for e in deltas) == "hm"
    assert types[-2:] == ["message", "done"]
    assert events[-2].data["content"] == "Hello, world!"
    assert events[-1].data["status"] == "complete"
    ids = [e.id for e in events]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert await stored_reply(core, cid) == "Hello, world!"


@pytest.mark.parametrize("via", ["header", "query"])
async def test_reconnecting_mid_reply_yields_exactly_the_remaining_text(
    api: Api, core: Core, fake: FakeOpenAI, via: str
) -> None:
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(150)], delay=0.01)
    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)
    async with api.stream(cid) as first:
        await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Count"})
        before: list[SseEvent] = []
        while len([e for e in before if e.type == "delta"]) < 5:
            event = await first.next()
            assert event is not None
            before.append(event)
        last_id = first.last_id
    assert last_id is not None
    # The client is gone; the reply goes on without it.
    assert core.service.in_flight(cid) is not None

    if via == "header":
        context = api.stream(cid, last_event_id=last_id)
    else:
        token = await api.token()
        ticket = await api.call("POST", "/api/stream-tickets", {"conversation_id": cid})
        assert ticket.status == 201
        path = f"{ticket.body['stream']}&last_event_id={last_id}"
        assert token not in path
        context = api.stream(cid, path=path)
    async with context as second:
        after = await second.until("done")

    assert any(e.type == "delta" for e in after), "the reply ended before the reconnect"
    assert all(e.id is not None and e.id > last_id for e in after)
    ids = [e.id for e in after]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    stored = await stored_reply(core, cid)
    assert text_of(before) + text_of(after) == stored
    assert stored == "".join(f"t{i} " for i in range(150))
    assert log.of(ReplyDone)[0].status == "complete"


async def test_reconnecting_after_the_reply_ended_gets_the_stored_message(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=[f"p{i} " for i in range(60)], delay=0.005)
    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)
    async with api.stream(cid) as first:
        await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Count"})
        await first.until("delta")
        last_id = first.last_id
    await log.done(cid)
    assert last_id is not None

    async with api.stream(cid, last_event_id=last_id) as second:
        event = await second.next()
    assert event is not None and event.type == "message"
    stored = await stored_reply(core, cid)
    assert event.data["content"] == stored == "".join(f"p{i} " for i in range(60))
    assert event.data["role"] == "assistant" and event.id is not None and event.id > last_id

    # A client that saw everything gets nothing again, only heartbeats.
    done_id = log.of(ReplyDone)[0].seq
    async with api.stream(cid, last_event_id=done_id) as third:
        await third.comment()
    assert third.events == []


async def test_a_hundred_subscribers_all_receive_every_event_in_order(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=[f"x{i} " for i in range(40)], delay=0.002)
    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)
    token = await api.token()
    connected = asyncio.Event()
    ready = 0
    received: list[list[tuple[int | None, str]]] = []

    async def subscriber() -> None:
        nonlocal ready
        async with api.stream(cid) as stream:
            ready += 1  # headers are sent after the subscription: from here on, nothing is missed
            if ready == 100:
                connected.set()
            events = await stream.until("done", timeout=30)
            received.append([(e.id, e.type) for e in events])

    assert token
    tasks = [asyncio.create_task(subscriber()) for _ in range(100)]
    async with asyncio.timeout(30):
        await connected.wait()
    await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Broadcast"})
    await asyncio.gather(*tasks)

    expected = [(e.seq, STREAMED[type(e)][0]) for e in log.events if type(e) in STREAMED]
    assert len(received) == 100
    assert sum(1 for _, t in expected if t == "delta") == 40
    for events in received:
        assert events == expected


async def test_events_published_together_reach_every_stream_one_by_one(
    api: Api, core: Core
) -> None:
    """Events of one loop iteration go out in one write per stream, still as separate events."""
    cid = (await api.conversation())["id"]
    async with api.stream(cid) as first, api.stream(cid) as second:
        published: list[EngineEvent] = [
            core.service.bus.publish(ReplyDelta(conversation_id=cid, text=f"d{i}\n", reasoning=""))
            for i in range(5)
        ]
        published.append(core.service.bus.publish(TitleChanged(conversation_id=cid, title="Five")))
        expected = [(p.seq, STREAMED[type(p)][0], STREAMED[type(p)][1](p)) for p in published]
        for stream in (first, second):
            received = [await stream.next() for _ in published]
            assert [(e.id, e.type, e.data) for e in received if e is not None] == expected


async def test_an_http_1_0_client_gets_the_events_without_chunk_framing(
    api: Api, core: Core
) -> None:
    """Events are written past aiohttp, in the framing it chose: none for HTTP/1.0."""
    cid = (await api.conversation())["id"]
    port = api.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET /api/conversations/{cid}/stream HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {await api.token()}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200") and b"chunked" not in head.lower()
        assert await reader.readuntil(b"\n\n") == b"retry: 2000\n\n"
        event = core.service.bus.publish(TitleChanged(conversation_id=cid, title="Plain"))
        assert await reader.readuntil(b"\n\n") == encode(event)
    finally:
        writer.close()


async def test_a_slow_client_is_cut_off_and_never_holds_up_the_others(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    async with running_api(core, queue_size=8) as api:
        cid = (await api.conversation())["id"]
        port = api.server.port
        # A client that asks for the stream, then never reads: its small buffer fills at once.
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.setblocking(False)
        try:
            await loop.sock_connect(slow, ("127.0.0.1", port))
            await loop.sock_sendall(
                slow,
                f"GET /api/conversations/{cid}/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {await api.token()}\r\n\r\n".encode(),
            )
            async with api.stream(cid) as fast:
                await wait_until(lambda: api.server.open_streams == 2, what="both streams open")
                text = "x" * 16_000
                for i in range(400):  # 6.4 MB, far more than the slow client's socket holds
                    core.service.bus.publish(
                        ReplyDelta(conversation_id=cid, text=f"{i} {text}", reasoning="")
                    )
                    event = await fast.next()
                    assert event is not None and event.data["text"].startswith(f"{i} ")
                await wait_until(lambda: api.server.open_streams == 1, what="the slow one cut off")
        finally:
            slow.close()
    assert "too slow to keep up" in caplog.text


async def test_heartbeats_arrive_at_the_configured_interval(core: Core) -> None:
    async with running_api(core, heartbeat=0.05) as api:
        cid = (await api.conversation())["id"]
        async with api.stream(cid) as stream:
            started = time.monotonic()
            await stream.comment()
            await stream.comment()
            await stream.comment()
            assert time.monotonic() - started < 5
        assert stream.events == []


async def test_a_client_leaving_never_stops_the_reply(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=[f"k{i} " for i in range(50)], delay=0.01)
    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)
    async with api.stream(cid) as stream:
        await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "Go"})
        await stream.until("delta")
    done = await log.done(cid)
    assert done.status == "complete"
    assert await stored_reply(core, cid) == "".join(f"k{i} " for i in range(50))
    await log.wait_for(lambda: api.server.open_streams == 0)


async def test_stop_returns_quickly_with_a_client_connected(core: Core) -> None:
    async with running_api(core) as api:  # the default 15 s heartbeat
        cid = (await api.conversation())["id"]
        async with api.stream(cid) as stream:
            assert api.server.open_streams == 1
            started = time.monotonic()
            await api.server.stop()
            elapsed = time.monotonic() - started
            assert await stream.next() is None, "the stream did not end"
        assert elapsed < 2.0, f"stop() took {elapsed:.1f} s"
        assert not api.server.running


async def test_stream_of_a_deleted_conversation_ends(api: Api) -> None:
    cid = (await api.conversation())["id"]
    async with api.stream(cid) as stream:
        assert (await api.call("DELETE", f"/api/conversations/{cid}")).status == 204
        assert await stream.next() is None


async def test_a_server_can_start_again_after_stopping(core: Core) -> None:
    async with running_api(core) as api:
        await api.server.stop()
        await api.server.start()
        health = await api.call("GET", "/api/health", as_=None)
        assert health.status == 200 and health.body["status"] == "ok"
        cid = (await api.conversation())["id"]
        async with api.stream(cid) as stream:
            assert stream.response.status == 200


# Units -----------------------------------------------------------------------------------


class FakeTransport:
    """Stands in for a client's socket: records what is written; `stuck` if it never reads."""

    def __init__(self, *, stuck: bool = False) -> None:
        self.stuck = stuck
        self.data = b""
        self.aborted = False

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return 16, 64

    def get_write_buffer_size(self) -> int:
        return len(self.data) if self.stuck else 0

    def is_closing(self) -> bool:
        return self.aborted

    def write(self, data: bytes) -> None:
        self.data += data

    def abort(self) -> None:
        self.aborted = True


def subscriber_on(transport: FakeTransport, maxsize: int = 10) -> Subscriber:
    subscriber = Subscriber("c1", maxsize, cast(asyncio.Transport, transport))
    subscriber.start(chunked=True, seen=0)
    return subscriber


async def test_a_slow_subscriber_is_cut_off_instead_of_queueing_for_ever(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = FakeTransport(stuck=True)
    subscriber = subscriber_on(transport, maxsize=3)
    for seq in range(1, 10):
        payload = encoded(ReplyDelta(conversation_id="c", text="x" * 40, reasoning=""), seq)
        subscriber.deliver(Batch([(seq, payload, chunk(payload))]), time.monotonic())
        if seq == 4:  # one written (the socket had room), three queued
            assert transport.data.count(b"id: ") == 1 and subscriber.queued == 3
    assert subscriber.dropped and transport.aborted and subscriber.queued == 0
    assert transport.data.count(b"id: ") == 1
    assert "too slow" in caplog.text


async def test_a_stream_gets_nothing_published_before_it_joined() -> None:
    bus = EventBus()
    hub = StreamHub(bus, heartbeat=60)
    early, late = FakeTransport(), FakeTransport()
    leave_early = hub.join(subscriber_on(early))
    bus.publish(ReplyDelta(conversation_id="c1", text="before", reasoning=""))  # on the next turn
    late_subscriber = subscriber_on(late)
    leave_late = hub.join(late_subscriber)
    bus.publish(ReplyDelta(conversation_id="c1", text="after", reasoning=""))
    await wait_until(lambda: early.data, what="the events written")
    late_subscriber.flush()  # as its handler does once woken: part of the batch was queued
    assert b"before" in early.data and early.data.index(b"before") < early.data.index(b"after")
    assert b"before" not in late.data and b"after" in late.data
    leave_early()
    leave_late()
    assert bus.listener_count == 0 and hub.open_streams == 0


async def test_final_messages_are_remembered_within_bounds() -> None:
    bus = EventBus()
    finals = FinalMessages(capacity=2)
    finals.attach(bus)
    for cid in ("a", "b", "c"):
        bus.publish(MessageStored(conversation_id=cid, message=Message(id=1, role="user")))
        bus.publish(MessageStored(conversation_id=cid, message=Message(id=2, role="assistant")))
    assert finals.get("a") is None
    record = finals.get("c")
    assert record is not None and record.message_id == 2
    bus.publish(ConversationDeleted(conversation_id="c"))
    assert finals.get("c") is None
    finals.detach()
    assert bus.listener_count == 0


def encoded(event: EngineEvent, seq: int) -> bytes:
    event.seq = seq
    payload = encode(event)
    assert payload is not None
    return payload


async def test_sse_events_fit_on_one_data_line() -> None:
    raw = encoded(ReplyDelta(conversation_id="c", text="line one\nline two\r\n", reasoning=""), 7)
    assert raw.count(b"\n\n") == 1 and raw.endswith(b"\n\n")
    assert raw.splitlines()[0] == b"id: 7"
    assert len(raw.strip().splitlines()) == 2


async def test_usage_stats_count_requests_tokens_and_failures(core: Core) -> None:
    from desktop_chat.schemas import Conversation, MessageStatus, UsageRecord

    mine = await core.store.run(lambda r: r.conversations.create(Conversation(owner="token:alice")))
    ok, failed = MessageStatus.COMPLETE, MessageStatus.FAILED

    def usage(cid: str, model: str, status: MessageStatus, tokens: int | None) -> UsageRecord:
        return UsageRecord(
            conversation_id=cid,
            agent_id=None,
            model=model,
            status=status,
            prompt_tokens=tokens,
            completion_tokens=tokens // 2 if tokens else None,
        )

    records = [
        usage(mine.id, "m1", ok, 10),
        usage(mine.id, "m1", failed, None),
        usage(mine.id, "m2", ok, 2),
        usage("gone", "m2", ok, 100),
    ]
    for record in records:
        await core.store.run(lambda r, u=record: r.usage.record(u))

    everyone = await core.store.run(lambda r: r.usage.stats())
    assert (everyone.requests, everyone.errors) == (4, 1)
    assert (everyone.prompt_tokens, everyone.completion_tokens) == (112, 56)
    assert [(m.model, m.requests) for m in everyone.by_model] == [("m1", 2), ("m2", 2)]
    alice = await core.store.run(lambda r: r.usage.stats("token:alice"))
    assert (alice.requests, alice.prompt_tokens, alice.completion_tokens) == (3, 12, 6)
    assert [(m.model, m.requests, m.errors) for m in alice.by_model] == [("m1", 2, 1), ("m2", 1, 0)]

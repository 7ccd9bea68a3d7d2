"""The local API's defences: tokens and owners, tickets, Host, Origin/CORS, bodies.

Every answer in this file is also checked to be below 500: bad input is the client's
fault and must never look like a crash of the server.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from desktop_chat.api import TicketBook
from desktop_chat.api.app import ROUTES
from desktop_chat.app import Core
from tests.helpers import EventLog
from tests.test_api_support import Api, Reply, running_api

pytestmark = pytest.mark.asyncio

CORS_ORIGIN = "http://localhost:5173"


@pytest_asyncio.fixture
async def api(core: Core) -> AsyncIterator[Api]:
    async with running_api(core, heartbeat=0.2, cors_origins=[CORS_ORIGIN]) as running:
        yield running


def no_crash(reply: Reply) -> Reply:
    assert reply.status < 500, reply.body
    return reply


async def call(api: Api, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
    return no_crash(await api.call(method, path, body, **kwargs))


def route_path(path: str, cid: str) -> str:
    return (
        path.replace("{id}", cid)
        .replace("{filename}", "app.js")
        .replace("{sha256}", "0" * 64)
        .replace("{call_id}", "call-1")
    )


# Tokens and owners ----------------------------------------------------------------------


async def test_every_route_but_health_and_the_page_needs_a_token(api: Api) -> None:
    cid = (await api.conversation())["id"]
    for spec in ROUTES:
        path = route_path(spec.path, cid)
        body = {} if spec.method in ("POST", "PUT", "PATCH") else None
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            reply = await call(api, spec.method, path, body, as_=None, headers=headers)
            if spec.public:
                assert reply.status == 200, (spec.path, reply.body)
            else:
                assert reply.status == 401, (spec.method, spec.path, reply.body)
                if spec.gateway:  # OpenAI's shape, as OpenAI answers a bad key
                    assert reply.error["code"] == "invalid_api_key"
                else:
                    assert reply.error["kind"] == "unauthorized"
                assert reply.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_revoked_token_stops_working_at_once(api: Api) -> None:
    assert (await call(api, "GET", "/api/conversations")).status == 200
    await api.server.tokens.revoke("alice")
    assert (await call(api, "GET", "/api/conversations")).status == 401


async def test_tokens_are_stored_as_digests_only(core: Core) -> None:
    tokens = core.tokens
    record, token = await tokens.create("script")
    assert len(token) >= 43 and record.name == "script"
    hashes = await core.store.run(lambda r: r.tokens.with_hashes())
    assert hashes == [(record, hashlib.sha256(token.encode()).hexdigest())]
    assert token.encode() not in core.paths.database.read_bytes()
    verified = await tokens.verify(token)
    assert verified is not None and verified.name == "script"
    assert await tokens.verify(token[:-1]) is None
    assert await tokens.verify("x" * 10_000) is None
    (listed,) = await tokens.list()
    assert listed.last_used_at is not None


async def test_each_token_sees_only_its_own_conversations(api: Api, core: Core) -> None:
    mine = (await api.conversation(title="alice's"))["id"]
    window = (await core.service.create_conversation(title="the window's")).id
    theirs = (await api.conversation(as_="bob", title="bob's"))["id"]

    listed = await call(api, "GET", "/api/conversations")
    assert [c["id"] for c in listed.body["items"]] == [mine]
    searched = await call(api, "GET", "/api/conversations?q=window")
    assert searched.body["items"] == []

    for cid in (window, theirs):
        for method, path, body in [
            ("GET", f"/api/conversations/{cid}", None),
            ("PATCH", f"/api/conversations/{cid}", {"title": "mine now"}),
            ("PUT", f"/api/conversations/{cid}/context", {"preset": [], "history": []}),
            ("POST", f"/api/conversations/{cid}/messages", {"text": "hello?"}),
            ("POST", f"/api/conversations/{cid}/stop", {}),
            ("GET", f"/api/conversations/{cid}/stream", None),
            ("POST", "/api/stream-tickets", {"conversation_id": cid}),
            ("DELETE", f"/api/conversations/{cid}", None),
        ]:
            reply = await call(api, method, path, body)
            assert reply.status == 404, (method, path, reply.body)
            assert reply.error["kind"] == "not_found"
    window_detail = await core.service.get_conversation(window)
    assert window_detail.title == "the window's" and window_detail.messages == []
    assert (await core.service.get_conversation(theirs)).title == "bob's"


# Stream tickets ----------------------------------------------------------------------------


async def test_a_stream_ticket_opens_one_stream_once(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cid = (await api.conversation())["id"]
    other = (await api.conversation())["id"]
    minted = await call(api, "POST", "/api/stream-tickets", {"conversation_id": cid})
    assert minted.status == 201 and minted.body["expires_in"] == 60
    ticket = minted.body["ticket"]
    assert ticket not in await api.token()

    async with api.stream(cid, path=minted.body["stream"]) as stream:
        await stream.comment()
    again = await call(api, "GET", minted.body["stream"], as_=None)
    assert again.status == 401 and again.error["kind"] == "bad_ticket"

    wrong = (await call(api, "POST", "/api/stream-tickets", {"conversation_id": cid})).body
    elsewhere = await call(
        api, "GET", f"/api/conversations/{other}/stream?ticket={wrong['ticket']}", as_=None
    )
    assert elsewhere.status == 401
    spent = await call(api, "GET", wrong["stream"], as_=None)
    assert spent.status == 401, "a ticket tried on the wrong stream is spent"

    fresh = (await call(api, "POST", "/api/stream-tickets", {"conversation_id": cid})).body
    for path in (
        f"/api/conversations?ticket={fresh['ticket']}",
        f"/api/conversations/{cid}?ticket={fresh['ticket']}",
    ):
        assert (await call(api, "GET", path, as_=None)).status == 401, path
    assert ticket not in caplog.text and fresh["ticket"] not in caplog.text, "a ticket was logged"
    assert "/stream" in caplog.text, "the access log should name the path"


async def test_tickets_expire_and_are_bounded() -> None:
    now = [1000.0]
    book = TicketBook(ttl=60, limit=3, clock=lambda: now[0])
    late = book.mint("token:a", "c1")
    now[0] += 61
    assert book.redeem(late, "c1") is None
    tickets = [book.mint("token:a", f"c{i}") for i in range(5)]
    assert len(book) == 3
    assert book.redeem(tickets[0], "c0") is None, "the oldest tickets give way"
    assert book.redeem(tickets[4], "c4") == "token:a"
    assert book.redeem("", "c4") is None and book.redeem("x" * 1000, "c4") is None


# Host and Origin ---------------------------------------------------------------------------


async def test_the_host_header_must_name_this_server(api: Api) -> None:
    port = api.server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        reply = await call(api, "GET", "/api/health", as_=None, headers={"Host": host})
        assert reply.status == 200, host
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}",
                 f"127.0.0.2:{port}", f"localhost.evil.example:{port}"):  # fmt: skip
        for path in ("/api/health", "/", "/api/conversations"):
            reply = await call(api, "GET", path, headers={"Host": host})
            assert reply.status == 403, (host, path)
            assert reply.error["kind"] == "bad_host"


async def test_a_foreign_origin_is_refused_before_any_work(api: Api, core: Core) -> None:
    port = api.server.port
    evil = {"Origin": "http://evil.example"}
    created = await call(api, "POST", "/api/conversations", {"title": "x"}, headers=evil)
    assert created.status == 403 and created.error["kind"] == "bad_origin"
    assert await core.service.list_conversations() == [], "the refused request did work"
    for origin in ("null", f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}"):
        reply = await call(api, "GET", "/api/conversations", headers={"Origin": origin})
        assert reply.status == 403, origin
        assert "Access-Control-Allow-Origin" not in reply.headers

    own = {"Origin": f"http://127.0.0.1:{port}"}
    same = await call(api, "POST", "/api/conversations", {"title": "ok"}, headers=own)
    assert same.status == 201
    assert "Access-Control-Allow-Origin" not in same.headers, "same-origin needs no CORS"


async def test_cors_only_for_configured_origins(api: Api, core: Core) -> None:
    allowed = {"Origin": CORS_ORIGIN}
    preflight = await call(
        api,
        "OPTIONS",
        "/api/conversations",
        as_=None,
        headers={**allowed, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )  # fmt: skip
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == CORS_ORIGIN
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    listed = await call(api, "GET", "/api/conversations", headers=allowed)
    assert listed.status == 200
    assert listed.headers["Access-Control-Allow-Origin"] == CORS_ORIGIN
    assert listed.headers["Vary"] == "Origin"
    refused = await call(
        api,
        "OPTIONS",
        "/api/conversations",
        as_=None,
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status == 403

    async with running_api(core) as plain:  # no origins configured
        plain.tokens = api.tokens
        reply = no_crash(await plain.call("GET", "/api/conversations", headers=allowed))
        assert reply.status == 403 and "Access-Control-Allow-Origin" not in reply.headers


# Bodies --------------------------------------------------------------------------------------


async def test_bodies_must_be_json(api: Api) -> None:
    cid = (await api.conversation())["id"]
    for method, path in [
        ("POST", "/api/conversations"),
        ("PATCH", f"/api/conversations/{cid}"),
        ("PUT", f"/api/conversations/{cid}/context"),
        ("POST", f"/api/conversations/{cid}/messages"),
        ("POST", f"/api/conversations/{cid}/stop"),
        ("POST", "/api/stream-tickets"),
    ]:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {"Content-Type": content_type} if content_type else {}
            reply = await call(api, method, path, data=b'{"title": "x"}', headers=headers)
            assert reply.status == 415, (method, path, content_type)
            assert reply.error["kind"] == "bad_content_type"
    charset = await call(
        api, "POST", "/api/conversations", data=b"{}",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )  # fmt: skip
    assert charset.status == 201


async def test_a_body_over_the_limit_is_refused_with_413(api: Api) -> None:
    huge = b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    headers = {"Content-Type": "application/json"}
    reply = await call(api, "POST", "/api/conversations", data=huge, headers=headers)
    assert reply.status == 413 and reply.error["kind"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit still holds
        yield b'{"title": "'
        for _ in range(48):
            yield b"y" * 65536
        yield b'"}'

    token = await api.token()
    async with api.session.post(
        api.base + "/api/conversations",
        data=chunks(),
        headers={**headers, "Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 413


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        ("POST", "/api/conversations", b"{not json", ["body"]),
        ("POST", "/api/conversations", b"\xff\xfe", ["body"]),
        ("POST", "/api/conversations", b"[1, 2]", ["body"]),
        ("POST", "/api/conversations", b'{"title": 5}', ["title"]),
        ("POST", "/api/conversations", b'{"titel": "typo"}', ["titel"]),
        ("POST", "/api/conversations", b'{"agent": "nobody"}', ["agent"]),
        ("POST", "/api/conversations", b'{"title": "' + b"t" * 201 + b'"}', ["title"]),
        ("POST", "/api/conversations",
         b'{"context": {"history": [{"role": "wizard", "content": "x"}]}}',
         ["context.history.0.role"]),
        ("POST", "/api/conversations",
         b'{"context": {"history": [{"id": 1, "role": "user", "content": "x"}]}}',
         ["context.history.0.id"]),
        ("PATCH", "/api/conversations/{id}", b'{"pinned": [1]}', ["pinned"]),
        ("PATCH", "/api/conversations/{id}", b"null", ["body"]),
        ("PUT", "/api/conversations/{id}/context", b'{"preset": "no"}', ["preset"]),
        ("POST", "/api/conversations/{id}/messages", b"{}", ["text"]),
        ("POST", "/api/conversations/{id}/messages", b'{"text": ""}', ["text"]),
        ("POST", "/api/conversations/{id}/messages", b'{"text": "   "}', ["text"]),
        ("POST", "/api/conversations/{id}/messages", b'{"text": 3}', ["text"]),
        ("POST", "/api/conversations/{id}/stop", b'{"now": true}', ["now"]),
        ("POST", "/api/stream-tickets", b"{}", ["conversation_id"]),
        ("GET", "/api/conversations?limit=abc", None, ["limit"]),
        ("GET", "/api/conversations?limit=0", None, ["limit"]),
        ("GET", "/api/conversations?limit=100000", None, ["limit"]),
        ("GET", "/api/conversations?offset=-1", None, ["offset"]),
        ("GET", "/api/conversations?limit=99999999999999999999999", None, ["limit"]),
        ("GET", "/api/conversations?q=" + "q" * 501, None, ["q"]),
        ("GET", "/api/conversations/{id}/stream?last_event_id=soon", None, ["last_event_id"]),
    ],
)  # fmt: skip
async def test_invalid_input_is_a_422_naming_the_field(
    api: Api, method: str, path: str, body: bytes | None, fields: list[str]
) -> None:
    cid = (await api.conversation())["id"]
    headers = {"Content-Type": "application/json"} if body is not None else {}
    reply = await call(api, method, path.replace("{id}", cid), data=body, headers=headers)
    assert reply.status == 422, reply.body
    assert reply.error["fields"] == fields
    assert reply.error["message"]


async def test_odd_requests_never_crash_the_server(api: Api) -> None:
    cid = (await api.conversation())["id"]
    odd = [
        ("GET", "/api/conversations/" + "z" * 5000),
        ("GET", "/api/conversations/%00"),
        ("GET", "/api/conversations/%F0%9F%8D%95"),
        ("DELETE", "/api/conversations/nope"),
        ("GET", "/api/nothing-here"),
        ("DELETE", "/api/agents"),
        ("PUT", "/api/conversations"),
        ("GET", f"/api/conversations/{cid}/stream?last_event_id=-5"),
        ("GET", f"/api/conversations/{cid}/stream?ticket=&last_event_id=1"),
    ]
    for method, path in odd:
        if method == "GET" and path.endswith(("-5", "=1")):
            continue  # streams stay open; checked below
        body = {} if method in ("PUT", "POST", "PATCH") else None
        reply = await call(api, method, path, body)
        assert reply.status in (401, 404, 405), (method, path, reply.status)
        assert "error" in reply.body
    wrong_method = await call(api, "PUT", "/api/conversations", {})
    assert wrong_method.status == 405 and "Allow" in wrong_method.headers
    async with api.stream(cid, last_event_id=-5) as stream:
        await stream.comment()
    header = await call(
        api, "GET", f"/api/conversations/{cid}/stream", headers={"Last-Event-ID": "x"}
    )
    assert header.status == 422 and header.error["fields"] == ["Last-Event-ID"]


async def test_engine_refusals_keep_their_sentence(api: Api, core: Core) -> None:
    for agent in await core.service.list_agents():
        await core.service.delete_agent(agent.agent_id)
    cid = (await api.conversation())["id"]
    reply = await call(api, "POST", f"/api/conversations/{cid}/messages", {"text": "hi"})
    assert reply.status == 409 and reply.error["kind"] == "no_agent"
    assert "No agent is set up yet" in reply.error["message"]


async def test_security_headers_on_every_answer(api: Api, core: Core) -> None:
    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)
    for path in ("/api/health", "/", "/api/conversations", "/api/nothing"):
        reply = await call(api, "GET", path)
        assert reply.headers["X-Content-Type-Options"] == "nosniff", path
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
    assert log.events == []


async def test_a_reachable_address_must_be_allowed_explicitly(core: Core) -> None:
    from desktop_chat.api import ApiServer, is_loopback

    for host in ("0.0.0.0", "192.168.1.20", "::", "example.com"):
        assert not is_loopback(host), host
        with pytest.raises(ValueError, match="allow"):
            ApiServer(core.service, host=host)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    remote = ApiServer(core.service, host="0.0.0.0", port=0, allow_remote=True)
    assert not remote.running

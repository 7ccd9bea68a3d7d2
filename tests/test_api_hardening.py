"""Defects found by attacking the local API from outside, each pinned by a test.

The server runs in the test's own event loop, as it runs in the window's: a request that
holds the loop for seconds holds the whole process, which is what the timings here catch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from desktop_chat.app import Core
from desktop_chat.engine.api_tokens import TokenService
from tests.test_api_support import Api, running_api

pytestmark = pytest.mark.asyncio

JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture
async def api(core: Core) -> AsyncIterator[Api]:
    async with running_api(core, heartbeat=0.2) as running:
        yield running


async def test_a_body_of_many_unknown_keys_is_refused_quickly(api: Api) -> None:
    body = json.dumps({f"key{i}": 1 for i in range(30_000)}).encode()
    started = time.perf_counter()
    reply = await api.call("POST", "/api/conversations", data=body, headers=JSON)
    elapsed = time.perf_counter() - started
    assert reply.status == 422, reply.body
    assert elapsed < 3.0, f"the loop was held for {elapsed:.1f} s"
    assert reply.error["fields"][:2] == ["key0", "key1"]
    assert len(reply.body and json.dumps(reply.body)) < 10_000, "the answer lists every key"
    assert "more" in reply.error["message"]


async def test_json_nested_too_deep_is_a_422(api: Api) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/api/conversations", "/api/stream-tickets"):
        reply = await api.call("POST", path, data=deep, headers=JSON)
        assert reply.status == 422, (path, reply.status, reply.body)
        assert reply.error["fields"] == ["body"]
        assert "deep" in reply.error["message"]


async def test_a_static_name_the_system_cannot_open_is_not_found(api: Api) -> None:
    for path in ("/static/a%00b", "/static/%00", "/static/app.js%00.png", "/static/" + "a" * 5000):
        reply = await api.call("GET", path, as_=None)
        assert reply.status == 404, (path, reply.status, reply.body)


async def test_revoking_a_token_ends_its_open_streams(api: Api, core: Core) -> None:
    cid = (await api.conversation())["id"]
    other = (await api.conversation(as_="bob"))["id"]
    async with api.stream(cid) as mine, api.stream(other, as_="bob") as theirs:
        await mine.comment()
        await theirs.comment()
        await api.server.tokens.revoke("alice")
        assert await mine.next(timeout=5) is None, "the revoked token's stream stayed open"
        await theirs.comment()  # another token's stream goes on


async def test_revoking_from_another_process_ends_open_streams_too(api: Api, core: Core) -> None:
    core.tokens.watch_interval = 0.1
    cid = (await api.conversation())["id"]
    async with api.stream(cid) as stream:
        await stream.comment()
        # As `desktop-chat tokens revoke` does: its own service on the same database.
        await TokenService(core.store).revoke("alice")
        assert await stream.next(timeout=5) is None


async def test_a_ticket_minted_before_a_revoke_opens_nothing(api: Api) -> None:
    cid = (await api.conversation())["id"]
    minted = await api.call("POST", "/api/stream-tickets", {"conversation_id": cid})
    assert minted.status == 201
    await api.server.tokens.revoke("alice")
    reply = await api.call("GET", minted.body["stream"], as_=None)
    assert reply.status == 401 and reply.error["kind"] == "bad_ticket"


async def test_a_line_break_in_the_url_cannot_forge_a_log_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    forged = "/api/health%0a2030-01-01 INFO desktop_chat forged%0d%0aline"
    reply = await api.call("GET", forged, as_=None)
    assert reply.status == 404
    lines = [r.getMessage() for r in caplog.records if "forged" in r.getMessage()]
    assert lines, "the request was not logged"
    for line in lines:
        assert "\n" not in line and "\r" not in line, line


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: localhost\r\nthis is not a header\r\n\r\n",
        b"GET /\x01\n HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: nope\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: localhost\r\n\r\n",
    ],
)
async def test_a_malformed_request_is_answered_and_logged_without_a_traceback(
    api: Api, caplog: pytest.LogCaptureFixture, raw: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    host, port = api.base.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(raw)
        await writer.drain()
        async with asyncio.timeout(5):
            status = await reader.readline()
            await reader.read()
    finally:
        writer.close()
    assert status.split()[1].startswith(b"4"), status
    assert (await api.call("GET", "/api/health", as_=None)).status == 200
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [(r.levelname, r.getMessage()) for r in loud]
    for record in caplog.records:
        assert "\n" not in record.getMessage(), record.getMessage()

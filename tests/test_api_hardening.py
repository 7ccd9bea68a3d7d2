"""Defects found by attacking the local API from outside, each pinned by a test.

The server runs in the test's own event loop, as it runs in the window's: a request that
holds the loop for seconds holds the whole process, which is what the timings here catch.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from desktop_chat.app import Core
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

"""Tool calls through the local API: the stream announces them, a route answers them."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from desktop_chat.app import Core
from desktop_chat.schemas import McpServer
from tests.fake_openai import FakeOpenAI, Scenario
from tests.test_api_support import Api, running_api

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parent.parent


@pytest_asyncio.fixture
async def api(core: Core) -> AsyncIterator[Api]:
    await core.tools.save_server(
        McpServer(
            name="calc", command=sys.executable, args=["-m", "tests.mcp_test_server"], cwd=str(ROOT)
        )
    )
    async with running_api(core, heartbeat=0.2) as running:
        yield running


def calls(*items: tuple[str, str]) -> Scenario:
    return Scenario(
        tokens=[],
        tool_calls=[{"id": i, "name": "calc__add", "arguments": a} for i, a in items],
    )


async def test_a_call_is_approved_over_http_and_streamed(api: Api, fake: FakeOpenAI) -> None:
    cid = (await api.conversation())["id"]
    fake.queue = [calls(("h1", '{"a": 4, "b": 5}')), Scenario(tokens=["Nine."])]
    async with api.stream(cid) as stream:
        sent = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "4+5?"})
        assert sent.status == 202, sent.body
        before = await stream.until("tool_approval")
        asked = before[-1]
        assert asked.data == {
            "call_id": "h1",
            "server": "calc",
            "tool": "add",
            "arguments": '{"a": 4, "b": 5}',
        }
        late = (await api.call("GET", f"/api/conversations/{cid}")).body["reply"]
        assert late["tool_approvals"] == [asked.data]  # a client that came late sees it
        path = f"/api/conversations/{cid}/tool-calls/h1"
        wrong = await api.call("POST", path, {"decision": "maybe"})
        assert wrong.status == 422
        other = await api.conversation(as_="mallory")
        stranger = await api.call(
            "POST", f"/api/conversations/{cid}/tool-calls/h1", {"decision": "once"}, as_="mallory"
        )
        assert stranger.status == 404 and other["id"] != cid
        answered = await api.call("POST", path, {"decision": "once"})
        assert answered.status == 200, answered.body
        events = await stream.until("done")
    again = await api.call("POST", path, {"decision": "once"})
    assert again.status == 404
    kinds = [e.type for e in [*before, *events]]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("done")
    result = next(e.data for e in events if e.type == "tool_result")
    assert result["result"] == "9" and result["is_error"] is False
    detail = (await api.call("GET", f"/api/conversations/{cid}")).body
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert detail["messages"][1]["tool_calls"][0]["id"] == "h1"
    assert detail["messages"][2]["tool_call_id"] == "h1"


async def test_a_refusal_over_http_reaches_the_model(api: Api, fake: FakeOpenAI) -> None:
    cid = (await api.conversation())["id"]
    fake.queue = [calls(("h2", '{"a": 1, "b": 1}')), Scenario(tokens=["Fine."])]
    async with api.stream(cid) as stream:
        await api.call("POST", f"/api/conversations/{cid}/messages", {"text": "1+1?"})
        await stream.until("tool_approval")
        denied = await api.call(
            "POST", f"/api/conversations/{cid}/tool-calls/h2", {"decision": "deny"}
        )
        assert denied.status == 200
        events = await stream.until("done")
    result = next(e.data for e in events if e.type == "tool_result")
    assert result["is_error"] and "did not allow" in result["result"]


async def test_the_openapi_document_names_the_route(api: Api) -> None:
    document = (await api.call("GET", "/openapi.json")).body
    operation = document["paths"]["/api/conversations/{id}/tool-calls/{call_id}"]["post"]
    assert {p["name"] for p in operation["parameters"]} == {"id", "call_id"}

"""Reply versions through the local API: regenerate, fork, choose the current path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from desktop_chat.app import Core
from tests.fake_openai import FakeOpenAI, Scenario
from tests.test_api_support import Api, running_api

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def api(core: Core) -> AsyncIterator[Api]:
    async with running_api(core, heartbeat=0.2) as running:
        yield running


async def asked(api: Api, fake: FakeOpenAI, cid: str, text: str, answer: str) -> None:
    fake.scenario = Scenario(tokens=[answer])
    async with api.stream(cid) as stream:
        sent = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": text})
        assert sent.status == 202, sent.body
        await stream.until("done")


async def test_regenerate_streams_a_new_version_and_keeps_the_old(
    api: Api, fake: FakeOpenAI
) -> None:
    cid = (await api.conversation())["id"]
    await asked(api, fake, cid, "Name a colour", "Red")
    fake.scenario = Scenario(tokens=["Green"])
    async with api.stream(cid) as stream:
        accepted = await api.call("POST", f"/api/conversations/{cid}/regenerate", {})
        assert accepted.status == 202, accepted.body
        assert accepted.body["stream"] == f"/api/conversations/{cid}/stream"
        events = await stream.until("done")
    paths = [e.data for e in events if e.type == "path"]
    assert paths, "the stream announces the new current path"
    detail = (await api.call("GET", f"/api/conversations/{cid}")).body
    assert [m["content"] for m in detail["messages"]] == ["Name a colour", "Green"]
    reply = detail["messages"][-1]
    assert len(detail["versions"][str(reply["id"])]) == 2
    assert paths[-1]["message_ids"] == [m["id"] for m in detail["messages"]]


async def test_choosing_the_current_path_and_forking_at_a_message(
    api: Api, fake: FakeOpenAI
) -> None:
    cid = (await api.conversation(title="Trip"))["id"]
    await asked(api, fake, cid, "Where to?", "Lisbon.")
    fake.scenario = Scenario(tokens=["Porto."])
    async with api.stream(cid) as stream:
        await api.call("POST", f"/api/conversations/{cid}/regenerate", {})
        await stream.until("done")
    detail = (await api.call("GET", f"/api/conversations/{cid}")).body
    first, second = detail["versions"][str(detail["messages"][-1]["id"])]

    async with api.stream(cid) as stream:
        chosen = await api.call("PUT", f"/api/conversations/{cid}/current", {"message_id": first})
        assert chosen.status == 200, chosen.body
        (event,) = await stream.until("path")
    assert [m["content"] for m in chosen.body["messages"]] == ["Where to?", "Lisbon."]
    assert event.data["current_message_id"] == first

    forked = await api.call("POST", f"/api/conversations/{cid}/fork", {"at": first})
    assert forked.status == 201, forked.body
    assert forked.body["id"] != cid and forked.body["title"].startswith("Trip")
    assert [m["content"] for m in forked.body["messages"]] == ["Where to?", "Lisbon."]
    assert second != first


async def test_another_clients_conversation_cannot_be_forked_or_switched(
    api: Api, fake: FakeOpenAI
) -> None:
    cid = (await api.conversation(as_="alice"))["id"]
    await asked(api, fake, cid, "Mine", "Yes.")
    message = (await api.call("GET", f"/api/conversations/{cid}")).body["messages"][0]["id"]
    for method, path, body in (
        ("POST", f"/api/conversations/{cid}/fork", {"at": message}),
        ("PUT", f"/api/conversations/{cid}/current", {"message_id": message}),
        ("POST", f"/api/conversations/{cid}/regenerate", {}),
    ):
        answer = await api.call(method, path, body, as_="bob")
        assert answer.status == 404, (path, answer.body)
    wrong = await api.call("PUT", f"/api/conversations/{cid}/current", {"message_id": 999_999})
    assert wrong.status == 404

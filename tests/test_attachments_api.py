"""Attachments over the local API: sent as base64, stored, fetched back by their owner only."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from desktop_chat.app import Core
from tests.attachment_files import png
from tests.fake_openai import FakeOpenAI
from tests.helpers import EventLog
from tests.test_api_support import Api, running_api

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def api(core: Core) -> AsyncIterator[Api]:
    async with running_api(core) as running:
        yield running


def _upload(name: str, data: bytes, mime: str | None = None) -> dict[str, str]:
    return {
        "name": name,
        **({"mime": mime} if mime else {}),
        "data": base64.b64encode(data).decode(),
    }


async def test_a_message_with_files_is_sent_stored_and_fetched(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    cid = (await api.conversation())["id"]
    log = EventLog(core.service, cid)
    body = {"text": "Look", "attachments": [_upload("dot.png", png()), _upload("a.md", b"# A")]}

    sent = await api.call("POST", f"/api/conversations/{cid}/messages", body)
    await log.done(cid)

    assert sent.status == 202, sent.body
    files = sent.body["message"]["attachments"]
    assert files == [
        {
            "name": "dot.png",
            "mime": "image/png",
            "kind": "image",
            "size": len(png()),
            "sha256": hashlib.sha256(png()).hexdigest(),
        },
        {
            "name": "a.md",
            "mime": "text/plain",
            "kind": "text",
            "size": 3,
            "sha256": hashlib.sha256(b"# A").hexdigest(),
        },
    ]
    content = fake.requests[-1]["body"]["messages"][-1]["content"]
    assert [p["type"] for p in content] == ["text", "image_url", "text"]
    stored = await api.call("GET", f"/api/conversations/{cid}")
    assert stored.body["messages"][0]["attachments"] == files

    path = f"/api/conversations/{cid}/files/{files[0]['sha256']}"
    async with api.session.get(
        api.base + path, headers={"Authorization": f"Bearer {await api.token()}"}
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert "dot.png" in response.headers["Content-Disposition"]
        assert await response.read() == png()
    # Another client sees neither the conversation nor its files.
    assert (await api.call("GET", path, as_="bob")).status == 404
    assert (await api.call("GET", f"{path[:-4]}0000")).status == 404


async def test_bad_uploads_are_refused_before_anything_is_sent(api: Api, fake: FakeOpenAI) -> None:
    cid = (await api.conversation())["id"]
    path = f"/api/conversations/{cid}/messages"

    not_base64 = await api.call(
        "POST", path, {"text": "x", "attachments": [{"name": "a", "data": "%%"}]}
    )
    corrupt = await api.call("POST", path, {"attachments": [_upload("cat.png", png()[:30])]})
    empty = await api.call("POST", path, {"text": " ", "attachments": []})

    assert (not_base64.status, not_base64.error["fields"]) == (422, ["attachments.0.data"])
    assert corrupt.status == 400 and "cat.png cannot be attached" in corrupt.error["message"]
    assert empty.status == 422
    assert fake.requests == []


async def test_the_gateway_never_sends_an_image_to_an_agent_without_vision(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    agent = await core.service.get_agent("Fake")
    await core.service.save_agent(agent.model_copy(update={"vision": False}))
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    body = {
        "model": "Fake",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "What?"}, image]}],
    }

    refused = await api.call("POST", "/v1/chat/completions", body)

    assert refused.status == 400, refused.body
    assert "Fake does not read images" in refused.body["error"]["message"]
    assert fake.requests == []
    # With vision, the same request goes through as the client wrote it.
    await core.service.save_agent(agent.model_copy(update={"vision": True}))
    answered = await api.call("POST", "/v1/chat/completions", body)
    assert answered.status == 200, answered.body
    assert fake.requests[-1]["body"]["messages"][-1]["content"][1] == image

"""The OpenAI-compatible gateway (/v1), driven by the real openai SDK.

The SDK talks to the local API, which talks to tests/fake_openai.py as the agent's
server: what arrives upstream (model, prompt, parameters, the app's key) and what comes
back (chunks, usage, errors in OpenAI's shape) are both checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import openai
import pytest
import pytest_asyncio

from desktop_chat.app import Core
from desktop_chat.engine.events import ConversationChanged, ReplyDelta
from desktop_chat.schemas import AgentParams, MessageStatus
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog, wait_until
from tests.test_api_support import Api, running_api

pytestmark = pytest.mark.asyncio

HI = [{"role": "user", "content": "Hi there"}]


@pytest_asyncio.fixture
async def api(core: Core) -> AsyncIterator[Api]:
    async with running_api(core) as running:
        yield running


@pytest_asyncio.fixture
async def client(api: Api) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = openai.AsyncOpenAI(
        base_url=api.base + "/v1", api_key=await api.token("editor"), max_retries=0
    )
    yield sdk
    await sdk.close()


async def upstream(fake: FakeOpenAI, count: int) -> list[dict[str, Any]]:
    """The chat requests the agent's server received, once there are `count`."""
    chats = lambda: [r for r in fake.requests if r["path"].endswith("/chat/completions")]  # noqa: E731
    assert await asyncio.to_thread(fake.wait_for, lambda: len(chats()) >= count)
    return chats()


async def settled(core: Core, count: int) -> list[Any]:
    """The usage records, once `count` requests are counted (after their answer is sent)."""
    await wait_until(lambda: not core.gateway.active, what="the requests to end")
    records = await core.service.usage.records()
    assert len(records) == count, records
    return records


# Models and chat completions --------------------------------------------------------------


async def test_models_are_the_agents_a_token_may_use(
    api: Api, core: Core, client: openai.AsyncOpenAI
) -> None:
    other = (await core.service.get_agent("Fake")).model_copy(
        update={"agent_id": "second", "name": "Second", "is_default": False, "id": None}
    )
    await core.service.save_agent(other)
    assert sorted(m.id for m in (await client.models.list()).data) == ["Fake", "Second"]

    _, secret = await core.tokens.create("limited", agents=["Second"])
    limited = openai.AsyncOpenAI(base_url=api.base + "/v1", api_key=secret, max_retries=0)
    try:
        assert [m.id for m in (await limited.models.list()).data] == ["Second"]
        with pytest.raises(openai.NotFoundError) as refused:
            await limited.chat.completions.create(model="Fake", messages=HI)  # type: ignore[arg-type]
        assert refused.value.code == "model_not_found"
    finally:
        await limited.close()


async def test_a_completion_uses_the_agents_server_key_prompt_and_parameters(
    core: Core, fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    agent = await core.service.get_agent("Fake")
    params = AgentParams(temperature=0.2, max_tokens=100, seed=7)  # type: ignore[call-arg]
    await core.service.save_agent(agent.model_copy(update={"params": params}))

    answer = await client.chat.completions.create(
        model="Fake",
        messages=HI,
        temperature=0.9,
        user="someone",  # type: ignore[arg-type]
    )
    assert answer.choices[0].message.content == "Hello, world!"
    assert answer.usage is not None and answer.usage.completion_tokens == 4

    (sent,) = await upstream(fake, 1)
    assert sent["body"] == {
        "model": "fake-model",
        "messages": [{"role": "system", "content": "You are terse."}, *HI],
        "stream": False,
        "temperature": 0.9,  # the request's, over the agent's
        "max_tokens": 100,
        "seed": 7,
        "user": "someone",
    }
    assert sent["headers"]["authorization"] == "Bearer sk-test-key-1234567890"
    (record,) = await settled(core, 1)
    assert (record.agent_id, record.model, record.status) == (
        agent.agent_id,
        "fake-model",
        MessageStatus.COMPLETE,
    )
    assert (record.prompt_tokens, record.completion_tokens, record.ttft_ms) == (5, 4, None)
    assert await core.service.list_conversations() == [], "stored without being asked to"


async def test_a_stream_passes_the_chunks_and_the_usage_chunk_through(
    core: Core, fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    stream = await client.chat.completions.create(
        model="Fake", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Hello, world!"
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4

    plain = await client.chat.completions.create(model="Fake", messages=HI, stream=True)
    assert all([chunk.choices async for chunk in plain]), "a usage chunk nobody asked for"

    first, second = await upstream(fake, 2)
    for sent in (first, second):  # asked for either way: the statistics count tokens
        assert sent["body"]["stream_options"] == {"include_usage": True}
    records = await settled(core, 2)
    assert [(r.completion_tokens, r.status) for r in records] == [
        (4, MessageStatus.COMPLETE),
        (4, MessageStatus.COMPLETE),
    ]
    assert all(r.ttft_ms is not None and r.ttft_ms > 0 for r in records)


async def test_a_token_may_keep_its_requests_as_conversations(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    _, secret = await core.tokens.create("notes", store_conversations=True)
    sdk = openai.AsyncOpenAI(base_url=api.base + "/v1", api_key=secret, max_retries=0)
    log = EventLog(core.service)
    try:
        messages: Any = [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": [{"type": "text", "text": "What is a gateway?"}]},
        ]
        stream = await sdk.chat.completions.create(model="Fake", messages=messages, stream=True)
        assert [chunk async for chunk in stream]
    finally:
        await sdk.close()
    await settled(core, 1)
    (kept,) = await core.service.list_conversations()
    detail = await core.service.get_conversation(kept.id)
    assert (detail.owner, detail.title) == ("token:notes", "What is a gateway?")
    assert [(p.role, p.content) for p in detail.preset_messages or []] == [
        ("system", "You are terse."),
        ("system", "Answer in French."),
    ]
    assert [(m.role, m.content, m.status) for m in detail.messages] == [
        ("user", "What is a gateway?", MessageStatus.COMPLETE),
        ("assistant", "Hello, world!", MessageStatus.COMPLETE),
    ]
    assert detail.messages[1].completion_tokens == 4
    (told,) = log.of(ConversationChanged)
    assert (told.conversation_id, told.conversation.message_count) == (kept.id, 2)
    stats = await core.service.usage.stats(owner="token:notes")
    assert stats.requests == 1


async def test_the_openapi_document_lists_the_gateway(api: Api) -> None:
    document = (await api.call("GET", "/openapi.json")).body
    models, completions = document["paths"]["/v1/models"], document["paths"]["/v1/chat/completions"]
    assert models["get"]["operationId"] == "list_models"
    post = completions["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ChatCompletionRequest"
    )
    assert set(post["responses"]) >= {"200", "401", "404", "422", "429", "502"}
    error = post["responses"]["429"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/OpenAIErrorResponse")


# Errors, in OpenAI's shape -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": HI}, "model"),
        ({"model": "Fake"}, "messages"),
        ({"model": "Fake", "messages": []}, "messages"),
        ({"model": "Fake", "messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        ({"model": "Fake", "messages": HI, "stream": "maybe"}, "stream"),
    ],
)
async def test_bad_input_is_a_422_naming_the_param(
    api: Api, fake: FakeOpenAI, body: dict[str, Any], param: str
) -> None:
    reply = await api.call("POST", "/v1/chat/completions", body, as_="editor")
    assert reply.status == 422, reply.body
    assert reply.error["type"] == "invalid_request_error" and reply.error["param"] == param
    assert reply.error["code"] == "invalid_input" and reply.error["message"]
    assert fake.requests == []


async def test_no_token_or_a_wrong_one_is_a_401(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer sk-not-a-token"}):
        for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
            body = {"model": "Fake", "messages": HI} if method == "POST" else None
            reply = await api.call(method, path, body, as_=None, headers=headers)
            assert reply.status == 401, (path, reply.body)
            assert reply.error["type"] == "authentication_error"
            assert reply.error["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("scenario", "error", "status", "code", "kind"),
    [
        (Scenario(status=429, retry_after=7), openai.RateLimitError, 429, "rate_limit",
         "rate_limit"),
        (Scenario(status=400), openai.BadRequestError, 400, "context_length_exceeded",
         "context_too_long"),
        (Scenario(status=404), openai.NotFoundError, 404, "not_found", "not_found"),
        (Scenario(status=500), openai.InternalServerError, 502, "server", "server"),
        (Scenario(status=401), openai.InternalServerError, 502, "auth", "auth"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_errors_come_back_with_their_status(
    core: Core,
    fake: FakeOpenAI,
    client: openai.AsyncOpenAI,
    scenario: Scenario,
    error: type[openai.APIStatusError],
    status: int,
    code: str,
    kind: str,
    stream: bool,
) -> None:
    fake.scenario = scenario
    with pytest.raises(error) as raised:
        await client.chat.completions.create(model="Fake", messages=HI, stream=stream)  # type: ignore[call-overload]
    assert raised.value.status_code == status and raised.value.code == code
    assert "sk-test-key" not in str(raised.value.body)
    if status == 429:
        assert raised.value.response.headers["Retry-After"] == "7"
    (record,) = await settled(core, 1)
    assert (record.status, record.error_kind) == (MessageStatus.FAILED, kind)


async def test_a_stream_cut_midway_ends_with_an_error_event(
    core: Core, fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.scenario = Scenario(tokens=["a", "b", "c", "d"], cut_after=2)
    stream = await client.chat.completions.create(model="Fake", messages=HI, stream=True)
    received = []
    with pytest.raises(openai.APIError, match="connection was cut"):
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert received == ["a", "b"]
    (record,) = await settled(core, 1)
    assert (record.status, record.error_kind) == (MessageStatus.FAILED, "stream_cut")


# The request's life ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_a_client_hanging_up_aborts_the_request_upstream(
    api: Api, core: Core, fake: FakeOpenAI, stream: bool
) -> None:
    fake.scenario = Scenario(tokens=["first", "never"], stall_after=1)
    headers = {"Authorization": f"Bearer {await api.token('editor')}"}
    body = {"model": "Fake", "messages": HI, "stream": stream}
    first_chunk = asyncio.Event()

    async def ask() -> None:
        url = api.base + "/v1/chat/completions"
        async with api.session.post(url, json=body, headers=headers) as response:
            assert b"first" in await response.content.readuntil(b"\n\n")
            first_chunk.set()
            await asyncio.Event().wait()  # reads no further, until hanging up

    asking = asyncio.create_task(ask())
    await upstream(fake, 1)
    if stream:
        await asyncio.wait_for(first_chunk.wait(), 10)
    await wait_until(lambda: core.gateway.requests_in_flight == 1)
    asking.cancel()  # hang up: the client's connection closes
    assert await asyncio.to_thread(fake.wait_for, lambda: fake.disconnects == 1)
    (record,) = await settled(core, 1)
    assert record.status == MessageStatus.STOPPED


async def test_a_request_cancelled_before_its_first_step_leaves_nothing_behind(
    core: Core, fake: FakeOpenAI
) -> None:
    from desktop_chat.engine.gateway import GatewayRequest

    token, _ = await core.tokens.create("quick")
    call = await core.gateway.start(token, GatewayRequest(model="Fake", messages=HI))
    call.cancel()  # the client hung up at once
    assert call.task is not None
    await asyncio.wait([call.task])
    assert core.gateway.active == [] and await call.answer() is None
    assert fake.requests == []


async def test_gateway_requests_share_the_engines_request_slots(
    api: Api, core: Core, fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    await core.service.reconfigure(replace(core.service.config, max_concurrent_requests=1))
    fake.queue = [Scenario(tokens=["held"], stall_after=1), Scenario()]
    conversation = await core.service.create_conversation()
    log = EventLog(core.service, conversation.id)
    await core.service.send(conversation.id, "Take the only slot")
    await log.wait_for(lambda: bool(log.of(ReplyDelta)))

    answer = asyncio.create_task(client.chat.completions.create(model="Fake", messages=HI))
    await wait_until(lambda: core.gateway.requests_queued == 1, what="the request to queue")
    assert len(await upstream(fake, 1)) == 1, "the gateway went past the semaphore"
    await core.service.stop(conversation.id)
    result = await asyncio.wait_for(answer, 10)
    assert result.choices[0].message.content == "Hello, world!"


async def test_revoking_the_token_ends_its_gateway_stream(
    api: Api, core: Core, fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.scenario = Scenario(tokens=["first", "never"], stall_after=1)
    stream = await client.chat.completions.create(model="Fake", messages=HI, stream=True)
    chunks = aiter(stream)
    assert (await anext(chunks)).choices[0].delta.content == "first"
    await core.tokens.revoke("editor")
    with pytest.raises(openai.APIError, match="revoked"):
        await anext(chunks)
    assert await asyncio.to_thread(fake.wait_for, lambda: fake.disconnects == 1)
    (record,) = await settled(core, 1)
    assert record.status == MessageStatus.STOPPED


async def test_stopping_the_server_ends_open_gateway_streams(core: Core, fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["first", "never"], stall_after=1)
    async with running_api(core, shutdown_timeout=30) as api:
        sdk = openai.AsyncOpenAI(
            base_url=api.base + "/v1", api_key=await api.token(), max_retries=0
        )
        try:
            stream = await sdk.chat.completions.create(model="Fake", messages=HI, stream=True)
            chunks = aiter(stream)
            await anext(chunks)
            async with asyncio.timeout(5):
                await api.server.stop()
            with pytest.raises(openai.APIError, match="shutting down"):
                await anext(chunks)
        finally:
            await sdk.close()
    (record,) = await settled(core, 1)
    assert record.status == MessageStatus.INTERRUPTED

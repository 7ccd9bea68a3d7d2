"""The streaming client against the fake server, through the real openai SDK and HTTP stack."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from desktop_chat.llm import Delta, ErrorKind, Finish, LLMError, StreamItem
from desktop_chat.llm.client import LLMClient
from desktop_chat.schemas import AgentParams, ChatMessage
from tests.fake_openai import FakeOpenAI, Scenario

pytestmark = pytest.mark.asyncio

MODEL = "fake-model"
QUESTION = [ChatMessage(role="user", content="Say hello")]
EMPTY_CHUNK = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 0,
    "model": MODEL,
    "choices": [{"index": 0, "delta": {}, "finish_reason": None}],
}


def unique_key() -> str:
    """A key no other test has shown the process-wide redactor."""
    return f"sk-test-{uuid.uuid4().hex}"


async def collect(client: LLMClient, params: AgentParams | None = None) -> list[StreamItem]:
    return [item async for item in client.stream_chat(MODEL, QUESTION, params or AgentParams())]


async def collect_until_error(client: LLMClient) -> tuple[list[StreamItem], LLMError]:
    """Everything yielded before the stream failed, and the error it failed with."""
    items: list[StreamItem] = []
    with pytest.raises(LLMError) as caught:
        async for item in client.stream_chat(MODEL, QUESTION, AgentParams()):
            items.append(item)
    return items, caught.value


def text_of(items: list[StreamItem]) -> str:
    return "".join(i.text for i in items if isinstance(i, Delta))


@pytest_asyncio.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[LLMClient]:
    opened = LLMClient(fake.base_url, "sk-fixture-key-0123456789")
    yield opened
    await opened.aclose()


# Streaming ---------------------------------------------------------------------------


async def test_streams_text_then_reasoning_then_one_finish_with_usage(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(
        tokens=["Hel", "lo", " there"], reasoning=["let me ", "think"], finish_reason="length"
    )

    items = await collect(client)

    *deltas, finish = items
    assert all(isinstance(d, Delta) for d in deltas)
    assert "".join(d.reasoning for d in deltas) == "let me think"
    assert text_of(deltas) == "Hello there"
    assert [d.text for d in deltas if d.text] == ["Hel", "lo", " there"], "deltas were merged"
    assert isinstance(finish, Finish)
    assert finish.finish_reason == "length"
    # The fake counts prompt words and answer chunks.
    assert (finish.prompt_tokens, finish.completion_tokens) == (2, 5)

    (request,) = fake.requests
    assert request["body"]["stream"] is True
    assert request["body"]["stream_options"] == {"include_usage": True}
    assert request["body"]["messages"] == [{"role": "user", "content": "Say hello"}]
    assert request["headers"]["authorization"] == "Bearer sk-fixture-key-0123456789"


async def test_finish_without_usage_still_carries_the_finish_reason(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(tokens=["ok"], usage=False)

    items = await collect(client)

    assert items[-1] == Finish(finish_reason="stop", prompt_tokens=None, completion_tokens=None)
    assert text_of(items) == "ok"


async def test_parameters_are_sent_and_unknown_ones_passed_through(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    params = AgentParams.model_validate({"temperature": 0.3, "max_tokens": 50, "seed": 7})

    await collect(client, params)

    body = fake.requests[0]["body"]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.3, 50, 7)
    assert "top_p" not in body, "unset parameters must not be sent"


async def test_a_local_server_without_key_gets_a_placeholder_not_the_environment(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-123")
    client = LLMClient(fake.base_url, None)
    try:
        await collect(client)
    finally:
        await client.aclose()
    assert fake.requests[0]["headers"]["authorization"] == "Bearer no-key-needed"


async def test_complete_returns_a_short_non_streamed_answer(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(tokens=["A ", "title"])

    assert await client.complete(MODEL, QUESTION, max_tokens=8) == "A title"
    body = fake.requests[0]["body"]
    assert body.get("stream") in (None, False) and body["max_tokens"] == 8


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"choices": []}, "empty"),
        ({"object": "chat.completion"}, "empty"),
        ({"choices": [{"message": {"content": 7}}]}, "not text"),
        ({"choices": [{"message": None}]}, "not text"),
        ({"choices": ["a title"]}, "not text"),
        ({"choices": [{"message": {"role": "assistant"}}]}, ""),
        ({"choices": [{"message": {"content": "<think>hm</think>Plain"}}]}, "Plain"),
        ([1, 2], "not text"),
    ],
)
async def test_complete_refuses_answers_of_an_unexpected_shape_in_words(
    fake: FakeOpenAI, client: LLMClient, answer: object, expected: str
) -> None:
    fake.scenario = Scenario(answer_body=answer)
    if expected in ("empty", "not text"):
        with pytest.raises(LLMError) as caught:
            await client.complete(MODEL, QUESTION)
        assert caught.value.kind is ErrorKind.MALFORMED
        assert expected in caught.value.user_message.lower()
    else:
        assert await client.complete(MODEL, QUESTION) == expected


# Errors from the server -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "kind", "words", "retryable"),
    [
        (Scenario(status=401), ErrorKind.AUTH, ["rejected the API key", "Settings"], False),
        (Scenario(status=403), ErrorKind.PERMISSION, ["no access", f"'{MODEL}'"], False),
        (Scenario(status=404), ErrorKind.NOT_FOUND, [f"'{MODEL}'", "another model"], False),
        (
            Scenario(status=429, retry_after=7),
            ErrorKind.RATE_LIMIT,
            ["rate limiting", "Try again in 7 s"],
            True,
        ),
        (
            Scenario(status=400),  # the fake's 400 is OpenAI's context_length_exceeded
            ErrorKind.CONTEXT_TOO_LONG,
            ["too long", f"'{MODEL}'", "new conversation"],
            False,
        ),
        (
            Scenario(status=422, error_message="temperature must be at most 2"),
            ErrorKind.BAD_REQUEST,
            ["refused the request", "temperature must be at most 2"],
            False,
        ),
        (Scenario(status=500), ErrorKind.SERVER, ["internal error", "HTTP 500"], True),
        (Scenario(status=503), ErrorKind.SERVER, ["internal error", "HTTP 503"], True),
    ],
    ids=lambda v: str(v.status) if isinstance(v, Scenario) else None,
)
async def test_http_errors_become_one_error_kind_with_a_helpful_sentence(
    fake: FakeOpenAI,
    client: LLMClient,
    scenario: Scenario,
    kind: ErrorKind,
    words: list[str],
    retryable: bool,
) -> None:
    fake.scenario = scenario

    items, error = await collect_until_error(client)

    assert items == []
    assert error.kind is kind
    for word in words:
        assert word in error.user_message
    assert str(error) == error.user_message
    assert error.retryable is retryable
    assert error.to_dict()["kind"] == kind.value
    assert f"HTTP {scenario.status}" in error.detail, "the log detail lost the status"
    assert len(fake.requests) == 1, "the SDK retried on its own; retries are the user's call"


async def test_rate_limit_carries_retry_after_from_the_header(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(status=429, retry_after=2.5)

    _, error = await collect_until_error(client)

    assert error.kind is ErrorKind.RATE_LIMIT
    assert error.retry_after == 2.5
    assert error.to_dict()["retry_after"] == 2.5


async def test_rate_limit_without_header_says_wait_a_moment(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(status=429)

    _, error = await collect_until_error(client)

    assert error.retry_after is None
    assert "Wait a moment" in error.user_message


async def test_unreachable_server_is_a_connection_error() -> None:
    with FakeOpenAI() as closed:
        base_url = closed.base_url  # a port that was just free and is closed again
    client = LLMClient(base_url, None, timeout=5)
    try:
        items, error = await collect_until_error(client)
    finally:
        await client.aclose()

    assert items == []
    assert error.kind is ErrorKind.CONNECTION
    assert base_url in error.user_message and "Is it running" in error.user_message
    assert error.retryable


# Errors while streaming -----------------------------------------------------------------


async def test_cut_stream_keeps_what_arrived_and_is_stream_cut(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(tokens=["one ", "two ", "three ", "four"], cut_after=2)

    items, error = await collect_until_error(client)

    assert text_of(items) == "one two "
    assert not any(isinstance(i, Finish) for i in items)
    assert error.kind is ErrorKind.STREAM_CUT
    assert "cut" in error.user_message and "partial reply was kept" in error.user_message


async def test_malformed_chunk_is_malformed_after_the_good_ones(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(tokens=["a", "b", "c", "d"], malformed_at=2)

    items, error = await collect_until_error(client)

    assert text_of(items) == "ab"
    assert error.kind is ErrorKind.MALFORMED
    assert "could not be read" in error.user_message


async def test_stalled_stream_times_out_and_keeps_what_arrived(fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["a", "b", "c", "d"], stall_after=2, stall_timeout=20)
    client = LLMClient(fake.base_url, None, timeout=0.5)
    try:
        async with asyncio.timeout(10):
            items, error = await collect_until_error(client)
    finally:
        await client.aclose()

    assert text_of(items) == "ab"
    assert error.kind is ErrorKind.TIMEOUT
    assert "timed out" in error.user_message


async def test_a_stream_that_ends_before_any_chunk_is_not_a_reply(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    """llama.cpp's server answers 200 and closes the body when the prompt is too long."""
    fake.scenario = Scenario(empty_stream=True)

    items, error = await collect_until_error(client)

    assert items == []
    assert error.kind is ErrorKind.STREAM_CUT and error.retryable
    assert error.user_message == (
        f"The server at {fake.base_url} ended the reply without sending any of it. Some "
        "servers do this when the conversation is longer than the model's context: remove "
        "older messages in the context editor or start a new conversation, then try again."
    )


@pytest.mark.parametrize(
    "line",
    [": keep-alive", ": OPENROUTER PROCESSING", "data: " + json.dumps(EMPTY_CHUNK)],
    ids=["comment", "openrouter-comment", "chunk-without-text"],
)
@pytest.mark.parametrize("after", [0, 2], ids=["before-the-first-token", "mid-reply"])
async def test_keep_alives_without_content_time_out_like_silence(
    fake: FakeOpenAI, line: str, after: int
) -> None:
    """Comments (and chunks without text) every 50 ms must not hold a reply for ever."""
    fake.scenario = Scenario(
        tokens=["a", "b", "c"], keepalive_after=after, keepalive_line=line, stall_timeout=30
    )
    client = LLMClient(fake.base_url, None, timeout=1.0)
    try:
        async with asyncio.timeout(10):
            items, error = await collect_until_error(client)
    finally:
        await client.aclose()

    assert text_of(items) == "ab"[:after]
    assert error.kind is ErrorKind.TIMEOUT
    # Only a reply that had begun has a partial text to keep.
    assert error.user_message == (
        f"The server at {fake.base_url} stopped answering (timed out). "
        "The partial reply was kept; try again."
        if after
        else f"The server at {fake.base_url} did not answer in time (timed out); try again."
    )
    assert await asyncio.to_thread(fake.wait_for, lambda: fake.open_streams == 0, 5.0)


async def test_a_slow_but_steady_stream_is_not_timed_out(fake: FakeOpenAI) -> None:
    """The timeout bounds the time between two pieces of text, not the whole reply."""
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(12)], delay=0.1)
    client = LLMClient(fake.base_url, None, timeout=0.6)
    try:
        items = await collect(client)
    finally:
        await client.aclose()
    assert text_of(items) == "".join(f"t{i} " for i in range(12))


# FastAPI-style error bodies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind", "sentence"),
    [
        (422, {"detail": [{"loc": ["body", "messages", 0, "role"], "type": "literal_error",
                           "msg": "Input should be 'system', 'user' or 'assistant'"}]},
         ErrorKind.BAD_REQUEST,
         "The server at {base} refused the request: body.messages.0.role: Input should be "
         "'system', 'user' or 'assistant'."),
        (400, {"detail": "Unsupported parameter: top_k"}, ErrorKind.BAD_REQUEST,
         "The server at {base} refused the request: Unsupported parameter: top_k."),
        (500, {"detail": "llama_decode returned -1"}, ErrorKind.SERVER,
         "The server at {base} had an internal error (HTTP 500): llama_decode returned -1. "
         "Try again shortly."),
        (503, {"error": {"message": "Model is loading.", "type": "server_error"}},
         ErrorKind.SERVER,
         "The server at {base} had an internal error (HTTP 503): Model is loading. "
         "Try again shortly."),
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", ErrorKind.SERVER,
         "The server at {base} had an internal error (HTTP 502). Try again shortly."),
        (422, {"detail": "This model's context window is 512 tokens"},
         ErrorKind.CONTEXT_TOO_LONG,
         "The conversation is too long for model 'fake-model'. Remove older messages in the "
         "context editor or start a new conversation."),
    ],
    ids=["422-validation-list", "400-detail", "500-detail", "503-openai", "502-html",
         "422-context"],
)  # fmt: skip
async def test_the_servers_own_words_are_shown_whatever_the_error_body(
    fake: FakeOpenAI,
    client: LLMClient,
    status: int,
    body: object,
    kind: ErrorKind,
    sentence: str,
) -> None:
    fake.scenario = Scenario(status=status, error_body=body)

    _, error = await collect_until_error(client)

    assert (error.kind, error.user_message) == (kind, sentence.format(base=fake.base_url))
    assert f"HTTP {status}" in error.detail


async def test_a_key_in_a_detail_body_is_masked(fake: FakeOpenAI) -> None:
    key = unique_key()
    fake.scenario = Scenario(status=500, error_body={"detail": f"bad key {key} for upstream"})
    client = LLMClient(fake.base_url, key)
    try:
        _, error = await collect_until_error(client)
    finally:
        await client.aclose()
    assert error.user_message.endswith("(HTTP 500): bad key *** for upstream. Try again shortly.")
    assert key not in error.detail


# Keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 422, 500])
async def test_the_key_never_appears_in_an_error_even_when_the_server_echoes_it(
    fake: FakeOpenAI, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    key = unique_key()
    fake.scenario = Scenario(status=status, error_message=f"Incorrect API key provided: {key}.")
    client = LLMClient(fake.base_url, key)
    try:
        with caplog.at_level(logging.DEBUG):
            _, error = await collect_until_error(client)
    finally:
        await client.aclose()

    assert fake.requests[0]["headers"]["authorization"] == f"Bearer {key}"  # it was sent
    for text in (str(error), error.user_message, error.detail, repr(error.to_dict())):
        assert key not in text
    assert "Incorrect API key provided: ***" in error.detail, "the server's words were lost"
    assert key not in caplog.text


async def test_the_key_never_appears_in_a_list_models_error(fake: FakeOpenAI) -> None:
    key = unique_key()
    fake.scenario = Scenario(status=422, error_message=f"bad key {key}")
    client = LLMClient(fake.base_url, key)
    try:
        with pytest.raises(LLMError) as caught:
            await client.list_models()
    finally:
        await client.aclose()
    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert key not in str(caught.value) and key not in caught.value.detail


# Cancellation, capability fallback, models, closing --------------------------------------


async def test_cancelling_the_consumer_closes_the_http_stream(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(500)], delay=0.02)
    received: list[StreamItem] = []
    three = asyncio.Event()

    async def consume() -> None:
        async for item in client.stream_chat(MODEL, QUESTION, AgentParams()):
            received.append(item)
            if len(received) >= 3:
                three.set()

    task = asyncio.create_task(consume())
    async with asyncio.timeout(10):
        await three.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await asyncio.to_thread(fake.wait_for, lambda: fake.disconnects >= 1, 5.0), (
        "the server kept streaming to a consumer that was gone"
    )
    assert await asyncio.to_thread(fake.wait_for, lambda: fake.open_streams == 0, 5.0)
    assert text_of(received).startswith("t0 t1 t2 ")


async def test_server_rejecting_stream_options_is_asked_again_without(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(tokens=["still ", "streams"], reject_stream_options=True)

    items = await collect(client)

    assert text_of(items) == "still streams"
    assert items[-1] == Finish(finish_reason="stop")
    first, second = fake.requests
    assert "stream_options" in first["body"]
    assert "stream_options" not in second["body"] and second["body"]["stream"] is True

    # The client remembers: the next request goes without stream_options at once.
    fake.reset()
    assert text_of(await collect(client)) == "still streams"
    (third,) = fake.requests
    assert "stream_options" not in third["body"]


async def test_other_bad_requests_are_not_retried(fake: FakeOpenAI, client: LLMClient) -> None:
    fake.scenario = Scenario(status=422, error_message="unknown field 'seed'")

    _, error = await collect_until_error(client)

    assert error.kind is ErrorKind.BAD_REQUEST
    assert len(fake.requests) == 1


async def test_list_models_is_sorted(fake: FakeOpenAI, client: LLMClient) -> None:
    fake.models = ["zeta", "alpha", "mid"]

    assert await client.list_models() == ["alpha", "mid", "zeta"]
    assert fake.requests[0]["path"] == "/v1/models"


async def test_list_models_of_a_server_that_refuses_the_key(
    fake: FakeOpenAI, client: LLMClient
) -> None:
    fake.scenario = Scenario(status=401)

    with pytest.raises(LLMError) as caught:
        await client.list_models()
    assert caught.value.kind is ErrorKind.AUTH


async def test_aclose_drops_open_streams_and_later_use_is_an_llm_error(fake: FakeOpenAI) -> None:
    fake.scenario = Scenario(tokens=["x"] * 500, delay=0.02)
    client = LLMClient(fake.base_url, None)
    stream = client.stream_chat(MODEL, QUESTION, AgentParams())
    try:
        assert isinstance(await anext(stream), Delta)

        await client.aclose()

        assert await asyncio.to_thread(fake.wait_for, lambda: fake.disconnects >= 1, 5.0)
        with pytest.raises(LLMError) as cut:
            async for _ in stream:
                pass
        assert cut.value.kind is ErrorKind.STREAM_CUT
    finally:
        await stream.aclose()

    await client.aclose()  # closing twice is harmless
    with pytest.raises(LLMError):
        await collect(client)
    with pytest.raises(LLMError):
        await client.list_models()

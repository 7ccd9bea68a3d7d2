"""Tests of the fake OpenAI server, driven through the real ``openai`` SDK.

Besides checking the fake itself, they pin down how the SDK surfaces each failure mode
(cut, malformed and stalled streams, refused connections, HTTP errors): the client's error
handling is written against exactly these exception types, so an SDK upgrade that changes
them must fail here first. Tests are sync functions running their own event loop, so they
do not depend on any pytest-asyncio mode.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from tests.fake_openai import FakeOpenAI, Scenario

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello to the world"}]
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def client_for(server: FakeOpenAI, **kwargs: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, **kwargs)


async def open_stream(client: openai.AsyncOpenAI, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"model": "fake-model", "messages": MESSAGES, **kwargs}
    return await client.chat.completions.create(stream=True, **options)


def stream_all(server: FakeOpenAI, **kwargs: Any) -> list[Any]:
    """All chunks of one streamed completion."""

    async def run() -> list[Any]:
        async with client_for(server) as client:
            return [chunk async for chunk in await open_stream(client, **kwargs)]

    return asyncio.run(run())


def stream_until_error(server: FakeOpenAI, **client_kwargs: Any) -> tuple[str, BaseException]:
    """The content received before the stream failed, and the exception it failed with."""

    async def run() -> tuple[str, BaseException]:
        received: list[str] = []
        async with client_for(server, **client_kwargs) as client:
            try:
                async for chunk in await open_stream(client):
                    received.append(chunk.choices[0].delta.content or "")
            except (openai.OpenAIError, ValueError) as exc:  # ValueError: bad JSON
                return "".join(received), exc
        raise AssertionError(f"stream ended without an error after {received!r}")

    return asyncio.run(run())


def test_streams_reasoning_then_content(server: FakeOpenAI) -> None:
    server.scenario = Scenario(reasoning=["Let me ", "think."])
    chunks = stream_all(server, model="fake-reasoner")

    deltas = [chunk.choices[0].delta for chunk in chunks]
    # ChoiceDelta declares no reasoning_content field: the SDK keeps it as a pydantic extra,
    # readable through delta.model_extra["reasoning_content"] or getattr(delta, ...).
    assert "".join((d.model_extra or {}).get("reasoning_content", "") for d in deltas) == (
        "Let me think."
    )
    assert getattr(deltas[0], "reasoning_content", None) == "Let me "
    assert getattr(deltas[2], "reasoning_content", None) is None
    assert "".join(d.content or "" for d in deltas) == "Hello, world!"
    assert deltas[0].role == "assistant"
    assert all(d.role is None for d in deltas[1:])
    assert [c.choices[0].finish_reason for c in chunks][-2:] == [None, "stop"]
    assert chunks[-1].choices[0].delta.model_dump(exclude_none=True) == {}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].id.startswith("chatcmpl-")
    assert {(c.object, c.model) for c in chunks} == {("chat.completion.chunk", "fake-reasoner")}

    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer sk-test"
    assert request["body"]["stream"] is True
    assert request["body"]["messages"] == MESSAGES


def test_usage_chunk_only_when_requested(server: FakeOpenAI) -> None:
    with_usage = stream_all(server, stream_options={"include_usage": True})
    last = with_usage[-1]
    assert last.choices == []
    assert last.usage is not None
    usage = (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens)
    assert usage == (5, 4, 9)
    assert all(chunk.usage is None and chunk.choices for chunk in with_usage[:-1])

    without = stream_all(server)
    assert all(chunk.usage is None and chunk.choices for chunk in without)

    server.scenario = Scenario(usage=False)
    disabled = stream_all(server, stream_options={"include_usage": True})
    assert all(chunk.usage is None and chunk.choices for chunk in disabled)


def test_non_streaming_completion(server: FakeOpenAI) -> None:
    async def run() -> Any:
        async with client_for(server) as client:
            return await client.chat.completions.create(model="fake-model", messages=MESSAGES)

    completion = asyncio.run(run())
    assert completion.object == "chat.completion"
    assert completion.model == "fake-model"
    assert completion.choices[0].message.content == "Hello, world!"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 9
    assert "stream" not in server.requests[0]["body"]


def test_lists_models_and_honours_errors(server: FakeOpenAI) -> None:
    server.models = ["alpha", "beta"]

    async def list_models() -> list[str]:
        async with client_for(server) as client:
            return [model.id async for model in client.models.list()]

    assert asyncio.run(list_models()) == ["alpha", "beta"]
    assert server.requests[0]["path"] == "/v1/models"

    server.scenario = Scenario(status=401)
    with pytest.raises(openai.AuthenticationError):
        asyncio.run(list_models())


def test_authentication_error(server: FakeOpenAI) -> None:
    server.scenario = Scenario(status=401)
    _, error = stream_until_error(server)

    assert isinstance(error, openai.AuthenticationError)
    assert error.status_code == 401
    assert error.code == "invalid_api_key"
    assert error.type == "invalid_request_error"
    assert "Incorrect API key" in error.message


def test_rate_limit_exposes_retry_after(server: FakeOpenAI) -> None:
    server.scenario = Scenario(status=429, retry_after=7)
    _, error = stream_until_error(server)

    assert isinstance(error, openai.RateLimitError)
    assert error.code == "rate_limit_exceeded"
    assert error.response.headers["retry-after"] == "7"


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (400, openai.BadRequestError, "context_length_exceeded"),
        (404, openai.NotFoundError, "model_not_found"),
        (500, openai.InternalServerError, "server_error"),
    ],
)
def test_error_statuses(
    server: FakeOpenAI, status: int, error_type: type[openai.APIStatusError], code: str
) -> None:
    server.scenario = Scenario(status=status, error_message=f"boom {status}")
    _, error = stream_until_error(server)

    assert type(error) is error_type
    assert error.code == code
    assert error.message.endswith(f"boom {status}")
    assert error.body == {
        "message": f"boom {status}",
        "type": "server_error" if status == 500 else "invalid_request_error",
        "param": None,
        "code": code,
    }


def test_cut_stream_raises_api_connection_error(server: FakeOpenAI) -> None:
    server.scenario = Scenario(cut_after=2)
    received, error = stream_until_error(server)

    # The body ends without its last chunk: httpx2 raises RemoteProtocolError ("incomplete
    # chunked read"), which the SDK wraps as a plain APIConnectionError, not a timeout.
    assert received == "Hello,"
    assert type(error) is openai.APIConnectionError
    assert isinstance(error.__cause__, httpx2.RemoteProtocolError)
    assert server.wait_for(lambda: server.open_streams == 0)
    assert server.disconnects == 0  # the server hung up, not the client


def test_malformed_chunk_raises_json_decode_error(server: FakeOpenAI) -> None:
    server.scenario = Scenario(malformed_at=1)
    received, error = stream_until_error(server)

    # The SDK parses each event with json.loads and does not wrap the failure: the consumer
    # gets a bare json.JSONDecodeError (a ValueError), not an openai.OpenAIError.
    assert received == "Hello"
    assert type(error) is json.JSONDecodeError
    assert not isinstance(error, openai.OpenAIError)


def test_stall_with_short_timeout_raises_api_timeout_error(server: FakeOpenAI) -> None:
    server.scenario = Scenario(stall_after=1)
    started = time.monotonic()
    received, error = stream_until_error(server, timeout=0.3)

    # The read timeout applies to each socket read, so it fires mid-stream; httpx2's
    # ReadTimeout is wrapped as APITimeoutError (a subclass of APIConnectionError).
    assert time.monotonic() - started < 5
    assert received == "Hello"
    assert type(error) is openai.APITimeoutError
    assert isinstance(error.__cause__, httpx2.ReadTimeout)
    # The client dropped the stalled connection, which the server notices while waiting.
    assert server.wait_for(lambda: server.disconnects == 1 and server.open_streams == 0)


def test_refused_connection_raises_api_connection_error() -> None:
    with FakeOpenAI() as stopped:
        base_url = stopped.base_url

    async def run() -> None:
        async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as c:
            await c.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)

    with pytest.raises(openai.APIConnectionError) as caught:
        asyncio.run(run())
    # httpx2.ConnectError, wrapped as a plain APIConnectionError.
    assert type(caught.value) is openai.APIConnectionError
    assert isinstance(caught.value.__cause__, httpx2.ConnectError)


def test_stop_is_prompt_while_a_stream_is_stalled(server: FakeOpenAI) -> None:
    server.scenario = Scenario(stall_after=1, stall_timeout=60)

    async def run() -> float:
        async with client_for(server) as client:
            stream = await open_stream(client)
            await stream.__anext__()
            assert await asyncio.to_thread(server.wait_for, lambda: server.open_streams == 1)
            started = time.monotonic()
            await asyncio.to_thread(server.stop)
            elapsed = time.monotonic() - started
            with pytest.raises(openai.APIConnectionError):
                async for _ in stream:
                    pass
            return elapsed

    assert asyncio.run(run()) < 1.0
    assert server.disconnects == 0  # stopping is not the client going away


@pytest.mark.parametrize(
    "scenario",
    [Scenario(tokens=["tok "] * 500, delay=0.01), Scenario(stall_after=2)],
    ids=["flowing", "stalled"],
)
def test_closing_stream_early_counts_a_disconnect(server: FakeOpenAI, scenario: Scenario) -> None:
    server.scenario = scenario

    async def run() -> None:
        async with client_for(server) as client:
            stream = await open_stream(client)
            await stream.__anext__()
            await stream.__anext__()
            await stream.close()

    asyncio.run(run())
    assert server.wait_for(lambda: server.disconnects == 1 and server.open_streams == 0)


def test_tracks_peak_of_concurrent_streams(server: FakeOpenAI) -> None:
    server.scenario = Scenario(delay=0.1)

    async def consume(client: openai.AsyncOpenAI) -> str:
        chunks = [chunk async for chunk in await open_stream(client)]
        return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)

    async def run() -> tuple[bool, list[str]]:
        async with client_for(server) as client:
            tasks = [asyncio.create_task(consume(client)) for _ in range(3)]
            all_open = await asyncio.to_thread(server.wait_for, lambda: server.open_streams == 3)
            return all_open, list(await asyncio.gather(*tasks))

    all_open, texts = asyncio.run(run())
    assert all_open
    assert texts == ["Hello, world!"] * 3
    assert server.max_open_streams == 3
    assert server.wait_for(lambda: server.open_streams == 0)
    assert server.disconnects == 0


def test_queue_is_consumed_before_the_default_scenario(server: FakeOpenAI) -> None:
    server.queue = [Scenario(tokens=["first"]), Scenario(status=500)]

    async def ask(client: openai.AsyncOpenAI) -> str | None:
        completion = await client.chat.completions.create(model="fake-model", messages=MESSAGES)
        return completion.choices[0].message.content

    async def run() -> None:
        async with client_for(server) as client:
            assert await ask(client) == "first"
            with pytest.raises(openai.InternalServerError):
                await ask(client)
            assert await ask(client) == "Hello, world!"

    asyncio.run(run())
    assert server.queue == []


def test_big_chunk_arrives_whole(server: FakeOpenAI) -> None:
    server.scenario = Scenario(tokens=["a"], big_chunk=2_000_000)
    chunks = stream_all(server)
    contents = [chunk.choices[0].delta.content for chunk in chunks]
    assert contents[0] == "a"
    assert contents[1] == "x" * 2_000_000


def test_reset_and_wait_for(server: FakeOpenAI) -> None:
    stream_all(server)
    assert len(server.requests) == 1
    assert server.max_open_streams == 1
    server.reset()
    assert server.requests == []
    assert server.max_open_streams == 0
    assert server.disconnects == 0
    assert not server.wait_for(lambda: False, timeout=0.05)


@pytest.mark.parametrize(
    ("file_text", "expected"),
    [('["one ", "two"]', "one two"), ("first line\nsecond line\n", "first line\nsecond line\n")],
    ids=["json", "text"],
)
def test_runs_standalone(tmp_path: Path, file_text: str, expected: str) -> None:
    tokens_file = tmp_path / "tokens.txt"
    tokens_file.write_text(file_text, encoding="utf-8")
    command = [sys.executable, "-m", "tests.fake_openai", "--port", "0", "--delay", "0.01"]
    command += ["--tokens-file", str(tokens_file)]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            assert base_url.endswith("/v1")

            async def run() -> str:
                async with openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0) as c:
                    chunks = [chunk async for chunk in await open_stream(c)]
                return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)

            assert asyncio.run(run()) == expected
        finally:
            process.terminate()
            process.wait(timeout=10)

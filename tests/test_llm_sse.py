"""The reply's SSE stream read by JsonChunks: the same values and errors as the SDK's own
reader for the same bytes, however the bytes are cut into network reads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx2
import openai
import pytest

from desktop_chat.llm.sse import JsonChunks

pytestmark = pytest.mark.asyncio

CHUNK = {"choices": [{"delta": {"content": "héllo"}, "finish_reason": None}]}
EVENT = b"data: " + json.dumps(CHUNK).encode() + b"\n\n"

BODIES = {
    "plain": EVENT * 3 + b"data: [DONE]\n\n",
    "crlf": (EVENT * 2).replace(b"\n", b"\r\n") + b"data: [DONE]\r\n\r\n",
    "cr": (EVENT * 2).replace(b"\n", b"\r") + b"data: [DONE]\r\r",
    "comments and fields": b": keep-alive\n\nevent: x\nid: 7\nretry: 10\n" + EVENT + EVENT,
    "no space after the colon": b'data:{"a": 1}\n\n',
    "data over two lines": b'data: {"a":\ndata: 2}\n\n',
    "data over two crlf lines": b'data: {"a":\r\ndata: 2}\r\n\r\n',
    "unfinished last event": EVENT + b'data: {"dropped": true}\n',
    "no [DONE]": EVENT * 2,
    "text after [DONE]": EVENT + b"data: [DONE]\n\ndata: {}\n\n",
    "an error event": EVENT + b'data: {"error": {"message": "overloaded"}}\n\n',
    "an error without words": b'data: {"error": {"code": 5}}\n\n',
    "malformed": EVENT + b"data: {not json\n\n",
    "not utf-8": EVENT + b"data: {\"a\": \"\xff\"}\n\n",
    "a value that is not an object": b"data: [1, 2]\n\ndata: 3\n\n",
    "empty": b"",
}


def _cuts(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


class _Body(httpx2.AsyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


async def _read(parts: list[bytes], stream_cls: type) -> tuple[list[object], str | None]:
    """What a stream class yields for a response made of these reads, and its error."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx2.Response(200, headers=headers, stream=_Body(parts))

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    client = openai.AsyncOpenAI(
        base_url="http://upstream.test/v1", api_key="k", max_retries=0, http_client=http
    )
    got: list[object] = []
    error = None
    try:
        stream = await client.post(
            "/chat/completions", body={}, cast_to=object, stream=True, stream_cls=stream_cls
        )
        async for value in stream:
            got.append(value)
    except (openai.APIError, ValueError) as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'message', '')} {getattr(exc, 'body', '')}"
    finally:
        await client.close()
    return got, error


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100_000])
@pytest.mark.parametrize("name", list(BODIES))
async def test_json_chunks_read_what_the_sdk_reads(name: str, size: int) -> None:
    parts = _cuts(BODIES[name], size)
    expected = await _read(parts, openai.AsyncStream[object])
    assert await _read(parts, JsonChunks) == expected


async def test_the_sdk_reader_is_not_an_easy_oracle() -> None:
    """The bodies above tell readers apart: values, their order and errors all differ."""
    got, error = await _read([BODIES["data over two lines"]], openai.AsyncStream[object])
    assert got == [{"a": 2}] and error is None
    got, error = await _read([BODIES["an error event"]], openai.AsyncStream[object])
    assert got == [CHUNK] and error is not None and "overloaded" in error
    got, _ = await _read([BODIES["text after [DONE]"]], openai.AsyncStream[object])
    assert got == [CHUNK]

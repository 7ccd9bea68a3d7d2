"""Streaming chat completions from any OpenAI-compatible server through the openai SDK."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai

from desktop_chat.llm.deadline import END, ContentDeadline
from desktop_chat.llm.errors import ErrorKind, LLMError, from_exception, unfinished
from desktop_chat.llm.sse import JsonChunks
from desktop_chat.llm.stream import Delta, Finish, Relayed, StreamItem
from desktop_chat.llm.think import ThinkSplitter, strip_think
from desktop_chat.llm.transport import AiohttpClient
from desktop_chat.redaction import redact
from desktop_chat.schemas import MAX_MESSAGE_CHARS, AgentParams, ChatMessage
from desktop_chat.sentences import N_

log = logging.getLogger(__name__)

CLOSED_MESSAGE = N_("The connection to {where} was closed; try again.")
TOO_LONG_MESSAGE = N_(
    "The reply grew longer than {limit} characters, the most one message can hold. It was "
    "cut there; the text so far was kept."
)
EMPTY_ANSWER = N_("The server sent an empty answer.")
NOT_TEXT_ANSWER = N_("The server sent an answer that is not text.")

# Local servers (Ollama, LM Studio, llama.cpp) need no key, but the SDK insists on one.
NO_KEY_PLACEHOLDER = "no-key-needed"


def _count(value: Any) -> int | None:
    """A token count as the server sent it, or None when it is not a count at all."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _read_chunk(chunk: Any, finish: Finish) -> tuple[Delta | None, Finish, bool]:
    """The delta, the finish so far, and whether this chunk ended the reply (it carried a
    finish reason, even one that is not a word); ValueError for a chunk of a bad shape.

    Chunks arrive as the JSON the server sent, unvalidated, so a server can send anything
    here: text that is a number, `choices` that is a string, a usage count that is a word.
    Such a chunk must end the reply as unreadable (its partial text kept), never reach the
    engine as a value it cannot store. Reasoning comes as `reasoning_content` (DeepSeek,
    vLLM) or `reasoning` (Ollama, OpenRouter).
    """
    try:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            finish = Finish(
                finish.finish_reason,
                _count(usage.get("prompt_tokens")),
                _count(usage.get("completion_tokens")),
            )
        choices = chunk.get("choices")
        if not choices:
            return None, finish, False
        choice = choices[0]
        reason = choice.get("finish_reason")
        if reason:
            finish = Finish(reason if isinstance(reason, str) else None, *_tokens(finish))
        delta = choice.get("delta")
        if delta is None:
            return None, finish, bool(reason)
        text = delta.get("content")
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        calls = delta.get("tool_calls")
    except (AttributeError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"a chunk of an unexpected shape: {exc}") from None
    if text is not None and not isinstance(text, str):
        raise ValueError(f"a chunk whose text is a {type(text).__name__}")
    reasoning = reasoning if isinstance(reasoning, str) else ""
    calls = tuple(c for c in calls if isinstance(c, dict)) if isinstance(calls, list) else ()
    return Delta(text=text or "", reasoning=reasoning, tool_calls=calls), finish, bool(reason)


def _mentions_stream_options(exc: openai.BadRequestError) -> bool:
    return "stream_options" in str(exc.body or exc.message).lower()


class LLMClient:
    """One connection pool to one server; create and close it on the loop that uses it."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 60.0,
        proxy: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        if api_key:
            # Servers echo rejected keys in their error text; errors and logs must mask it
            # even when the key did not come through the SecretStore.
            redact.add(api_key)
        timeouts = httpx2.Timeout(timeout, connect=min(timeout, 10.0))
        self._sdk = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or NO_KEY_PLACEHOLDER,
            timeout=timeouts,
            max_retries=0,
            http_client=AiohttpClient(proxy, timeouts),
        )
        self._usage_supported = True
        self._closed = False

    def _check_open(self) -> None:
        # A closed httpx client raises a bare RuntimeError; callers expect LLMError only.
        if self._closed:
            raise LLMError(
                ErrorKind.CONNECTION,
                CLOSED_MESSAGE.format(where=self.base_url),
                detail="LLMClient used after aclose()",
            )

    async def stream_chat(
        self,
        model: str,
        messages: list[ChatMessage],
        params: AgentParams,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Yield text and reasoning deltas, then one Finish. Raises LLMError only.

        Cancelling the consumer closes the HTTP response, so Stop really stops the server.
        `timeout` bounds the time between two pieces of content, whatever else arrives:
        the HTTP read timeout alone restarts with every byte, so a proxy sending keep-alive
        comments (or chunks without text) would hold the reply for ever. A stream that
        ends without a finish reason did not finish: it is an error, its text kept.
        """
        started = ended = False
        length = 0  # characters of text so far: a reply longer than a message can hold is cut
        deadline: ContentDeadline | None = None
        think = ThinkSplitter()  # reasoning sent inside the text, as <think>…</think>
        try:
            stream = await self._open_stream(model, messages, params, tools)
            async with stream:
                finish = Finish()
                chunks = aiter(stream)
                deadline = ContentDeadline(self.timeout)
                while (chunk := await deadline.read(chunks)) is not END:
                    item, finish, finished = _read_chunk(chunk, finish)
                    ended = ended or finished
                    if item is None or not (item.text or item.reasoning or item.tool_calls):
                        continue
                    deadline.progress()
                    started = True
                    text, reasoning = think.feed(item.text)
                    if reasoning or text != item.text:
                        item = Delta(text, item.reasoning + reasoning, item.tool_calls)
                    room = MAX_MESSAGE_CHARS - length
                    if len(item.text) > room:
                        if room or item.reasoning:
                            yield Delta(text=item.text[:room], reasoning=item.reasoning)
                        log.warning("A reply from %s was cut at its length limit", self.base_url)
                        raise LLMError(
                            ErrorKind.TOO_LONG,
                            TOO_LONG_MESSAGE.format(limit=f"{MAX_MESSAGE_CHARS:,}"),
                        )
                    length += len(item.text)
                    if item.text or item.reasoning or item.tool_calls:
                        yield item
            rest = Delta(*think.flush())
            if rest.text or rest.reasoning:
                yield rest
            if not ended:
                raise unfinished(self.base_url, started)
            yield finish
        except (
            openai.OpenAIError,
            httpx2.HTTPError,
            ValueError,
            RecursionError,
            TimeoutError,
        ) as exc:
            error = from_exception(exc, base_url=self.base_url, model=model, streaming=started)
            log.warning(
                "Chat request to %s failed: %s (%s)", self.base_url, error.kind, error.detail
            )
            raise error from None
        finally:
            if deadline is not None:
                deadline.close()

    async def relay(self, body: dict[str, Any]) -> AsyncIterator[Relayed]:
        """Stream a request written by someone else (the local gateway's clients).

        The body goes as it is, but for a request for usage (the statistics need it); the
        chunks come back as the server sent them, each with what it says. Raises LLMError
        only; cancelling the consumer closes the HTTP response.
        """
        started = False
        model = str(body.get("model", ""))
        try:
            stream = await self._open_body(body)
            async with stream:
                finish = Finish()
                async for chunk in stream:
                    if not isinstance(chunk, dict):
                        raise ValueError(f"a chunk that is a {type(chunk).__name__}")
                    delta, finish, _ = _read_chunk(chunk, finish)
                    started = True
                    yield Relayed(chunk, delta, finish)
        except (openai.OpenAIError, httpx2.HTTPError, ValueError, RecursionError) as exc:
            error = from_exception(exc, base_url=self.base_url, model=model, streaming=started)
            log.warning(
                "Relayed request to %s failed: %s (%s)", self.base_url, error.kind, error.detail
            )
            raise error from None

    async def relay_once(self, body: dict[str, Any]) -> Relayed:
        """A request written by someone else, not streamed: the answer as the server sent it."""
        self._check_open()
        model = str(body.get("model", ""))
        try:
            answer = await self._sdk.post("/chat/completions", body=body, cast_to=object)
            if not isinstance(answer, dict):
                raise ValueError(f"an answer that is a {type(answer).__name__}")
            usage = answer.get("usage")
            usage = usage if isinstance(usage, dict) else {}
            choices = answer.get("choices")
            choice = choices[0] if isinstance(choices, list) and choices else {}
            message = choice.get("message") if isinstance(choice, dict) else None
        except (openai.OpenAIError, httpx2.HTTPError, ValueError, RecursionError) as exc:
            error = from_exception(exc, base_url=self.base_url, model=model, streaming=False)
            log.warning(
                "Relayed request to %s failed: %s (%s)", self.base_url, error.kind, error.detail
            )
            raise error from None
        text = message.get("content") if isinstance(message, dict) else None
        reason = choice.get("finish_reason") if isinstance(choice, dict) else None
        finish = Finish(
            reason if isinstance(reason, str) else None,
            _count(usage.get("prompt_tokens")),
            _count(usage.get("completion_tokens")),
        )
        delta = Delta(text=text) if isinstance(text, str) else None
        return Relayed(answer, delta, finish)

    async def _open_stream(
        self,
        model: str,
        messages: list[ChatMessage],
        params: AgentParams,
        tools: list[dict[str, Any]] | None = None,
    ) -> openai.AsyncStream[Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [m.request_form() for m in messages],
            "stream": True,
            **params.request_kwargs(),
        }
        if tools:
            body["tools"] = tools
        return await self._open_body(body)

    async def _open_body(self, body: dict[str, Any]) -> openai.AsyncStream[Any]:
        """Open a stream asking for usage, or without where the server refuses the field."""
        self._check_open()
        if self._usage_supported:
            options = body.get("stream_options")
            options = {**options} if isinstance(options, dict) else {}
            try:
                return await self._post_stream(
                    {**body, "stream_options": {**options, "include_usage": True}}
                )
            except openai.BadRequestError as exc:
                if not _mentions_stream_options(exc):
                    raise
                log.info("%s does not accept stream_options; asking without", self.base_url)
                self._usage_supported = False
        return await self._post_stream({k: v for k, v in body.items() if k != "stream_options"})

    async def _post_stream(self, body: dict[str, Any]) -> openai.AsyncStream[Any]:
        """POST the request as it is and read the chunks back as plain JSON.

        The SDK's typed `chat.completions.create` walks every message against its type
        hints before sending (0.3 s for a 2,000-message conversation) and builds a model of
        every chunk (0.3 ms each, most of the cost of streaming); both run on the event
        loop, where they froze the window, and neither changes what is sent or read. The
        SDK still adds the key and maps HTTP errors and timeouts; the SSE stream is read by
        JsonChunks (llm/sse.py), the SDK's reader without its per-event objects.
        """
        return await self._sdk.post(
            "/chat/completions",
            body=body,
            cast_to=object,
            stream=True,
            stream_cls=JsonChunks,
        )

    async def complete(self, model: str, messages: list[ChatMessage], max_tokens: int = 32) -> str:
        """A short non-streamed answer (used for titles).

        Posted and read as plain JSON, as replies are: the SDK's typed `create` would load
        its chat resources (about 20 ms) and build a model of the answer, at the end of
        every `desktop-chat ask` that starts a conversation.
        """
        self._check_open()
        body = {
            "model": model,
            "messages": [m.model_dump() for m in messages],
            "max_tokens": max_tokens,
        }
        try:
            # A whole bound: bytes trickling in (keep-alive blank lines) restart the read
            # timeout, and nobody waits for a title for long.
            async with asyncio.timeout(self.timeout):
                result = await self._sdk.post("/chat/completions", body=body, cast_to=object)
        except (
            openai.OpenAIError,
            httpx2.HTTPError,
            ValueError,
            RecursionError,
            TimeoutError,
        ) as exc:
            raise from_exception(
                exc, base_url=self.base_url, model=model, streaming=False
            ) from None
        try:
            choices = result.get("choices")
            if not choices:
                raise LLMError(ErrorKind.MALFORMED, EMPTY_ANSWER)
            content = choices[0].get("message").get("content")
        except (AttributeError, TypeError, IndexError, KeyError):
            content = 0  # an answer of an unexpected shape: refused below
        if content is not None and not isinstance(content, str):
            raise LLMError(ErrorKind.MALFORMED, NOT_TEXT_ANSWER)
        return strip_think(content or "")

    async def list_models(self) -> list[str]:
        self._check_open()
        try:
            page = await self._sdk.models.list()
            return sorted(str(m.id) for m in page.data)
        except (AttributeError, TypeError) as exc:  # a list of an unexpected shape
            raise from_exception(
                ValueError(str(exc)), base_url=self.base_url, model="", streaming=False
            ) from None
        except (openai.OpenAIError, httpx2.HTTPError, ValueError, RecursionError) as exc:
            raise from_exception(exc, base_url=self.base_url, model="", streaming=False) from None

    async def aclose(self) -> None:
        self._closed = True
        await self._sdk.close()


def _tokens(finish: Finish) -> tuple[int | None, int | None]:
    return finish.prompt_tokens, finish.completion_tokens

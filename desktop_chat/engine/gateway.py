"""The OpenAI-compatible gateway: other programs use the app's agents, keys and limits.

An editor or a script speaks OpenAI's chat-completions protocol to the local API and
names an agent as the model; the agent's server, key, parameters and prompt apply, and
the key never leaves the app. This service owns each request's life: it waits for a slot
of the engine's request semaphore along with the window's replies, streams from the
agent's server, counts the request in the usage table, keeps it as a conversation when
the token says so, and can be cancelled at any point (the client went away, its token
was revoked, the app is closing), which closes the request upstream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from desktop_chat.engine.api_tokens import TokenService, owner_for
from desktop_chat.engine.attachments import NO_VISION
from desktop_chat.engine.events import ConversationChanged
from desktop_chat.engine.gateway_call import GatewayCall, GatewayError, GatewayRequest
from desktop_chat.engine.service import ConversationService
from desktop_chat.engine.titles import snippet_title
from desktop_chat.llm import ErrorKind, Finish, LLMError, Relayed
from desktop_chat.schemas import (
    MAX_MESSAGE_CHARS,
    Agent,
    ApiToken,
    ChatMessage,
    Conversation,
    Message,
    MessageStatus,
    UsageRecord,
    new_id,
)
from desktop_chat.store import NotFoundError, StoreError

log = logging.getLogger(__name__)

__all__ = ["GatewayCall", "GatewayError", "GatewayRequest", "GatewayService"]


def revoked() -> GatewayError:
    return GatewayError(401, "token_revoked", "The API token was revoked.")


def closing() -> GatewayError:
    return GatewayError(503, "closing", "desktop_chat is shutting down; try again later.")


# How an upstream failure is answered: the client's own request was fine, so the agent's
# server refusing the app's key is a failure of the gateway (502), not a 401 for the client.
_STATUS = {
    ErrorKind.RATE_LIMIT: 429,
    ErrorKind.CONTEXT_TOO_LONG: 400,
    ErrorKind.BAD_REQUEST: 400,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.TIMEOUT: 504,
}
_CODE = {ErrorKind.CONTEXT_TOO_LONG: "context_length_exceeded"}  # as OpenAI names it


def upstream_error(error: LLMError) -> GatewayError:
    return GatewayError(
        _STATUS.get(error.kind, 502),
        _CODE.get(error.kind, error.kind.value),
        error.user_message,
        error.retry_after,
    )


class GatewayService:
    def __init__(self, service: ConversationService, tokens: TokenService) -> None:
        self._service = service
        self._tokens = tokens
        self._calls: dict[str, GatewayCall] = {}
        self._closing = False
        # Requests counted so far: lets the live view see the ones that came and went
        # between two of its looks (a refused key fails in milliseconds).
        self.ended = 0

    @property
    def active(self) -> list[GatewayCall]:
        """Requests in flight, oldest first (the live view reads them once a second)."""
        return list(self._calls.values())

    @property
    def requests_in_flight(self) -> int:
        return sum(1 for call in self._calls.values() if not call.queued)

    @property
    def requests_queued(self) -> int:
        return sum(1 for call in self._calls.values() if call.queued)

    async def models(self, token: ApiToken) -> list[Agent]:
        """The agents `token` may use, by name."""
        return [a for a in await self._service.list_agents() if token.may_use(a.agent_id)]

    async def start(self, token: ApiToken, request: GatewayRequest) -> GatewayCall:
        """Start a request; its answer and chunks come through the returned call.

        An agent the token may not use is as unknown as one that does not exist: 404.
        """
        if self._closing:
            raise closing()
        try:
            agent = await self._service.get_agent(request.model)
        except NotFoundError:
            agent = None
        if agent is None or not token.may_use(agent.agent_id):
            raise GatewayError(
                404,
                "model_not_found",
                f"There is no model {request.model!r} for this token: the models are the "
                "names of the agents it may use (GET /v1/models lists them).",
            )
        if not agent.vision and _carries_image(request.messages):
            raise GatewayError(400, "vision_unsupported", NO_VISION.format(agent=agent.name))
        call = GatewayCall(new_id(), token.name, agent, request)
        self._calls[call.id] = call
        release = self._tokens.hold(token.name, lambda: call.cancel(revoked()))
        call.task = asyncio.get_running_loop().create_task(
            self._run(call, token.store_conversations), name=f"gateway-{call.id}"
        )
        call.task.add_done_callback(lambda task: self._finished(call, task, release))
        return call

    def _finished(
        self, call: GatewayCall, task: asyncio.Task[None], release: Callable[[], None]
    ) -> None:
        release()
        if task.cancelled():  # before its first step: it never asked anything of anyone
            call.end(call.cancel_reason)
            self._calls.pop(call.id, None)

    def cancel_all(self) -> None:
        """End every request (the server or the app is stopping)."""
        for call in list(self._calls.values()):
            call.cancel(closing())

    async def aclose(self) -> None:
        """Refuse new requests, end those in flight and wait until they are counted."""
        self._closing = True
        tasks = [c.task for c in self._calls.values() if c.task is not None]
        self.cancel_all()
        if tasks:
            await asyncio.wait(tasks)

    async def _run(self, call: GatewayCall, keep: bool) -> None:
        status, error, failure = MessageStatus.COMPLETE, None, None
        finish = Finish()
        text: list[str] = []
        try:
            async with self._service.upstream.slots:
                call.queued = False
                call.started = time.monotonic()
                client = await self._service.client_for(call.agent)
                if call.request.stream:
                    async for item in client.relay(self._body(call)):
                        finish = item.finish
                        _note(call, item, text)
                        if call.request.include_usage or not _usage_only(item):
                            await call.put(item.data)
                else:
                    item = await client.relay_once(self._body(call))
                    finish = item.finish
                    _note(call, item, text)
                    call.answered(item.data)
        except asyncio.CancelledError:
            failure = call.cancel_reason
            shutdown = failure is not None and failure.kind == "closing"
            status = MessageStatus.INTERRUPTED if shutdown else MessageStatus.STOPPED
        except LLMError as exc:
            status, error, failure = MessageStatus.FAILED, exc, upstream_error(exc)
        except Exception:
            log.exception("A gateway request to %s failed unexpectedly", call.agent.name)
            status, failure = (
                MessageStatus.FAILED,
                GatewayError(
                    500, "internal_error", "Something went wrong; the details are in the log."
                ),
            )
        finally:
            call.end(failure)  # the client has its answer; counting it may take a moment
        try:
            await self._record(call, status, finish, error, "".join(text), keep)
        finally:
            self._calls.pop(call.id, None)  # gone from the live view once it is counted
            self.ended += 1

    def _body(self, call: GatewayCall) -> dict[str, object]:
        """The agent's parameters, overridden by the request's; the agent's prompt first."""
        agent, request = call.agent, call.request
        preset = [m.model_dump() for m in agent.preset_messages]
        return {
            **agent.params.request_kwargs(),
            **request.params,
            "model": agent.model,
            "messages": [*preset, *request.messages],
            "stream": request.stream,
        }

    async def _record(
        self,
        call: GatewayCall,
        status: MessageStatus,
        finish: Finish,
        error: LLMError | None,
        text: str,
        keep: bool,
    ) -> None:
        """Count the request in the usage table; keep it as a conversation if asked to."""
        first = call.first_token if call.request.stream else None  # a whole answer has none
        ttft = (first - call.started) * 1000 if first is not None else None
        duration = (time.monotonic() - call.started) * 1000
        usage = UsageRecord(
            conversation_id=call.id,
            agent_id=call.agent.agent_id,
            model=call.agent.model,
            status=status,
            prompt_tokens=finish.prompt_tokens,
            completion_tokens=finish.completion_tokens,
            ttft_ms=ttft,
            duration_ms=duration,
            error_kind=error.kind.value if error else None,
        )
        kept = _conversation(call) if keep else None
        try:
            if kept is None:
                await self._service.store.run(lambda r: r.usage.record(usage))
                return
            conversation, messages = kept
            reply = Message(
                role="assistant",
                content=text[:MAX_MESSAGE_CHARS],
                status=status,
                error=error.user_message if error else None,
                prompt_tokens=finish.prompt_tokens,
                completion_tokens=finish.completion_tokens,
                model=call.agent.model,
                finish_reason=finish.finish_reason,
                ttft_ms=ttft,
                duration_ms=duration,
            )
            messages.append(reply)
            await self._service.store.run(
                lambda r: (
                    r.conversations.import_many([(conversation, messages, None)]),
                    r.usage.record(usage),
                )
            )
        except StoreError as exc:
            log.error("Could not record a gateway request to %s: %s", call.agent.name, exc.kind)
            return
        summary = conversation.model_copy(update={"message_count": len(messages)})
        self._service.bus.publish(
            ConversationChanged(conversation_id=conversation.id, conversation=summary)
        )


def _note(call: GatewayCall, item: Relayed, text: list[str]) -> None:
    """Follow what the answer says: its first token, its length, its text."""
    delta = item.delta
    if delta is None or not (delta.text or delta.reasoning):
        return
    if call.first_token is None:
        call.first_token = time.monotonic()
    call.tokens += 1
    text.append(delta.text)


def _usage_only(item: Relayed) -> bool:
    """The last chunk of a stream asked with include_usage: no choices, just the usage."""
    return not item.data.get("choices") and item.data.get("usage") is not None


def _carries_image(messages: list[dict[str, Any]]) -> bool:
    """Whether a client's messages hold an image part (never sent to a model without
    vision, whoever asks)."""
    return any(
        isinstance(part, dict) and part.get("type") in ("image_url", "input_image")
        for message in messages
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for part in message["content"]
    )


def _text(content: object) -> str | None:
    """A message's text: a string, or the text parts of a list; None for anything else."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return None


def _conversation(call: GatewayCall) -> tuple[Conversation, list[Message]]:
    """The request as a conversation of its token's client: prompts, then the history."""
    preset = list(call.agent.preset_messages)
    history: list[Message] = []
    for raw in call.request.messages:
        role, content = raw.get("role"), _text(raw.get("content"))
        if content is None or not content.strip():
            continue
        content = content[:MAX_MESSAGE_CHARS]
        if role in ("system", "developer"):
            preset.append(ChatMessage(role="system", content=content))
        elif role in ("user", "assistant"):
            history.append(Message(role=role, content=content))
    first = next((m.content for m in history if m.role == "user"), "")
    conversation = Conversation(
        id=call.id,
        agent_id=call.agent.agent_id,
        title=snippet_title(first),
        owner=owner_for(call.token),
        preset_messages=preset,
    )
    return conversation, history

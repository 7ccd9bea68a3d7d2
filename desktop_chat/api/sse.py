"""`GET /api/conversations/{id}/stream`: a conversation's events as Server-Sent Events.

Each event is ``id: <seq>`` and ``data: {"type": ..., "data": {...}}``, the same events the
window receives from the engine's bus. A client that reconnects with ``Last-Event-ID``
(or ``?last_event_id=``, for a page that opens a fresh EventSource with a fresh ticket)
first gets what it missed:

* while a reply is in flight, its events after that id, replayed from ``ReplyState.events``;
* when the last reply ended after that id, its stored final message as one ``message``
  event, so the client ends with exactly the text of a client that never dropped.

The stream joins the conversation's fan-out (fanout.py) before the replay is computed, in
the same step of the event loop, and live events the replay already covered are dropped
by sequence number, so nothing falls into the gap between the two. A client going away
never touches the reply: it only leaves the fan-out. A client too slow to keep up is
disconnected (and may reconnect with its Last-Event-ID) rather than queue without limit.
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter

from desktop_chat.api.context import ApiContext, context_of
from desktop_chat.api.errors import ApiError
from desktop_chat.api.events import encode
from desktop_chat.api.fanout import Subscriber
from desktop_chat.api.finals import FinalRecord
from desktop_chat.engine.api_tokens import token_of
from desktop_chat.engine.events import EngineEvent, MessageStored
from desktop_chat.schemas import Message
from desktop_chat.store import StoreError

log = logging.getLogger(__name__)

RETRY_MS = 2000
HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # proxies (nginx) must not hold events back
}


def _last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID")
    name = "Last-Event-ID"
    if raw is None:
        raw, name = request.query.get("last_event_id"), "last_event_id"
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise ApiError(422, f"{name}: must be an event id", "invalid_input", [name]) from None


async def _stored_message(
    ctx: ApiContext, conversation_id: str, message_id: int | None
) -> Message | None:
    """The stored reply `message_id`, or the conversation's last reply when it is unknown.

    None when there is none, or the conversation went away meanwhile: the stream has
    started by now, so there is no status code left to answer with.
    """
    try:
        detail = await ctx.service.get_conversation(conversation_id)
    except StoreError as exc:
        log.info("No stored reply to resend in %s (%s)", conversation_id, exc.kind)
        return None
    replies = [m for m in detail.messages if m.role == "assistant"]
    if message_id is None:
        return replies[-1] if replies else None
    return next((m for m in replies if m.id == message_id), None)


async def stream_handler(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    conversation_id = request.match_info["id"]
    last_id = _last_event_id(request)
    await ctx.service.conversation_summary(conversation_id, owner)  # 404 for anyone else's
    if ctx.closing:
        raise ApiError(503, "The server is stopping.", "closing")

    subscriber = Subscriber(conversation_id, ctx.queue_size, request.transport)
    # From here to the replay list, no await: no event can slip between the two.
    leave = ctx.hub.join(subscriber)
    release = ctx.tokens.hold(token_of(owner), subscriber.end)  # a revoke ends the stream
    try:
        state = ctx.service.in_flight(conversation_id)
        replay = list(state.events) if state is not None else []
        backlog = [e for e in replay if last_id is None or e.seq > last_id]
        final: FinalRecord | None = None
        send_final = False
        if last_id is not None:
            final = ctx.finals.get(conversation_id)
            # Unknown (the reply ended before this server started): send the last one again.
            send_final = final.seq > last_id if final is not None else state is None

        response = web.StreamResponse(status=200, headers=HEADERS)
        writer = await response.prepare(request)
        assert writer is not None
        chunks = [f"retry: {RETRY_MS}\n\n".encode()]
        seen = last_id or 0
        if send_final:
            message_id = final.message_id if final is not None else None
            message = await _stored_message(ctx, conversation_id, message_id)
            if message is not None:
                seq = final.seq if final is not None else seen
                final_event = MessageStored(conversation_id=conversation_id, message=message)
                final_event.seq = seq
                chunks.append(_encoded(final_event))
                seen = max(seen, seq)
        for event in backlog:
            chunks.append(_encoded(event))
            seen = max(seen, event.seq)
        await response.write(b"".join(chunks))
        subscriber.start(response.headers.get(hdrs.TRANSFER_ENCODING) == "chunked", seen)
        await _follow(subscriber, writer)
    except ConnectionResetError:
        log.debug("An SSE client of %s went away", conversation_id)
    finally:
        release()
        leave()
    return response


def _encoded(event: EngineEvent) -> bytes:
    payload = encode(event)
    assert payload is not None, "only streamed events are replayed"
    return payload


async def _follow(subscriber: Subscriber, writer: AbstractStreamWriter) -> None:
    """Until the stream ends, write what the subscriber queued once the socket has room."""
    while True:
        subscriber.wake.clear()
        if subscriber.dropped:
            return
        if subscriber.queued:
            await writer.drain()
            subscriber.flush()
            continue
        if subscriber.ended:
            return
        await subscriber.wake.wait()

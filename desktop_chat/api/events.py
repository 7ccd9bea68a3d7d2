"""The engine's events in the API's wire format: the one place that names them.

Each streamed event is ``id: <seq>`` and ``data: {"type": ..., "data": {...}}`` (see
docs/api.md). Only what a client of one conversation needs is streamed; conversation
changes and deletions are the window's business (a deletion ends the stream instead).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from desktop_chat.engine.events import (
    EngineEvent,
    MessageStored,
    PathChanged,
    ReplyDelta,
    ReplyDone,
    ReplyFailed,
    TitleChanged,
    ToolApprovalRequested,
    ToolCallFinished,
    ToolCallStarted,
)


def _message(event: MessageStored) -> dict[str, Any]:
    return event.message.model_dump(mode="json")


def _delta(event: ReplyDelta) -> dict[str, Any]:
    return {"text": event.text, "reasoning": event.reasoning}


def _done(event: ReplyDone) -> dict[str, Any]:
    return {
        "status": event.status.value,
        "message_id": event.message_id,
        "finish_reason": event.finish_reason,
        "prompt_tokens": event.prompt_tokens,
        "completion_tokens": event.completion_tokens,
        "ttft_ms": event.ttft_ms,
        "duration_ms": event.duration_ms,
    }


def _error(event: ReplyFailed) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "message": event.message,
        "retryable": event.retryable,
        "retry_after": event.retry_after,
    }


def _title(event: TitleChanged) -> dict[str, Any]:
    return {"title": event.title}


def _path(event: PathChanged) -> dict[str, Any]:
    """The new current path as ids; a client reads the messages it lacks with a GET."""
    detail = event.conversation
    return {
        "current_message_id": detail.current_message_id,
        "message_ids": [m.id for m in detail.messages],
        "versions": {str(k): v for k, v in detail.versions.items()},
    }


def _tool_call(event: ToolCallStarted | ToolApprovalRequested) -> dict[str, Any]:
    return {
        "call_id": event.call_id,
        "server": event.server,
        "tool": event.tool,
        "arguments": event.arguments,
    }


def _tool_result(event: ToolCallFinished) -> dict[str, Any]:
    return {
        "call_id": event.call_id,
        "server": event.server,
        "tool": event.tool,
        "result": event.result,
        "is_error": event.is_error,
        "duration_ms": event.duration_ms,
        "message_id": event.message_id,
    }


# The event's class -> its name on the wire and its data.
STREAMED: dict[type[EngineEvent], tuple[str, Callable[[Any], dict[str, Any]]]] = {
    MessageStored: ("message", _message),
    ReplyDelta: ("delta", _delta),
    ReplyDone: ("done", _done),
    ReplyFailed: ("error", _error),
    TitleChanged: ("title", _title),
    PathChanged: ("path", _path),
    ToolCallStarted: ("tool_call", _tool_call),
    ToolApprovalRequested: ("tool_approval", _tool_call),
    ToolCallFinished: ("tool_result", _tool_result),
}

STREAM_EVENT_NAMES = tuple(name for name, _ in STREAMED.values())


def encode(event: EngineEvent) -> bytes | None:
    """The event as one SSE event, or None when it is not streamed to clients.

    JSON escapes newlines, so the data always fits on one line.
    """
    wire = STREAMED.get(type(event))
    if wire is None:
        return None
    name, data = wire
    payload = json.dumps({"type": name, "data": data(event)}, ensure_ascii=False)
    return f"id: {event.seq}\ndata: {payload}\n\n".encode()

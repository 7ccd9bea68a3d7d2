"""Rows to schemas and back, in one place, so no other module sees peewee objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from desktop_chat.schemas import (
    Agent,
    AgentParams,
    AppPreset,
    ChatMessage,
    Conversation,
    Message,
    MessageStatus,
    ToolCall,
)
from desktop_chat.store.models import AgentRow, ConversationRow, MessageRow


def to_db_time(value: datetime) -> datetime:
    """SQLite has no time zones: store naive UTC and re-attach UTC on the way out."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def from_db_time(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def dump_messages(messages: list[ChatMessage] | None) -> str | None:
    if messages is None:
        return None
    return json.dumps([m.model_dump() for m in messages], ensure_ascii=False)


def load_messages(raw: str | None) -> list[ChatMessage] | None:
    if raw is None:
        return None
    return [ChatMessage.model_validate(m) for m in json.loads(raw)]


def agent_from_row(row: AgentRow) -> Agent:
    return Agent(
        id=row.id,
        agent_id=row.agent_id,
        name=row.name,
        provider=row.provider,
        base_url=row.base_url,
        model=row.model,
        params=AgentParams.model_validate(json.loads(row.params)),
        preset_messages=load_messages(row.preset_messages) or [],
        app_preset=AppPreset.model_validate(json.loads(row.app_preset)),
        key_ref=row.key_ref,
        is_default=bool(row.is_default),
        vision=bool(row.vision),
        created_at=from_db_time(row.created_at),
        updated_at=from_db_time(row.updated_at),
        tools=json.loads(row.tools) if row.tools else "all",
    )


def agent_to_fields(agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "provider": agent.provider,
        "base_url": agent.base_url,
        "model": agent.model,
        "params": agent.params.model_dump_json(exclude_none=True),
        "preset_messages": dump_messages(agent.preset_messages),
        "app_preset": agent.app_preset.model_dump_json(),
        "key_ref": agent.key_ref,
        "is_default": agent.is_default,
        "vision": agent.vision,
        "created_at": to_db_time(agent.created_at),
        "updated_at": to_db_time(agent.updated_at),
        "tools": json.dumps(agent.tools),
    }


def conversation_from_row(
    row: ConversationRow, agent_id: str | None, message_count: int
) -> Conversation:
    return Conversation(
        id=row.session_id,
        agent_id=agent_id,
        title=row.title,
        owner=row.owner,
        pinned=bool(row.pinned),
        preset_messages=load_messages(row.preset_messages),
        draft=row.draft,
        message_count=message_count,
        created_at=from_db_time(row.created_at),
        updated_at=from_db_time(row.updated_at),
    )


def conversation_from_tuple(row: tuple[Any, ...]) -> Conversation:
    """A list row (see Conversations.list) to a Conversation, without validation."""
    session_id, agent_id, title, owner, pinned, presets, draft, created, updated, count = row
    return Conversation.model_construct(
        id=session_id,
        agent_id=agent_id,
        title=title,
        owner=owner,
        pinned=bool(pinned),
        preset_messages=load_messages(presets),
        draft=draft,
        message_count=count,
        created_at=from_db_time(created),
        updated_at=from_db_time(updated),
    )


def message_from_row(row: MessageRow, session_id: str) -> Message:
    return Message(
        id=row.id,
        conversation_id=session_id,
        parent_id=row.parent,
        role=row.role,
        content=row.content,
        reasoning=row.reasoning,
        status=MessageStatus(row.status),
        error=row.error,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        model=row.model,
        finish_reason=row.finish_reason,
        ttft_ms=row.ttft_ms,
        duration_ms=row.duration_ms,
        created_at=from_db_time(row.created_at),
        tool_calls=load_tool_calls(row.tool_calls),
        tool_call_id=row.tool_call_id,
    )


# The columns `message_from_tuple` reads, in its order.
MESSAGE_COLUMNS = (
    "id, parent_id, role, content, reasoning, status, error, prompt_tokens,"
    " completion_tokens, model, finish_reason, ttft_ms, duration_ms, created_at,"
    " tool_calls, tool_call_id"
)


def message_from_tuple(row: tuple[Any, ...], session_id: str) -> Message:
    """A row of MESSAGE_COLUMNS to a Message, without validation.

    Opening a conversation reads thousands of them; rows this store wrote need no second
    check, and peewee's model objects cost twice the query itself.
    """
    (
        message_id,
        parent_id,
        role,
        content,
        reasoning,
        status,
        error,
        prompt_tokens,
        completion_tokens,
        model,
        finish_reason,
        ttft_ms,
        duration_ms,
        created_at,
        tool_calls,
        tool_call_id,
    ) = row
    return Message.model_construct(
        id=message_id,
        conversation_id=session_id,
        parent_id=parent_id,
        role=role,
        content=content,
        reasoning=reasoning,
        status=MessageStatus(status),
        error=error,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        model=model,
        finish_reason=finish_reason,
        ttft_ms=ttft_ms,
        duration_ms=duration_ms,
        created_at=from_db_time(created_at),
        tool_calls=load_tool_calls(tool_calls),
        tool_call_id=tool_call_id,
        # Given, not left to its default: pydantic finds out whether a default factory
        # takes arguments by reading `list`'s signature, 0.1 ms on every message.
        attachments=[],
    )


def load_tool_calls(raw: str | None) -> list[ToolCall] | None:
    """An assistant's calls of tools from their JSON column (None: it called none)."""
    if not raw:
        return None
    return [ToolCall.model_validate(c) for c in json.loads(raw)]


def message_to_fields(message: Message) -> dict[str, Any]:
    return {
        "parent": message.parent_id,
        "role": message.role,
        "content": message.content,
        "reasoning": message.reasoning,
        "status": message.status.value,
        "error": message.error,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "model": message.model,
        "finish_reason": message.finish_reason,
        "ttft_ms": message.ttft_ms,
        "duration_ms": message.duration_ms,
        "created_at": to_db_time(message.created_at),
        "tool_calls": (
            json.dumps([c.model_dump() for c in message.tool_calls], ensure_ascii=False)
            if message.tool_calls
            else None
        ),
        "tool_call_id": message.tool_call_id,
    }

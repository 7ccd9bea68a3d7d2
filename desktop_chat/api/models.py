"""The shapes of the API's request and response bodies.

Requests forbid unknown fields, so a misspelt field is a 422 naming it rather than a
silently ignored value. The OpenAPI document is generated from these same models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from desktop_chat.api.events import STREAM_EVENT_NAMES
from desktop_chat.schemas import (
    MAX_MESSAGE_CHARS,
    Agent,
    AgentParams,
    AppPreset,
    ChatMessage,
    Context,
    Conversation,
    ConversationDetail,
    Message,
)


class ErrorDetail(BaseModel):
    message: str = Field(description="A sentence to show as it is.")
    kind: str = Field(description="A stable word a program can test, e.g. `not_found`.")
    fields: list[str] = Field(
        default_factory=list, description="The request fields at fault (422 only)."
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


class CreateConversationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str | None = Field(
        default=None,
        max_length=200,
        description="The agent's agent_id or name; the default agent when left out.",
    )
    title: str = Field(default="", max_length=200)
    context: Context | None = Field(
        default=None,
        description="Preset messages and history to start from, instead of the agent's prompt.",
    )


class UpdateConversationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=200)
    pinned: bool | None = None


class EmptyRequest(BaseModel):
    """A body with nothing in it: `{}` (or no body at all, where the route allows)."""

    model_config = ConfigDict(extra="forbid")


class AttachmentUpload(BaseModel):
    """A file sent with a message: its name, its type, and its bytes in base64."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    mime: str | None = Field(default=None, max_length=100, description="e.g. image/png")
    data: str = Field(min_length=1, description="The file's bytes, base64-encoded.")


class SendMessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Before `text`: a message of files alone may leave the text empty.
    attachments: list[AttachmentUpload] = Field(
        default_factory=list,
        max_length=100,
        description="Images (PNG, JPEG, WebP, GIF), text files and PDFs; the whole body "
        "stays within the API's body limit.",
    )
    text: str = Field(default="", max_length=MAX_MESSAGE_CHARS, validate_default=True)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip() and not info.data.get("attachments"):
            raise ValueError("must not be blank")
        return value


class StreamTicketRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=64)


class WaitingToolCall(BaseModel):
    call_id: str
    server: str
    tool: str
    arguments: str


class ReplySnapshot(BaseModel):
    """The reply being written, as far as it has come."""

    content: str
    reasoning: str
    queued: bool = Field(description="True while the reply waits for a free request slot.")
    model: str
    last_seq: int | None = Field(description="The id of the last event of this reply so far.")
    tool_approvals: list[WaitingToolCall] = Field(
        default_factory=list,
        description="Its tool calls waiting for a decision (answer them at "
        "POST /api/conversations/{id}/tool-calls/{call_id}).",
    )


class ConversationView(ConversationDetail):
    reply: ReplySnapshot | None = Field(
        default=None, description="The reply in flight, if one is being written."
    )


class ConversationPage(BaseModel):
    items: list[Conversation]
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


class AgentInfo(BaseModel):
    """An agent as the API shows it: never a key, nor the name of its keyring entry."""

    agent_id: str
    name: str
    provider: str
    base_url: str
    model: str
    params: AgentParams
    preset_messages: list[ChatMessage]
    app_preset: AppPreset
    is_default: bool
    has_key: bool
    vision: bool = Field(description="Whether images may be sent to it.")

    @classmethod
    def of(cls, agent: Agent, has_key: bool) -> AgentInfo:
        return cls(
            agent_id=agent.agent_id,
            name=agent.name,
            provider=agent.provider,
            base_url=agent.base_url,
            model=agent.model,
            params=agent.params,
            preset_messages=agent.preset_messages,
            app_preset=agent.app_preset,
            is_default=agent.is_default,
            has_key=has_key,
            vision=agent.vision,
        )


class AgentList(BaseModel):
    items: list[AgentInfo]


class SendAccepted(BaseModel):
    message: Message = Field(description="The stored user message.")
    stream: str = Field(description="Where the reply streams (needs a token or a ticket).")


class StopResult(BaseModel):
    stopped: bool = Field(description="False when no reply was in flight.")


class StreamTicket(BaseModel):
    ticket: str
    expires_in: int = Field(description="Seconds; a ticket opens one stream, once.")
    stream: str = Field(description="The stream's URL with the ticket, ready for EventSource.")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


StreamEventType = Literal[STREAM_EVENT_NAMES]  # type: ignore[valid-type]


class StreamEvent(BaseModel):
    """The `data:` of one SSE event; its `id:` is the event's sequence number."""

    type: StreamEventType
    data: dict[str, Any]


# The OpenAI-compatible gateway (/v1) -------------------------------------------------


class GatewayMessage(BaseModel):
    """One message of a chat-completions request; other fields (name, tool_calls, ...)
    are passed on as they are."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = Field(
        default=False, description="End the stream with a chunk carrying the token usage."
    )


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions request. Fields not named here (temperature, max_tokens,
    tools, response_format, ...) go to the agent's server as they are, over the agent's
    own parameters."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(
        min_length=1, max_length=200, description="An agent's name (see GET /v1/models)."
    )
    messages: list[GatewayMessage] = Field(
        min_length=1, description="After the agent's prompt, which is sent first."
    )
    stream: bool = False
    stream_options: StreamOptions | None = None


class ModelCard(BaseModel):
    id: str = Field(description="The agent's name: the `model` of a chat-completions request.")
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "desktop_chat"

    @classmethod
    def of(cls, agent: Agent) -> ModelCard:
        return cls(id=agent.name, created=int(agent.created_at.timestamp()))


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorDetail(BaseModel):
    message: str = Field(description="A sentence to show as it is.")
    type: str = Field(description="e.g. `invalid_request_error`, `rate_limit_error`.")
    param: str | None = Field(default=None, description="The request field at fault.")
    code: str | None = Field(default=None, description="e.g. `model_not_found`.")


class OpenAIErrorResponse(BaseModel):
    """Errors of the /v1 routes, in OpenAI's shape."""

    error: OpenAIErrorDetail


# Versions ------------------------------------------------------------------------------


class RegenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: int | None = Field(
        default=None,
        description="The reply to answer again; the last message of the current path when "
        "left out. The earlier answer stays, as another version.",
    )


class RegenerateAccepted(BaseModel):
    stream: str = Field(description="Where the new version streams (needs a token or a ticket).")


class ForkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: int = Field(description="The last message to copy into the new conversation.")


class CurrentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: int = Field(
        description="A message whose path becomes the current one (its newest continuation)."
    )


class ToolDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["once", "always", "deny"] = Field(
        description="Run the call once, run this tool always from now on (kept in the "
        "settings), or refuse it (the model is told it was refused)."
    )


class ToolDecisionResult(BaseModel):
    call_id: str
    decision: str

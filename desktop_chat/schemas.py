"""The one vocabulary shared by the store, the engine, the window and the local API.

Everything that crosses a module boundary is one of these pydantic models, so a bad
value is rejected where it enters, with the name of the field at fault.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

Role = Literal["system", "user", "assistant"]
# A stored or sent message may also be a tool's result (answering an assistant's call).
MessageRole = Literal["system", "user", "assistant", "tool"]
MAX_MESSAGE_CHARS = 1_000_000


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class ToolFunction(BaseModel):
    """The function a model calls: its name and its arguments, a JSON text as sent."""

    name: str
    arguments: str = ""


class ToolCall(BaseModel):
    """One call of a tool as the chat-completions API spells it in an assistant message."""

    id: str
    type: Literal["function"] = "function"
    function: ToolFunction


class ChatMessage(BaseModel):
    """Exactly what is sent to the model: a role and a text, nothing else.

    An assistant message that called tools also carries its `tool_calls`, and a tool's
    result names the call it answers (`tool_call_id`); both are left out when unset, so
    every other message is sent (and stored in presets) exactly as before.
    """

    model_config = ConfigDict(extra="forbid")

    role: MessageRole
    content: str = Field(max_length=MAX_MESSAGE_CHARS)
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    # The OpenAI content parts of a message with attachments (text and image_url); sent
    # instead of `content` when set, never stored or exported with the message itself.
    parts: list[dict[str, Any]] | None = Field(default=None, exclude=True)

    def request_form(self) -> dict[str, Any]:
        """The message as the chat-completions request carries it."""
        if self.parts:
            return {"role": self.role, "content": self.parts}
        return self.model_dump()

    @model_serializer(mode="wrap")
    def _without_unset_tools(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if isinstance(data, dict):
            for key in ("tool_calls", "tool_call_id"):
                if data.get(key) is None:
                    data.pop(key, None)
        return data


AttachmentKind = Literal["image", "text", "pdf"]


class Attachment(BaseModel):
    """A file sent with a message, kept once in the data folder under its sha256.

    `text` is what a text file or a PDF says (sent to the model and searched); images
    have none. It is left out of the message's JSON: the file itself can be fetched.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    mime: str = Field(min_length=1, max_length=100)
    kind: AttachmentKind
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    text: str = Field(default="", exclude=True)
    # The file's bytes, filled only on the way into or out of an export file.
    data: bytes | None = Field(default=None, exclude=True, repr=False)


# Providers whose usual models read images: an agent of theirs gets `vision` unless told.
VISION_PROVIDERS = frozenset({"openai"})


def guess_vision(provider: str) -> bool:
    """Whether an agent of `provider` reads images, until its owner says otherwise."""
    return provider in VISION_PROVIDERS


class AgentParams(BaseModel):
    """Sampling parameters; unknown keys are kept and passed through to the server."""

    model_config = ConfigDict(extra="allow")

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)

    def request_kwargs(self) -> dict[str, Any]:
        """The parameters that are set, as the chat-completions request expects them."""
        return self.model_dump(exclude_none=True)


class AppPreset(BaseModel):
    """How an agent presents itself; greetings are shown, never sent."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    description: str = ""
    icon: str | None = None
    greetings: list[str] = Field(default_factory=list)
    suggested_questions: list[str] = Field(default_factory=list)
    creation_date: datetime = Field(default_factory=utcnow)
    extra: dict[str, Any] = Field(default_factory=dict)


def _check_base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http:// or https:// address, like http://localhost:11434/v1")
    return value


class Agent(BaseModel):
    """A preset: which server and model to talk to, and the prompt that starts each chat."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    agent_id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(default="openai", min_length=1, max_length=64)
    base_url: str = "https://api.openai.com/v1"
    model: str = Field(min_length=1, max_length=200)
    params: AgentParams = Field(default_factory=AgentParams)
    preset_messages: list[ChatMessage] = Field(default_factory=list)
    app_preset: AppPreset = Field(default_factory=AppPreset)
    key_ref: str | None = Field(default=None, max_length=200)
    is_default: bool = False
    vision: bool = Field(
        default=None,  # type: ignore[assignment]  # guessed from the provider below
        description="Whether its model reads images; images are never sent to one that does not.",
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The MCP servers whose tools the model may call: all of them, none, or those named.
    tools: Literal["all", "none"] | list[str] = "all"

    @model_validator(mode="after")
    def _guess_vision(self) -> Agent:
        if self.vision is None:
            self.vision = guess_vision(self.provider)
        return self

    @field_validator("base_url")
    @classmethod
    def _valid_base_url(cls, value: str) -> str:
        return _check_base_url(value)

    @field_validator("name", "model")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Message(BaseModel):
    """A stored message with its metadata; only role and content ever reach the model."""

    id: int | None = None
    conversation_id: str = ""
    parent_id: int | None = None  # the message this one follows; None for a first message
    role: MessageRole
    content: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    reasoning: str = ""
    status: MessageStatus = MessageStatus.COMPLETE
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model: str | None = None
    finish_reason: str | None = None
    ttft_ms: float | None = None
    duration_ms: float | None = None
    created_at: datetime = Field(default_factory=utcnow)
    attachments: list[Attachment] = Field(default_factory=list)
    tool_calls: list[ToolCall] | None = None  # an assistant's calls of tools
    tool_call_id: str | None = None  # a tool's result: the call it answers

    def as_chat(self) -> ChatMessage:
        return ChatMessage(
            role=self.role,
            content=self.content,
            tool_calls=self.tool_calls,
            tool_call_id=self.tool_call_id,
        )


class Conversation(BaseModel):
    id: str = Field(default_factory=new_id)
    agent_id: str | None = None
    title: str = ""
    owner: str = "local"
    pinned: bool = False
    preset_messages: list[ChatMessage] | None = None
    draft: str = ""
    message_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ConversationDetail(Conversation):
    """A conversation with the messages of its current path, from the first one.

    `versions` lists, for each message of the path that has other versions (a
    regenerated reply, an edited question), the ids of all of them, oldest first.
    """

    messages: list[Message] = Field(default_factory=list)
    current_message_id: int | None = None
    versions: dict[int, list[int]] = Field(default_factory=dict)

    def summary(self) -> Conversation:
        """The conversation as a list shows it, without its messages."""
        return Conversation.model_validate(self.model_dump(include=set(Conversation.model_fields)))


class ConversationArchive(ConversationDetail):
    """A conversation as exported: its current path, and every version of every message."""

    every_message: list[Message] = Field(default_factory=list)


class SearchHit(BaseModel):
    """Where a search matched a conversation: its first matching message and the words
    around the match (`message_id` is None when only the title matched)."""

    conversation_id: str
    message_id: int | None = None
    snippet: str = ""


class ContextEntry(BaseModel):
    """One line of a context being edited; `id` ties it to a stored message, if any."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    role: MessageRole
    content: str = Field(max_length=MAX_MESSAGE_CHARS)
    # The files of the stored message, shown and counted; they stay with it whatever an
    # edit does (read-only: a client sending them changes nothing).
    attachments: list[Attachment] = Field(default_factory=list)
    attachment_tokens: int = Field(default=0, ge=0, description="An estimate for the files.")


class Context(BaseModel):
    """What the next request will send: the preset messages, then the history."""

    model_config = ConfigDict(extra="forbid")

    preset: list[ChatMessage] = Field(default_factory=list)
    history: list[ContextEntry] = Field(default_factory=list)

    def request_messages(self) -> list[ChatMessage]:
        return [*self.preset, *(ChatMessage(role=e.role, content=e.content) for e in self.history)]


class UsageRecord(BaseModel):
    conversation_id: str
    agent_id: str | None
    model: str
    status: MessageStatus
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    duration_ms: float | None = None
    error_kind: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


def validation_message(exc: Exception, limit: int | None = None) -> str:
    """A one-line explanation of a pydantic error that names the fields at fault.

    `limit` keeps the sentence readable (and small) when a value has thousands of faults.
    """
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    found = errors()
    parts = []
    for err in found[:limit]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "value"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    if limit is not None and len(found) > limit:
        parts.append(f"and {len(found) - limit:,} more")
    return "; ".join(parts)


# Local API ---------------------------------------------------------------------------


class ApiToken(BaseModel):
    """A client of the local API as the store keeps it: a name, never the token itself."""

    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    agents: list[str] | None = Field(
        default=None, description="The ids of the agents it may use; null: every agent."
    )
    store_conversations: bool = Field(
        default=False, description="Whether its gateway requests are kept as conversations."
    )

    def may_use(self, agent_id: str) -> bool:
        return self.agents is None or agent_id in self.agents


class ModelUsage(BaseModel):
    """Request, token and error counts of one model."""

    model: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: int = 0


class Latency(BaseModel):
    """How fast complete replies came: time to first token and in total, in ms."""

    ttft_median_ms: float | None = None
    ttft_p95_ms: float | None = None
    duration_median_ms: float | None = None
    duration_p95_ms: float | None = None


class DayUsage(Latency):
    """One UTC day's requests, tokens, failures and latency."""

    day: str  # YYYY-MM-DD
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: int = 0


class UsageStats(BaseModel):
    """Totals over the usage table, and the same figures per model (busiest first).

    `latency` and `by_day` cover the last `period_days` days only: they are computed from
    each request's record, where the totals are counted by the database.
    """

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: int = 0
    by_model: list[ModelUsage] = Field(default_factory=list)
    period_days: int = 0
    latency: Latency = Field(default_factory=Latency)
    by_day: list[DayUsage] = Field(default_factory=list)


# Tools (MCP servers) -----------------------------------------------------------------

McpTransport = Literal["stdio", "http"]
_SERVER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class McpServer(BaseModel):
    """An MCP server the app may start (stdio) or reach (streamable HTTP).

    Header and environment values are secrets (tokens, keys): they live in the keyring,
    and only their names are kept here (`secret_headers`, `secret_env`); `headers` and
    `env` hold values only while a server is being added or edited, on their way there.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_SERVER_NAME)
    transport: McpTransport = "stdio"
    command: str = ""
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, exclude=True)
    secret_env: list[str] = Field(default_factory=list)
    cwd: str | None = None
    url: str = ""
    headers: dict[str, str] = Field(default_factory=dict, exclude=True)
    secret_headers: list[str] = Field(default_factory=list)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        return _check_base_url(value) if value else value


class McpTool(BaseModel):
    """A tool a server offers, as it describes itself."""

    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=dict)

"""Peewee tables. Only the store package knows these exist; everyone else sees schemas."""

from __future__ import annotations

import threading

from peewee import (
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


class _PerThreadDatabaseProxy(DatabaseProxy):
    """A proxy bound per thread: each store's worker thread sees only its own database.

    A plain DatabaseProxy is one global binding, so opening a second store re-pointed the
    first store's queries at the second file.
    """

    __slots__ = ("_local",)

    def __init__(self) -> None:
        object.__setattr__(self, "_local", threading.local())
        super().__init__()

    @property  # type: ignore[override]
    def obj(self) -> object:
        return getattr(self._local, "obj", None)

    @obj.setter
    def obj(self, value: object) -> None:
        self._local.obj = value

    def __setattr__(self, attr: str, value: object) -> None:
        object.__setattr__(self, attr, value)


database_proxy = _PerThreadDatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class AgentRow(BaseModel):
    agent_id = CharField(unique=True)
    name = CharField()
    provider = CharField()
    base_url = CharField()
    model = CharField()
    params = TextField(default="{}")
    preset_messages = TextField(default="[]")
    app_preset = TextField(default="{}")
    key_ref = CharField(null=True)
    is_default = BooleanField(default=False)
    vision = BooleanField(default=False)
    created_at = DateTimeField()
    updated_at = DateTimeField()
    tools = TextField(null=True)  # JSON: "all", "none" or a list of server names

    class Meta:
        table_name = "agent"


class ConversationRow(BaseModel):
    session_id = CharField(unique=True)
    agent = ForeignKeyField(AgentRow, null=True, on_delete="SET NULL", column_name="agent_id")
    title = CharField(default="")
    owner = CharField(default="local")
    pinned = BooleanField(default=False)
    preset_messages = TextField(null=True)
    draft = TextField(default="")
    current_message = IntegerField(null=True, column_name="current_message_id")
    created_at = DateTimeField()
    updated_at = DateTimeField(index=True)

    class Meta:
        table_name = "conversation"
        indexes = (
            (("pinned", "updated_at", "session_id"), False),
            (("owner", "pinned", "updated_at", "session_id"), False),
        )


class MessageRow(BaseModel):
    conversation = ForeignKeyField(
        ConversationRow, on_delete="CASCADE", column_name="conversation_id"
    )
    position = IntegerField()  # the order of writing; the tree's order is `parent`
    parent = IntegerField(null=True, column_name="parent_id")  # None: a first message
    role = CharField()
    content = TextField(default="")
    reasoning = TextField(default="")
    status = CharField(default="complete")
    error = TextField(null=True)
    prompt_tokens = IntegerField(null=True)
    completion_tokens = IntegerField(null=True)
    model = CharField(null=True)
    finish_reason = CharField(null=True)
    ttft_ms = FloatField(null=True)
    duration_ms = FloatField(null=True)
    created_at = DateTimeField()
    tool_calls = TextField(null=True)  # JSON list of an assistant's calls
    tool_call_id = TextField(null=True)  # a tool's result: the call it answers

    class Meta:
        table_name = "message"
        indexes = (
            (("conversation", "position"), False),
            (("id", "conversation"), False),
            (("conversation", "id", "parent"), False),
        )


class AttachmentRow(BaseModel):
    """A file of a message (migration V8); the file itself is in the data folder."""

    message = IntegerField(column_name="message_id")
    position = IntegerField()
    name = CharField()
    mime = CharField()
    kind = CharField()
    size = IntegerField()
    sha256 = CharField()
    text = TextField(default="")

    class Meta:
        table_name = "attachment"


class UsageRow(BaseModel):
    """One row per request sent upstream, kept when conversations are deleted (for statistics)."""

    conversation_session_id = CharField()
    agent_id = CharField(null=True)
    model = CharField()
    status = CharField()
    prompt_tokens = IntegerField(null=True)
    completion_tokens = IntegerField(null=True)
    ttft_ms = FloatField(null=True)
    duration_ms = FloatField(null=True)
    error_kind = CharField(null=True)
    created_at = DateTimeField(index=True)

    class Meta:
        table_name = "usage"


class ApiTokenRow(BaseModel):
    """A client of the local API; `hash` is the SHA-256 hex digest of the token."""

    name = CharField(unique=True)
    hash = CharField(unique=True)
    created_at = DateTimeField()
    last_used_at = DateTimeField(null=True)
    agents = TextField(null=True)  # JSON list of agent ids; NULL: every agent
    store_conversations = BooleanField(default=False)

    class Meta:
        table_name = "api_token"


class McpServerRow(BaseModel):
    """An MCP server; header and environment values are in the keyring, names here."""

    name = CharField(unique=True)
    transport = CharField()
    command = TextField(default="")
    args = TextField(default="[]")
    secret_env = TextField(default="[]")  # names; the values are in the keyring
    cwd = TextField(null=True)
    url = TextField(default="")
    secret_headers = TextField(default="[]")
    enabled = BooleanField(default=True)
    created_at = DateTimeField()

    class Meta:
        table_name = "mcp_server"


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    applied_at = DateTimeField()

    class Meta:
        table_name = "schema_version"


TABLES = [AgentRow, ConversationRow, MessageRow, UsageRow]

"""Export and import of conversations.

The JSON form is the one of the original request: a conversation with its `messages`,
each message carrying a timestamp. Every version of every message is in it, each with
its `id` and the `parent_id` of the message it follows, and the conversation names its
`current_message_id`; a file without ids (older exports, other programs) is read as one
path in file order. Import validates everything before it writes anything, so a bad
file is rejected whole with the reason, never half-imported. Markdown holds the current
path only: it is for reading; the files attached to its messages are written in a
folder beside it, and linked.

Attachments travel in the JSON as `attachments: [{name, mime, size, sha256, data}]`, the
file's bytes in base64; import checks each against its sha256, so a file comes back byte
for byte or the import is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from desktop_chat.schemas import (
    MAX_MESSAGE_CHARS,
    Attachment,
    ChatMessage,
    ConversationArchive,
    ConversationDetail,
    Message,
    MessageRole,
    MessageStatus,
    ToolCall,
    validation_message,
)

FORMAT_VERSION = 2  # 2: every version, with ids and parents


class ImportError_(ValueError):
    """The file cannot be imported; the message says why."""


class ImportedAttachment(BaseModel):
    """A file as an export carries it; `data` is checked against `sha256`."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=255)
    mime: str = Field(default="application/octet-stream", min_length=1, max_length=100)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    data: str

    @model_validator(mode="after")
    def _bytes_match(self) -> ImportedAttachment:
        try:
            raw = base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"the data of {self.name} is not base64") from None
        if hashlib.sha256(raw).hexdigest() != self.sha256:
            raise ValueError(f"the data of {self.name} does not match its sha256")
        return self

    def to_attachment(self) -> Attachment:
        """Its kind follows its type; the text of text files and PDFs is read again later."""
        raw = base64.b64decode(self.data)
        kind = (
            "image"
            if self.mime.startswith("image/")
            else "pdf"
            if self.mime == "application/pdf"
            else "text"
        )
        return Attachment(
            name=self.name,
            mime=self.mime,
            kind=kind,
            size=len(raw),
            sha256=self.sha256,
            data=raw,
        )


class ImportedMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | None = None
    parent_id: int | None = None
    role: MessageRole
    content: str = Field(max_length=MAX_MESSAGE_CHARS)
    timestamp: datetime | None = None
    reasoning: str = ""
    status: MessageStatus = MessageStatus.COMPLETE
    model: str | None = None
    attachments: list[ImportedAttachment] = Field(default_factory=list)
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch_or_iso(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected epoch seconds, epoch milliseconds or an ISO 8601 time")
        if isinstance(value, int | float):
            try:
                return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
            except (OverflowError, OSError) as exc:  # far outside what a clock can show
                raise ValueError(f"{value} is out of range for a time") from exc
        return value


class ImportedConversation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    session_id: str | None = Field(default=None, max_length=64)
    title: str = Field(default="", max_length=200)
    agent_id: str | None = None
    pinned: bool = False
    preset_messages: list[ChatMessage] | None = None
    messages: list[ImportedMessage] = Field(default_factory=list)
    current_message_id: int | None = None

    def to_messages(self) -> list[Message]:
        """The messages to write; ids and parents are the file's, written anew by the store."""
        now = datetime.now(UTC)
        return [
            Message(
                id=m.id,
                parent_id=m.parent_id,
                role=m.role,
                content=m.content,
                reasoning=m.reasoning,
                status=m.status,
                model=m.model,
                created_at=m.timestamp or now,
                attachments=[a.to_attachment() for a in m.attachments],
                tool_calls=m.tool_calls,
                tool_call_id=m.tool_call_id,
            )
            for m in self.messages
        ]


def export_json(conversations: list[ConversationArchive]) -> str:
    return json.dumps(
        {
            "format": "desktop_chat",
            "version": FORMAT_VERSION,
            "conversations": [_conversation_json(c) for c in conversations],
        },
        ensure_ascii=False,
        indent=2,
    )


def _conversation_json(conversation: ConversationArchive) -> dict[str, Any]:
    return {
        "session_id": conversation.id,
        "title": conversation.title,
        "agent_id": conversation.agent_id,
        "pinned": conversation.pinned,
        "created_at": conversation.created_at.isoformat(),
        **(
            {"preset_messages": [m.model_dump() for m in conversation.preset_messages]}
            if conversation.preset_messages is not None
            else {}
        ),
        "current_message_id": conversation.current_message_id,
        "messages": [
            {
                "id": m.id,
                "parent_id": m.parent_id,
                "role": m.role,
                "content": m.content,
                "timestamp": m.created_at.isoformat(),
                **({"reasoning": m.reasoning} if m.reasoning else {}),
                **({"status": m.status.value} if m.status is not MessageStatus.COMPLETE else {}),
                **({"model": m.model} if m.model else {}),
                **({"attachments": _attachments_json(m)} if m.attachments else {}),
                **({"tool_calls": [c.model_dump() for c in m.tool_calls]} if m.tool_calls else {}),
                **({"tool_call_id": m.tool_call_id} if m.tool_call_id else {}),
            }
            for m in conversation.every_message
        ],
    }


def _attachments_json(message: Message) -> list[dict[str, Any]]:
    return [
        {
            "name": a.name,
            "mime": a.mime,
            "size": a.size,
            "sha256": a.sha256,
            **({"data": base64.b64encode(a.data).decode("ascii")} if a.data is not None else {}),
        }
        for a in message.attachments
    ]


def attachment_file_name(attachment: Attachment) -> str:
    """The name a Markdown export gives a file beside it: unique, and safe on any disk."""
    safe = re.sub(r"[^\w.\- ]+", "_", attachment.name).strip(" .") or "file"
    return f"{attachment.sha256[:12]}-{safe}"


def export_markdown(conversations: list[ConversationDetail], files_dir: str = "files") -> str:
    """The current path of each conversation; attachments link into `files_dir`."""
    parts = []
    for conversation in conversations:
        parts.append(f"# {conversation.title or 'Untitled conversation'}\n")
        for m in conversation.messages:
            stamp = m.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
            note = "" if m.status is MessageStatus.COMPLETE else f" ({m.status.value})"
            links = "".join(
                f"\n{'!' if a.kind == 'image' else ''}[{a.name}]"
                f"(<{files_dir}/{attachment_file_name(a)}>)\n"
                for a in m.attachments
            )
            parts.append(f"## {m.role.capitalize()}{note} · {stamp}\n\n{m.content}\n{links}")
    return "\n".join(parts)


def write_export(path: Path, conversations: list[ConversationArchive], as_json: bool) -> None:
    """Write an export file; a Markdown one gets its attachments in a folder beside it."""
    if as_json:
        path.write_text(export_json(conversations), encoding="utf-8")
        return
    folder = path.with_name(f"{path.stem}_files")
    path.write_text(export_markdown(list(conversations), folder.name), encoding="utf-8")
    attached = [a for c in conversations for m in c.messages for a in m.attachments if a.data]
    if attached:
        folder.mkdir(mode=0o700, exist_ok=True)
    for attachment in attached:
        target = folder / attachment_file_name(attachment)
        fd = os.open(target, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(attachment.data or b"")


def parse_import(raw: str | bytes) -> list[ImportedConversation]:
    """Accept one conversation, a list of them, or an export file; all or nothing."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportError_(f"The file is not valid JSON: {exc}") from None
    if isinstance(data, dict) and "conversations" in data:
        data = data["conversations"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ImportError_("The file holds no conversations.")
    parsed = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ImportError_(f"Conversation {index + 1}: expected an object with `messages`.")
        if "messages" not in item:
            raise ImportError_(f"Conversation {index + 1}: the `messages` list is missing.")
        try:
            parsed.append(ImportedConversation.model_validate(item))
        except ValidationError as exc:
            raise ImportError_(f"Conversation {index + 1}: {validation_message(exc)}") from None
    return parsed

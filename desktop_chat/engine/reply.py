"""The state of one reply while it streams; dropped once the reply is stored."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop_chat.engine.claims import Claim
from desktop_chat.engine.events import ReplyDelta
from desktop_chat.engine.journal import JournalEntry
from desktop_chat.schemas import Agent, ChatMessage, Message

if TYPE_CHECKING:
    from desktop_chat.engine.tool_rounds import CallAssembler
    from desktop_chat.engine.tools import ToolSet


@dataclass
class ReplyState:
    conversation_id: str
    agent: Agent
    request: list[ChatMessage]  # the preset messages, then what `history` sends
    history: list[Message] = field(default_factory=list)  # the path answered, as stored
    parent_id: int | None = None  # the message it answers; None: a conversation's first
    adds_version: bool = False  # another answer to the same question (regenerate)
    claim: Claim | None = None  # the conversation's reply lock, across processes
    journal: JournalEntry | None = None
    task: asyncio.Task[None] | None = None
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    events: list[ReplyDelta] = field(default_factory=list)  # for the API's replay
    queued: bool = True
    stop_requested: bool = False
    storing: bool = False  # the reply is being written: cancelling now would lose it
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    # Tools: those offered, the calls of the turn streaming, the rounds run so far, and
    # the last message stored by this reply (a turn that called tools, a tool's result).
    toolset: ToolSet | None = None
    calls: CallAssembler | None = None
    rounds: int = 0
    last_stored: Message | None = None

    @property
    def content(self) -> str:
        return "".join(self.text)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    def snapshot(self) -> dict[str, object]:
        """What a late subscriber needs to show the reply so far."""
        return {
            "conversation_id": self.conversation_id,
            "content": self.content,
            "reasoning": self.reasoning_text,
            "queued": self.queued,
            "model": self.agent.model,
            "last_seq": self.events[-1].seq if self.events else None,
        }

"""The conversation engine: reply life cycle, locks, concurrency and events."""

from desktop_chat.engine.errors import EngineError, InputError, NoAgentError, ReplyInProgressError
from desktop_chat.engine.events import EventBus
from desktop_chat.engine.journal import CrashJournal
from desktop_chat.engine.service import ConversationService, EngineConfig

__all__ = [
    "ConversationService",
    "CrashJournal",
    "EngineConfig",
    "EngineError",
    "EventBus",
    "InputError",
    "NoAgentError",
    "ReplyInProgressError",
]

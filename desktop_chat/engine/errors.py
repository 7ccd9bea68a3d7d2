"""Refusals the engine gives callers, each with a sentence to show as it is."""

from __future__ import annotations

from desktop_chat.sentences import N_

# The sentences, marked for translation (desktop_chat/sentences.py).
REPLY_IN_PROGRESS = N_(
    "A reply is still being written in this conversation. Wait for it or stop it first."
)
NO_AGENT = N_("No agent is set up yet. Add one in Settings (or with `desktop-chat agents add`).")
EMPTY_MESSAGE = N_("The message is empty.")
MESSAGE_TOO_LONG = N_(
    "The message is too long ({length} characters; the limit is {limit}). Attach less text "
    "or split it."
)
NOTHING_TO_ANSWER = N_("There is no question to answer again.")
ONLY_QUESTIONS_EDITED = N_("Only your own messages can be edited and sent again.")
CLOSING = N_("desktop_chat is shutting down.")


class EngineError(Exception):
    def __init__(self, kind: str, user_message: str) -> None:
        super().__init__(user_message)
        self.kind = kind
        self.user_message = user_message


class ReplyInProgressError(EngineError):
    def __init__(self) -> None:
        super().__init__("reply_in_progress", REPLY_IN_PROGRESS)


class InputError(EngineError):
    def __init__(self, message: str) -> None:
        super().__init__("invalid_input", message)


class NoAgentError(EngineError):
    def __init__(self) -> None:
        super().__init__("no_agent", NO_AGENT)

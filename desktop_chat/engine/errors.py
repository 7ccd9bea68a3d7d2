"""Refusals the engine gives callers, each with a sentence to show as it is."""

from __future__ import annotations


class EngineError(Exception):
    def __init__(self, kind: str, user_message: str) -> None:
        super().__init__(user_message)
        self.kind = kind
        self.user_message = user_message


class ReplyInProgressError(EngineError):
    def __init__(self) -> None:
        super().__init__(
            "reply_in_progress",
            "A reply is still being written in this conversation. Wait for it or stop it first.",
        )


class InputError(EngineError):
    def __init__(self, message: str) -> None:
        super().__init__("invalid_input", message)


class NoAgentError(EngineError):
    def __init__(self) -> None:
        super().__init__(
            "no_agent",
            "No agent is set up yet. Add one in Settings (or with `desktop-chat agents add`).",
        )

"""What a streamed reply is made of, kept apart from the SDK so importing it costs nothing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delta:
    text: str = ""
    reasoning: str = ""


@dataclass(frozen=True)
class Finish:
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


StreamItem = Delta | Finish

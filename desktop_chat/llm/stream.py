"""What a streamed reply is made of, kept apart from the SDK so importing it costs nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class Delta(NamedTuple):
    """A piece of the reply; a tuple because one is made per streamed token, and a frozen
    dataclass costs three times as much to make."""

    text: str = ""
    reasoning: str = ""
    # Pieces of tool calls as the server sent them (`delta.tool_calls`): each a dict with
    # an `index`, and some of `id`, `function.name`, `function.arguments` (a piece of it).
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Finish:
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


StreamItem = Delta | Finish


@dataclass(frozen=True)
class Relayed:
    """A chunk (or a whole answer) of a relayed request as the server sent it, and what
    it says: its text, if any, and the finish and usage so far."""

    data: dict[str, Any]
    delta: Delta | None
    finish: Finish

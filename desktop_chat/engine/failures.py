"""Known failures in words: the one place that tells a failure a user can act on from a bug.

The window shows a failure in a label, the command line on stderr with an exit code, the
local API as a JSON error with an HTTP status. They differ only in how they signal what
*sort* of failure it was; the sentence and the kind come from here, so the three cannot
drift apart. Anything `describe` does not know is a bug: callers log it and say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from desktop_chat.engine.errors import EngineError
from desktop_chat.engine.mcp_servers import McpError
from desktop_chat.llm import LLMError
from desktop_chat.secrets import KeyringUnavailableError
from desktop_chat.store import NotFoundError, StoreError


class Category(StrEnum):
    """What sort of failure, as far as a client must tell them apart."""

    NOT_FOUND = "not_found"  # the conversation, agent or message asked for does not exist
    CONFLICT = "conflict"  # not now: a reply is being written, no agent is set up yet
    INVALID = "invalid"  # the request itself is wrong
    UNAVAILABLE = "unavailable"  # the app is shutting down
    LOCAL = "local"  # this computer failed us: the database, the disk, the keyring
    UPSTREAM = "upstream"  # the model's server failed or refused


@dataclass(frozen=True)
class Failure:
    message: str  # a sentence to show as it is: what happened, what to do
    kind: str  # a stable word for programs (`locked`, `auth`, `reply_in_progress`…)
    category: Category


# Engine refusals that are not the caller's mistake; every other kind is.
_ENGINE_CATEGORIES = {
    "reply_in_progress": Category.CONFLICT,
    "no_agent": Category.CONFLICT,
    "closing": Category.UNAVAILABLE,
    "key_not_kept": Category.LOCAL,
}


def describe(exc: BaseException) -> Failure | None:
    """The sentence, kind and category of a known failure; None when `exc` is a bug."""
    if isinstance(exc, NotFoundError):
        return Failure(exc.user_message, exc.kind, Category.NOT_FOUND)
    if isinstance(exc, StoreError):
        return Failure(exc.user_message, exc.kind, Category.LOCAL)
    if isinstance(exc, KeyringUnavailableError):
        return Failure(exc.user_message, "keyring_unavailable", Category.LOCAL)
    if isinstance(exc, LLMError):
        return Failure(exc.user_message, exc.kind.value, Category.UPSTREAM)
    if isinstance(exc, McpError):  # an MCP server that cannot start or answer
        return Failure(exc.user_message, "mcp_server", Category.UPSTREAM)
    if isinstance(exc, EngineError):
        category = _ENGINE_CATEGORIES.get(exc.kind, Category.INVALID)
        return Failure(exc.user_message, exc.kind, category)
    return None

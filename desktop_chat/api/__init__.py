"""The optional local HTTP + SSE API: the same engine as the window, for scripts and a page.

Off by default. It binds 127.0.0.1, checks the Host and Origin of every request, and
needs a bearer token on every route but the health check and the web page. It imports the
engine, the store's public face and the schemas, and never the window or Qt.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_chat.api.auth import TicketBook
    from desktop_chat.api.server import DEFAULT_HOST, DEFAULT_PORT, ApiServer, is_loopback
    from desktop_chat.engine.api_tokens import owner_for

# Loaded on first use: the core holds the API's runner (`desktop_chat.api.runner`), and
# every command and the window would otherwise import aiohttp and the server with it
# (about 150 ms) whether or not the API is ever turned on.
_WHERE = {
    "TicketBook": "desktop_chat.api.auth",
    "DEFAULT_HOST": "desktop_chat.api.server",
    "DEFAULT_PORT": "desktop_chat.api.server",
    "ApiServer": "desktop_chat.api.server",
    "is_loopback": "desktop_chat.api.server",
    "owner_for": "desktop_chat.engine.api_tokens",
}


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ApiServer",
    "TicketBook",
    "is_loopback",
    "owner_for",
]

"""The optional local HTTP + SSE API: the same engine as the window, for scripts and a page.

Off by default. It binds 127.0.0.1, checks the Host and Origin of every request, and
needs a bearer token on every route but the health check and the web page. It imports the
engine, the store's public face and the schemas, and never the window or Qt.
"""

from desktop_chat.api.auth import TicketBook
from desktop_chat.api.server import DEFAULT_HOST, DEFAULT_PORT, ApiServer, is_loopback
from desktop_chat.engine.api_tokens import owner_for

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ApiServer",
    "TicketBook",
    "is_loopback",
    "owner_for",
]

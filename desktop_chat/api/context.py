"""What the handlers share for one server: the service, the token checks, the open streams.

One ApiContext per application, reached through an AppKey; nothing lives at module level,
so two servers (or a test's and the window's) never share state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from desktop_chat.api.auth import TicketBook
from desktop_chat.api.fanout import StreamHub
from desktop_chat.api.finals import FinalMessages
from desktop_chat.engine import ConversationService
from desktop_chat.engine.api_tokens import TokenService
from desktop_chat.engine.gateway import GatewayService

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def host_with_port(host: str, port: int) -> str:
    """How a Host header names `host` on `port`; IPv6 literals take brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host.lower()}:{port}"


@dataclass
class ApiContext:
    service: ConversationService
    tokens: TokenService
    gateway: GatewayService
    tickets: TicketBook
    finals: FinalMessages
    hub: StreamHub
    host: str
    port: int
    queue_size: int
    max_body: int
    max_upload_body: int  # the routes whose bodies carry files (`RouteSpec.files`)
    upload_routes: frozenset[str] = frozenset()  # their names
    cors_origins: frozenset[str] = frozenset()
    extra_hosts: tuple[str, ...] = ()
    closing: bool = False
    openapi: dict[str, Any] | None = None

    def allowed_hosts(self) -> frozenset[str]:
        """The Host headers accepted: loopback names and the configured host, on our port.

        Checked on every request whatever the bind address, so that a page on another
        domain resolving to 127.0.0.1 (DNS rebinding) gets nowhere.
        """
        names = {*LOOPBACK_NAMES, self.host, *self.extra_hosts}
        allowed = {host_with_port(n, self.port) for n in names}
        if self.port == 80:
            allowed |= {h.rsplit(":", 1)[0] for h in allowed}
        return frozenset(allowed)

    def same_origins(self) -> frozenset[str]:
        """Origins of pages this server serves itself (its own web page)."""
        return frozenset(f"http://{h}" for h in self.allowed_hosts())


CONTEXT = web.AppKey("desktop_chat.api.context", ApiContext)


def context_of(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]

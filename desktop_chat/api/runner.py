"""Runs the local API in the app's own event loop when the settings ask for it.

The window and the API are two clients of one engine: a reply started from a script
streams in the window, and the other way round. The core owns the runner (`Core.api`),
so the window starts and stops the server without knowing how it is made.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from desktop_chat.engine import ConversationService
from desktop_chat.engine.api_tokens import TokenService
from desktop_chat.engine.gateway import GatewayService
from desktop_chat.sentences import N_
from desktop_chat.settings import Settings

if TYPE_CHECKING:
    from desktop_chat.api.server import ApiServer

log = logging.getLogger(__name__)


PORT_REFUSED = N_("The local API could not listen on port {port}: {reason}")


class ApiRunner:
    def __init__(
        self, service: ConversationService, tokens: TokenService, gateway: GatewayService
    ) -> None:
        self.service, self.tokens, self.gateway = service, tokens, gateway
        self.server: ApiServer | None = None
        self.error: str | None = None

    @property
    def url(self) -> str | None:
        return self.server.url if self.server is not None and self.server.running else None

    async def apply(self, settings: Settings) -> None:
        """Start, stop or move the server so that it matches `settings`."""
        wanted = settings.api_port if settings.api_enabled else None
        if self.server is not None and (wanted is None or self.server.port != wanted):
            await self.stop()
        if wanted is None or self.server is not None:
            return
        from desktop_chat.api.server import ApiServer  # the HTTP stack loads only when used

        server = ApiServer(self.service, self.tokens, self.gateway, port=wanted)
        try:
            await server.start()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.error = PORT_REFUSED.format(port=wanted, reason=reason)
            log.warning("%s", self.error)
            return
        self.server, self.error = server, None
        log.info("Local API listening on %s", server.url)

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()

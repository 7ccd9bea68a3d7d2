"""ApiServer: runs the local API inside an asyncio loop that someone else owns.

Why aiohttp: the window runs a qasync loop and the CLI an asyncio one, and the server must
be a polite guest in either. aiohttp's AppRunner + TCPSite installs no signal handlers,
configures no logging, returns from ``start()`` at once and, given an ``on_shutdown`` hook
that ends the open SSE streams, stops promptly. uvicorn, by contrast, replaces the SIGINT
and SIGTERM handlers while it serves, configures logging process-wide and waits forever
on open streams unless told otherwise.

No global state and no signal handling here: the caller decides when to start and stop.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import BaseRequest

from desktop_chat.api.app import MAX_BODY, MAX_UPLOAD_BODY, create_app
from desktop_chat.api.auth import TicketBook
from desktop_chat.api.context import CONTEXT, host_with_port
from desktop_chat.api.errors import logged_path, printable
from desktop_chat.engine import ConversationService
from desktop_chat.engine.api_tokens import TokenService
from desktop_chat.engine.gateway import GatewayService

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class PathOnlyAccessLogger(AbstractAccessLogger):
    """One line per request with the path only: query strings can carry stream tickets.

    The path as it was sent, still percent-encoded: decoded, a ``%0a`` in it would start a
    line of the client's choosing in the log.
    """

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1f ms", request.method, logged_path(request), response.status, time * 1000
        )


class ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's own log, where a malformed request is the client's fault, not a bug.

    aiohttp answers such a request with a 400 and logs it as an error with a traceback;
    here it is one line at INFO, its control characters escaped (the text quotes the
    bytes the client sent). Every other failure is logged as aiohttp logs it.
    """

    def exception(self, msg: object, *args: object, exc_info: object = True, **kw: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            reason = printable(exc_info.message)[:200]
            self.logger.info("Refused a malformed HTTP request (%d): %s", exc_info.code, reason)
            return
        super().exception(msg, *args, exc_info=exc_info, **kw)


class ApiServer:
    """The local HTTP + SSE API over one ConversationService.

    ``await start()`` binds and returns; ``await stop()`` ends the open streams and closes
    the socket. A non-loopback `host` is refused unless `allow_remote` is set.
    """

    def __init__(
        self,
        service: ConversationService,
        tokens: TokenService | None = None,
        gateway: GatewayService | None = None,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        heartbeat: float = 15.0,
        cors_origins: Sequence[str] = (),
        *,
        allow_remote: bool = False,
        extra_hosts: Sequence[str] = (),
        queue_size: int = 1024,
        max_body: int = MAX_BODY,
        max_upload_body: int = MAX_UPLOAD_BODY,
        ticket_ttl: float = 60.0,
        shutdown_timeout: float = 5.0,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"{host} is reachable from other machines; allow it explicitly "
                "(allow_remote, or --allow-remote on the command line)."
            )
        if heartbeat <= 0:
            raise ValueError("heartbeat must be a positive number of seconds")
        self.service = service
        self.tokens = tokens or TokenService(service.store)
        self.gateway = gateway or GatewayService(service, self.tokens)
        self.host = host
        self._requested_port = port
        self._app = create_app(
            service,
            self.tokens,
            self.gateway,
            host=host,
            port=port,
            heartbeat=heartbeat,
            cors_origins=cors_origins,
            extra_hosts=extra_hosts,
            queue_size=queue_size,
            max_body=max_body,
            max_upload_body=max_upload_body,
            tickets=TicketBook(ttl=ticket_ttl),
        )
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    @property
    def app(self) -> web.Application:
        return self._app

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def port(self) -> int:
        """The bound port once started (useful with port 0), else the one asked for."""
        return self._app[CONTEXT].port

    @property
    def url(self) -> str:
        return f"http://{host_with_port(self.host, self.port)}"

    @property
    def open_streams(self) -> int:
        return self._app[CONTEXT].hub.open_streams

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(
            self._app,
            handle_signals=False,
            access_log_class=PathOnlyAccessLogger,
            logger=ServerLog(logging.getLogger("aiohttp.server")),
            shutdown_timeout=self._shutdown_timeout,
            # A client that hangs up cancels its handler: the gateway then stops its request
            # upstream. Routes that change something finish regardless (see app.py).
            handler_cancellation=True,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0]
        self._app[CONTEXT].port = int(bound[1])
        log.info("Local API listening on %s", self.url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await runner.cleanup()
        log.info("Local API stopped")

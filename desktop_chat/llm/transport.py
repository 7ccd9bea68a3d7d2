"""The SDK's HTTP connections made by aiohttp instead of httpx2's own.

A streamed reply arrives as one small HTTP chunk per token. httpx2 reads those through
h11, in Python: a parsed chunk, an event and four generator steps for each token, about
half of what a token cost (17 µs in `desktop-chat ask`, against 7 µs for a plain stdlib
loop). aiohttp parses HTTP in C and hands over everything that has arrived in one piece:
the same reply costs about 7 µs a token. aiohttp is a dependency already (the local API
serves with it).

The SDK offers this transport too (`openai.DefaultAioHttpClient`), but its version makes
its TLS context through httpcore2, whose import (about 90 ms) would sit on the way to a
reply's first byte, and it reports a refused connection as a timeout. Everything above
the connection stays httpx2's and the SDK's: the key, redirects, retries, error statuses.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx2

from desktop_chat.llm.trust import verification

# What the SDK's own client allows (openai.DEFAULT_CONNECTION_LIMITS), without importing it.
MAX_CONNECTIONS = 1000
KEEPALIVE_SECONDS = 5.0

# Most specific first: a refused connection is a ClientConnectorError and a
# ClientConnectionError (and an OSError); it must be reported as refused, not timed out.
_ERRORS: tuple[tuple[type[BaseException], type[httpx2.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx2.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx2.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx2.ReadTimeout),
    (TimeoutError, httpx2.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx2.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx2.ProxyError),
    (aiohttp.ClientConnectorError, httpx2.ConnectError),
    (aiohttp.NonHttpUrlClientError, httpx2.UnsupportedProtocol),
    (aiohttp.InvalidUrlClientError, httpx2.UnsupportedProtocol),
    (aiohttp.ServerDisconnectedError, httpx2.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx2.RemoteProtocolError),
    (aiohttp.ClientError, httpx2.NetworkError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """aiohttp's failures raised as the httpx2 errors the SDK and the engine know."""
    try:
        yield
    except httpx2.HTTPError:
        raise
    except (TimeoutError, aiohttp.ClientError) as exc:
        mapped = next(to for kind, to in _ERRORS if isinstance(exc, kind))
        raise mapped(str(exc) or type(exc).__name__) from exc


class _Body(httpx2.AsyncByteStream):
    """A response's body, in the pieces aiohttp has when it is read."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            try:
                async for piece in self._response.content.iter_any():
                    yield piece
            except RuntimeError as exc:  # the client was closed under an open stream
                raise httpx2.ReadError(str(exc)) from exc

    async def aclose(self) -> None:
        # A body not read to its end (the person pressed Stop) closes the connection, so
        # the server sees it and stops generating; a finished one goes back to the pool.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """httpx2 requests sent over one aiohttp session, made on the loop of the first one."""

    def __init__(self, tls: ssl.SSLContext | bool, proxy: httpx2.Proxy | None = None) -> None:
        self.tls = tls
        self.proxy = proxy
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=self.tls, limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS
        )
        # Proxies come from httpx2 (the settings' or the environment's), one transport
        # each; the session itself must not read the environment again.
        return aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=False)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._session is None:
            self._session = self._open_session()
        timeout = request.extensions.get("timeout", {})
        body: Any
        try:
            body = request.content or None
        except httpx2.RequestNotRead:  # a streamed upload: aiohttp chunks it itself
            body = request.stream
            request.headers.pop("transfer-encoding", None)
        proxy = self.proxy
        with _as_httpx_errors():
            response = await self._session.request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=body,
                allow_redirects=False,  # httpx2 follows them, as it would over its own
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
                proxy=str(proxy.url) if proxy else None,
                proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
                proxy_headers=list(proxy.headers.multi_items()) if proxy else None,
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx2.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class AiohttpClient(httpx2.AsyncClient):
    """httpx2's client with every connection, proxied ones included, made by aiohttp.

    Proxies are found as httpx2 finds them (the settings' one, or the environment's with
    its NO_PROXY). SOCKS proxies stay with httpx2's own connections: aiohttp has no SOCKS.
    """

    def __init__(self, proxy: str | None, timeout: httpx2.Timeout) -> None:
        self._tls = verification()
        super().__init__(verify=self._tls, proxy=proxy, timeout=timeout, follow_redirects=True)

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return AiohttpTransport(self._tls)

    def _init_proxy_transport(
        self, proxy: httpx2.Proxy, *args: Any, **kwargs: Any
    ) -> httpx2.AsyncBaseTransport:
        if proxy.url.scheme.startswith("socks"):
            return super()._init_proxy_transport(proxy, *args, **kwargs)
        return AiohttpTransport(self._tls, proxy)



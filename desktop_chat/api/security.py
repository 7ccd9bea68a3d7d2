"""The checks every request passes before any work is done, outermost first.

1. Host: only this machine's own names, so DNS rebinding cannot reach the server from a
   web page on another domain (as happened to Ollama, CVE-2024-28224).
2. Origin: a browser request from a page we did not serve is refused outright. CORS only
   hides responses from such a page; the request itself would still run.
3. Content type and size: bodies must be JSON (which forces a browser preflight) and small.
4. Authorization: a bearer token (or, on the stream route only, a stream ticket), checked
   by `authenticated` around each handler that acts for an owner.
"""

from __future__ import annotations

from aiohttp import web

from desktop_chat.api.context import context_of
from desktop_chat.api.errors import ApiError, Handler, OwnedHandler, TokenHandler
from desktop_chat.engine.api_tokens import owner_for, token_of
from desktop_chat.schemas import ApiToken

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type, Last-Event-ID"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    host = request.headers.get("Host", "").strip().lower()
    if host not in context_of(request).allowed_hosts():
        raise ApiError(
            403,
            "This server answers only to its own local address; the Host header names another one.",
            "bad_host",
        )
    return await handler(request)


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is None:  # not a cross-origin browser request (curl, scripts, same-origin GET)
        return await handler(request)
    ctx = context_of(request)
    normalized = origin.strip().lower().rstrip("/")
    if normalized in ctx.same_origins():
        return await handler(request)
    if normalized in ctx.cors_origins:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Methods": _CORS_METHODS,
                    "Access-Control-Allow-Headers": _CORS_HEADERS,
                    "Access-Control-Max-Age": "600",
                },
            )
        return await handler(request)
    raise ApiError(403, "Requests from this web page's origin are not allowed.", "bad_origin")


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


_NO_TOKEN = (
    "A valid API token is needed (Authorization: Bearer <token>); create one with "
    "`desktop-chat tokens create NAME`."
)


async def caller(request: web.Request, *, tickets: bool = False) -> ApiToken:
    """The token the request is made with; a 401 for none, or one that is not valid.

    `tickets` lets a single-use stream ticket (``?ticket=``) stand in for the token, when
    no Authorization header is sent: EventSource cannot send one. The ticket's token is
    read again: one revoked since the ticket was made opens nothing.
    """
    ctx = context_of(request)
    header = request.headers.get("Authorization")
    if header is None and tickets and "ticket" in request.query:
        owner = ctx.tickets.redeem(request.query["ticket"], request.match_info.get("id", ""))
        token = await ctx.tokens.get(token_of(owner)) if owner is not None else None
        if token is None:
            raise ApiError(
                401,
                "The stream ticket is unknown, already used or expired; ask for a new one.",
                "bad_ticket",
            )
        return token
    secret = _bearer(header)
    token = await ctx.tokens.verify(secret) if secret else None
    if token is None:
        raise ApiError(
            401,
            _NO_TOKEN,
            "unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="desktop_chat"'},
        )
    return token


def authenticated(handler: OwnedHandler, *, tickets: bool = False) -> Handler:
    """Wrap a handler that acts for an owner: it runs only for a valid token (or ticket).

    The owner is passed in as an argument, so a handler cannot forget to ask for it.
    """

    async def check(request: web.Request) -> web.StreamResponse:
        token = await caller(request, tickets=tickets)
        return await handler(request, owner_for(token.name))

    return check


def as_client(handler: TokenHandler) -> Handler:
    """Wrap a gateway handler: it runs only for a valid token, which it is given."""

    async def check(request: web.Request) -> web.StreamResponse:
        return await handler(request, await caller(request))

    return check


@web.middleware
async def body_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in BODY_METHODS:
        if request.content_type != "application/json":
            raise ApiError(
                415, "Send the body as JSON (Content-Type: application/json).", "bad_content_type"
            )
        length = request.content_length
        if length is not None and length > body_limit(request):
            raise too_large()
    return await handler(request)


def body_limit(request: web.Request) -> int:
    """The most a body may hold here: more where files may come (`RouteSpec.files`)."""
    context = context_of(request)
    route = request.match_info.route.name
    return context.max_upload_body if route in context.upload_routes else context.max_body


def too_large() -> ApiError:
    return ApiError(413, "The request body is too large.", "too_large")


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: hardening headers, and CORS for an allowed foreign origin.

    A hook rather than a middleware so that streamed responses get them too.
    """
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")  # ticket URLs never leak onwards
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", _CSP)
    headers.setdefault("Cache-Control", "no-store")
    cors_origins = context_of(request).cors_origins
    if cors_origins:
        headers["Vary"] = "Origin"
        origin = request.headers.get("Origin")
        # Only requests that passed origin_middleware get this far with an Origin header.
        if origin is not None and origin.strip().lower().rstrip("/") in cors_origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = "Location"


MIDDLEWARES_AFTER_ERRORS = (host_middleware, origin_middleware, body_middleware)

"""Every failure becomes a JSON error body with the right status, and never a 500 for bad input.

Known failures keep the sentence and kind `engine.failures.describe` gives them (the same
the window and the command line show); anything else is logged here and answered with a
neutral 500.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from desktop_chat.engine.failures import Category, describe
from desktop_chat.engine.gateway_call import GatewayError
from desktop_chat.schemas import ApiToken

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A handler that acts for an owner (a token's conversations), given by `authenticated`.
OwnedHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]
# A gateway handler, given the token itself (the agents it may use): see `as_client`.
TokenHandler = Callable[[web.Request, ApiToken], Awaitable[web.StreamResponse]]


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """`text` with control characters escaped, so that it stays on its log line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def logged_path(request: web.BaseRequest) -> str:
    """The path as sent (percent-encoded, no query string: it may carry a stream ticket)."""
    return printable(request.rel_url.raw_path)


class ApiError(Exception):
    """A refusal the API itself decides on, with the status and body to answer."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        fields: Sequence[str] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.fields = list(fields)
        self.headers = headers or {}


def error_body(error: ApiError, openai_shape: bool = False) -> dict[str, object]:
    """The JSON of a refusal; in OpenAI's shape on the gateway's routes (/v1/...), where
    clients written for OpenAI read `type` and `code`."""
    if not openai_shape:
        return {"error": {"message": error.message, "kind": error.kind, "fields": error.fields}}
    code = "invalid_api_key" if error.status == 401 else error.kind
    return {
        "error": {
            "message": error.message,
            "type": _openai_type(error.status),
            "param": error.fields[0] if error.fields else None,
            "code": code,
        }
    }


def error_response(error: ApiError, openai_shape: bool = False) -> web.Response:
    body = error_body(error, openai_shape)
    return web.json_response(body, status=error.status, headers=error.headers)


def _openai_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    return {
        401: "authentication_error",
        403: "permission_error",
        429: "rate_limit_error",
    }.get(status, "invalid_request_error")


def is_gateway(request: web.BaseRequest) -> bool:
    return request.path.startswith("/v1/")


# Status and kind of aiohttp's own refusals (unknown route, wrong method, body too large).
_HTTP_KINDS = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def _from_http(exc: web.HTTPException) -> ApiError:
    kind = _HTTP_KINDS.get(exc.status, exc.reason.lower().replace(" ", "_"))
    message = {
        404: "There is nothing at this address.",
        405: "This address does not accept that method.",
        413: "The request body is too large.",
    }.get(exc.status, exc.reason)
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    return ApiError(exc.status, message, kind, headers=headers)


# A busy, full or read-only database is neither the client's fault nor a bug: 503.
STATUS = {
    Category.NOT_FOUND: 404,
    Category.CONFLICT: 409,
    Category.INVALID: 400,
    Category.UNAVAILABLE: 503,
    Category.LOCAL: 503,
    Category.UPSTREAM: 502,
}


def map_known(exc: Exception) -> ApiError | None:
    """The refusal for a known engine or store failure, or None for anything else."""
    if isinstance(exc, GatewayError):  # the gateway's own: it knows its status
        after = exc.retry_after
        headers = {"Retry-After": str(max(1, math.ceil(after)))} if after is not None else None
        return ApiError(exc.status, exc.user_message, exc.kind, headers=headers)
    failure = describe(exc)
    if failure is None:
        return None
    return ApiError(STATUS[failure.category], failure.message, failure.kind)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: turns every exception into a JSON error response."""
    try:
        return await handler(request)
    except ApiError as exc:
        error = exc
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = _from_http(exc)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        known = map_known(exc)
        if known is None:
            log.exception("The API failed on %s %s", request.method, logged_path(request))
            known = ApiError(
                500, "Something went wrong; the details are in the log.", "internal_error"
            )
        error = known
    return error_response(error, openai_shape=is_gateway(request))

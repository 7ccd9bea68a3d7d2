"""Reading request bodies and query parameters into models, with 422s that name the field."""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from desktop_chat.api.errors import ApiError
from desktop_chat.api.security import body_limit, too_large
from desktop_chat.schemas import validation_message

M = TypeVar("M", bound=BaseModel)

# Faults named in one answer: a body with 40,000 unknown keys gets a short 422, not one
# that lists them all.
MAX_REPORTED = 20


def _fields(exc: ValidationError) -> list[str]:
    """The fields at fault, each once, in order; in linear time, however many there are."""
    names = dict.fromkeys(
        ".".join(str(p) for p in err.get("loc", ())) or "body" for err in exc.errors()
    )
    return list(names)[:MAX_REPORTED]


async def _read_within(request: web.Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes this route's limit: a body sent
    without its length is never read further than that. (aiohttp's own limit is the
    largest of all routes'.)"""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: web.Request, model: type[M], allow_empty: bool = False) -> M:
    """The JSON body validated as `model`; bad JSON or fields give 422, too large 413."""
    raw = await _read_within(request, body_limit(request))
    if allow_empty and not raw.strip():
        raw = b"{}"
    try:
        data = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError included
        message = f"The body is not valid JSON: {exc}"
        raise ApiError(422, message, "invalid_json", ["body"]) from None
    except RecursionError:  # nesting deeper than the interpreter's stack allows
        message = "The body is not valid JSON here: its arrays or objects nest too deep."
        raise ApiError(422, message, "invalid_json", ["body"]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message = validation_message(exc, limit=MAX_REPORTED)
        raise ApiError(422, message, "invalid_input", _fields(exc)) from None


def query_int(
    request: web.Request, name: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    """An integer query parameter within bounds; anything else is a 422 naming it."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, f"{name}: must be a whole number", "invalid_input", [name]) from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        message = f"{name}: must be at least {minimum}{upper}"
        raise ApiError(422, message, "invalid_input", [name])
    return value

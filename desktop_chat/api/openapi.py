"""The OpenAPI 3.1 document, built from the same route table the server registers.

One list of RouteSpec drives both, so a route cannot exist without its documentation.
Schemas come from the pydantic models' own JSON Schema (OpenAPI 3.1 speaks JSON Schema
2020-12, which is what pydantic writes).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from desktop_chat.api.models import ErrorResponse, OpenAIErrorResponse, StreamEvent

# Public routes take the request; the others also the owner (see security.authenticated).
Handler = Callable[..., Awaitable[web.StreamResponse]]
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "query", "header" or "path" (a path parameter is required)
    description: str
    type_: str = "string"


@dataclass(frozen=True)
class RouteSpec:
    """One route: how to serve it and how to document it."""

    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    status: int = 200
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    media_type: str = "application/json"
    public: bool = False
    ticket: bool = False  # also accepts ?ticket= (the stream route)
    files: bool = False  # its body may carry files (base64): the larger body limit
    gateway: bool = False  # OpenAI-compatible: the handler is given the token, errors in
    # OpenAI's shape, and it is cancelled when its client hangs up
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()


_ERROR_TEXT = {
    400: "A request the engine refused (e.g. an empty message).",
    401: "No valid token (or ticket).",
    403: "Host or Origin not allowed.",
    404: "No such conversation, or it belongs to another client.",
    409: "A reply is already being written, or no agent is set up.",
    413: "The body is larger than the limit.",
    415: "The body is not sent as application/json.",
    422: "Bad JSON, or a field that is missing or invalid; `fields` names it.",
    503: "The database is busy or the server is stopping.",
}
# The gateway's answers where they differ: errors of the agent's server among them.
_GATEWAY_ERROR_TEXT = {
    400: "The agent's server refused the request (e.g. `context_length_exceeded`), or the "
    "request holds an image and the agent's model does not read images "
    "(`vision_unsupported`).",
    404: "No agent of that name that this token may use (`model_not_found`), or the "
    "agent's server does not know its model.",
    422: "Bad JSON, or a field that is missing or invalid; `param` names it.",
    429: "The agent's server is rate limiting; Retry-After says for how long.",
    502: "The agent's server failed, could not be reached, or refused the app's key.",
    503: "The server is stopping.",
    504: "The agent's server did not answer in time.",
}


def _operation_id(spec: RouteSpec) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", spec.name).strip("_")


def build_document(routes: Sequence[RouteSpec], version: str) -> dict[str, Any]:
    models: list[type[BaseModel]] = [ErrorResponse, OpenAIErrorResponse, StreamEvent]
    for spec in routes:
        for model in (spec.body, spec.response):
            if model is not None and model not in models:
                models.append(model)
    # A model is described as the API reads it when it is a request body, else as written.
    modes: dict[type[BaseModel], JsonSchemaMode] = {
        m: "validation" if any(s.body is m for s in routes) else "serialization" for m in models
    }
    keys, defs = models_json_schema(list(modes.items()), ref_template=REF)

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return dict(keys[(model, modes[model])])

    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        operation: dict[str, Any] = {
            "operationId": _operation_id(spec),
            "summary": spec.summary,
            "responses": {},
        }
        if spec.public:
            operation["security"] = []
        elif spec.ticket:
            operation["security"] = [{"bearer": []}, {"ticket": []}]
        parameters = (
            [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The conversation's id.",
                }
            ]
            if "{id}" in spec.path
            else []
        )
        parameters += [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path",
                "schema": {"type": p.type_},
                "description": p.description,
            }
            for p in spec.params
        ]
        if parameters:
            operation["parameters"] = parameters
        takes_body = spec.method in ("POST", "PUT", "PATCH")
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(spec.body)}},
            }
        elif takes_body:  # still JSON, so that a browser must ask first (a preflight)
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        success: dict[str, Any] = {"description": "Success."}
        if spec.response is not None:
            success["content"] = {spec.media_type: {"schema": ref(spec.response)}}
        elif spec.gateway:
            success["description"] = (
                "The completion as the agent's server wrote it; with `stream`, Server-Sent "
                "Events of its chunks (`data: {...}`), then `data: [DONE]`."
            )
            success["content"] = {
                "application/json": {"schema": {"type": "object"}},
                "text/event-stream": {"schema": {"type": "string"}},
            }
        elif spec.media_type == "text/event-stream":
            success["description"] = (
                "Server-Sent Events: `id: <seq>` and `data:` a StreamEvent, "
                "heartbeat comment lines between them."
            )
            success["content"] = {"text/event-stream": {"schema": ref(StreamEvent)}}
        elif spec.status != 204:
            # A JSON body without a model of its own (this document) is still an object.
            kind = "object" if spec.media_type == "application/json" else "string"
            success["content"] = {spec.media_type: {"schema": {"type": kind}}}
        operation["responses"][str(spec.status)] = success
        errors = set(spec.errors) | {403}
        if not spec.public:
            errors |= {401}
        if takes_body:
            errors |= {413, 415, 422}
        shape = ref(OpenAIErrorResponse if spec.gateway else ErrorResponse)
        for status in sorted(errors):
            texts = {**_ERROR_TEXT, **_GATEWAY_ERROR_TEXT} if spec.gateway else _ERROR_TEXT
            operation["responses"][str(status)] = {
                "description": texts[status],
                "content": {"application/json": {"schema": shape}},
            }
        path = spec.path.replace("{filename:.+}", "{filename}")
        if "{filename}" in path:
            operation.setdefault("parameters", []).append(
                {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}
            )
        paths.setdefault(path, {})[spec.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "desktop_chat local API",
            "version": version,
            "description": (
                "Conversations, replies streamed as Server-Sent Events, agents and usage of "
                "a desktop_chat installation, and under /v1 an OpenAI-compatible gateway "
                "to its agents. Local only by default; every route but /api/health and the "
                "web page needs `Authorization: Bearer <token>`."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `desktop-chat tokens create NAME`.",
                },
                "ticket": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "ticket",
                    "description": "A single-use stream ticket from POST /api/stream-tickets.",
                },
            },
        },
        "security": [{"bearer": []}],
    }

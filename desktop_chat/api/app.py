"""The route table and the aiohttp application that serves it.

`create_app` builds a complete application around a ConversationService; ApiServer runs
it, and tests may too. The route table below is also what the OpenAPI document is built
from (see openapi.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web

from desktop_chat import __version__
from desktop_chat.api import gateway, page, routes, sse, tools, versions
from desktop_chat.api.auth import TicketBook
from desktop_chat.api.context import CONTEXT, ApiContext
from desktop_chat.api.errors import Handler, error_middleware
from desktop_chat.api.fanout import StreamHub
from desktop_chat.api.finals import FinalMessages
from desktop_chat.api.models import (
    AgentList,
    ChatCompletionRequest,
    ConversationPage,
    ConversationView,
    CreateConversationRequest,
    CurrentRequest,
    ForkRequest,
    Health,
    ModelList,
    RegenerateAccepted,
    RegenerateRequest,
    SendAccepted,
    SendMessageRequest,
    StopResult,
    StreamTicket,
    StreamTicketRequest,
    ToolDecisionRequest,
    ToolDecisionResult,
    UpdateConversationRequest,
)
from desktop_chat.api.openapi import Param, RouteSpec, build_document
from desktop_chat.api.security import (
    MIDDLEWARES_AFTER_ERRORS,
    add_response_headers,
    as_client,
    authenticated,
)
from desktop_chat.engine import ConversationService
from desktop_chat.engine.api_tokens import TokenService
from desktop_chat.engine.gateway import GatewayService
from desktop_chat.schemas import Context, Conversation, ConversationDetail, UsageStats

MAX_BODY = 2 * 1024 * 1024
# Bodies that carry files: a message's files may total 50 MB (engine/attachments.py
# Limits), 67 MB as base64, and an image sent through the gateway is base64 too.
MAX_UPLOAD_BODY = 72 * 1024 * 1024
CONVERSATION = "/api/conversations/{id}"

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("GET", "/", page.index, "page", "The web page.", media_type="text/html",
              public=True),
    RouteSpec("GET", "/static/{filename}", page.asset, "static", "A file of the web page.",
              media_type="application/octet-stream", public=True, errors=(404,)),
    RouteSpec("GET", "/api/health", routes.health, "health", "Is the server up?",
              response=Health, public=True),
    RouteSpec("GET", "/openapi.json", routes.openapi, "openapi", "This document.",
              media_type="application/json"),
    RouteSpec("GET", "/api/agents", routes.list_agents, "list_agents",
              "The agents (never their keys).", response=AgentList),
    RouteSpec("GET", "/api/stats", routes.stats, "stats",
              "Requests, tokens and errors of this client's conversations, by model; "
              "latency and daily figures of the last days.",
              response=UsageStats,
              params=(Param("days", "query",
                            "Days of latency and daily figures, 1 to 366 (default 30).",
                            "integer"),),
              errors=(422,)),
    RouteSpec("POST", "/api/conversations", routes.create_conversation, "create_conversation",
              "Start a conversation.", status=201, body=CreateConversationRequest,
              response=ConversationDetail, errors=(503,)),
    RouteSpec("GET", "/api/conversations", routes.list_conversations, "list_conversations",
              "This client's conversations, pinned first, then most recent.",
              response=ConversationPage,
              params=(Param("limit", "query", "Page size, 1 to 200 (default 50).", "integer"),
                      Param("offset", "query",
                            "How many to skip, 0 to 1,000,000,000 (default 0).", "integer"),
                      Param("q", "query", "Search titles and message text.")),
              errors=(422,)),
    RouteSpec("GET", CONVERSATION, routes.get_conversation, "get_conversation",
              "A conversation with its messages, and the reply in flight if any.",
              response=ConversationView, errors=(404,)),
    RouteSpec("PATCH", CONVERSATION, routes.update_conversation, "update_conversation",
              "Rename, pin or unpin.", body=UpdateConversationRequest, response=Conversation,
              errors=(404,)),
    RouteSpec("DELETE", CONVERSATION, routes.delete_conversation, "delete_conversation",
              "Delete a conversation (stops its reply first).", status=204, errors=(404,)),
    RouteSpec("PUT", CONVERSATION + "/context", routes.replace_context, "replace_context",
              "Replace what the next request sends: preset messages and history.",
              body=Context, response=Context, errors=(404, 409)),
    RouteSpec("POST", CONVERSATION + "/messages", routes.send_message, "send_message",
              "Send a message; the reply streams on the conversation's stream.", status=202,
              body=SendMessageRequest, response=SendAccepted, errors=(400, 404, 409),
              files=True),
    RouteSpec("GET", CONVERSATION + "/files/{sha256}", routes.attachment_file, "attachment_file",
              "A file attached to one of the conversation's messages, by its sha256.",
              media_type="application/octet-stream",
              params=(Param("sha256", "path", "The file's sha256, as its message lists it."),),
              errors=(404,)),
    RouteSpec("POST", CONVERSATION + "/stop", routes.stop_reply, "stop_reply",
              "Stop the reply in flight; its partial text is kept. Body: {} or empty.",
              response=StopResult, errors=(404,)),
    RouteSpec("GET", CONVERSATION + "/stream", sse.stream_handler, "stream",
              "The conversation's events as Server-Sent Events.",
              media_type="text/event-stream", ticket=True,
              params=(Param("ticket", "query", "A stream ticket, instead of a bearer token."),
                      Param("last_event_id", "query",
                            "Resume after this event id (like the Last-Event-ID header).",
                            "integer"),
                      Param("Last-Event-ID", "header", "Resume after this event id.")),
              errors=(404, 422)),
    RouteSpec("POST", CONVERSATION + "/regenerate", versions.regenerate, "regenerate",
              "Answer again; the earlier answer stays as another version. Body: {} or "
              "{\"message_id\": ...}. The new version streams on the conversation's stream.",
              status=202, body=RegenerateRequest, response=RegenerateAccepted,
              errors=(400, 404, 409)),
    RouteSpec("POST", CONVERSATION + "/fork", versions.fork, "fork",
              "A new conversation holding a copy of the current path up to a message.",
              status=201, body=ForkRequest, response=ConversationDetail, errors=(404,)),
    RouteSpec("PUT", CONVERSATION + "/current", versions.set_current, "set_current",
              "Make the path through a message current (a version chosen); the stream "
              "announces it as a `path` event.",
              body=CurrentRequest, response=ConversationDetail, errors=(404, 409)),
    RouteSpec("POST", CONVERSATION + "/tool-calls/{call_id}", tools.answer_tool_call,
              "answer_tool_call",
              "Approve or refuse a tool call announced by a `tool_approval` event.",
              body=ToolDecisionRequest, response=ToolDecisionResult,
              params=(Param("call_id", "path", "The call's id, from the event."),),
              errors=(404,)),
    RouteSpec("POST", "/api/stream-tickets", routes.create_stream_ticket, "create_stream_ticket",
              "A single-use ticket (60 s) to open one conversation's stream with EventSource.",
              status=201, body=StreamTicketRequest, response=StreamTicket, errors=(404,)),
    RouteSpec("GET", "/v1/models", gateway.list_models, "list_models",
              "OpenAI-compatible: the agents this token may use, by name.",
              response=ModelList, gateway=True),
    RouteSpec("POST", "/v1/chat/completions", gateway.chat_completions, "chat_completions",
              "OpenAI-compatible: a chat completion from the agent named as `model`, with its "
              "server, key, parameters and prompt; streamed with `stream: true`.",
              body=ChatCompletionRequest, gateway=True, files=True,
              errors=(400, 404, 429, 502, 503, 504)),
)  # fmt: skip


def _finish_on_disconnect(handler: Handler) -> Handler:
    """Let a change a client asked for be made even if the client hangs up meanwhile.

    The server cancels the handler of a client that went away, so that the gateway stops
    its request upstream at once; a change cancelled halfway (a message stored, its reply
    not started) would be worse than one made for nobody.
    """

    async def shielded(request: web.Request) -> web.StreamResponse:
        return await asyncio.shield(handler(request))

    return shielded


def _handler(spec: RouteSpec) -> Handler:
    if spec.public:
        handler: Handler = spec.handler
    elif spec.gateway:
        handler = as_client(spec.handler)
    else:
        handler = authenticated(spec.handler, tickets=spec.ticket)
    if spec.method == "GET" or spec.gateway:  # reads, and the gateway: stop when cut off
        return handler
    return _finish_on_disconnect(handler)


def create_app(
    service: ConversationService,
    tokens: TokenService,
    gateway: GatewayService,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    heartbeat: float = 15.0,
    cors_origins: Sequence[str] = (),
    extra_hosts: Sequence[str] = (),
    queue_size: int = 1024,
    max_body: int = MAX_BODY,
    max_upload_body: int = MAX_UPLOAD_BODY,
    tickets: TicketBook | None = None,
) -> web.Application:
    """The application; `port` is only for the Host check and may be set once bound."""
    app = web.Application(
        middlewares=[error_middleware, *MIDDLEWARES_AFTER_ERRORS],
        client_max_size=max(max_body, max_upload_body),  # each route's own limit: body_limit
    )
    context = ApiContext(
        service=service,
        tokens=tokens,
        gateway=gateway,
        tickets=tickets or TicketBook(),
        finals=FinalMessages(),
        hub=StreamHub(service.bus, heartbeat),
        host=host.lower(),
        port=port,
        queue_size=queue_size,
        max_body=max_body,
        max_upload_body=max_upload_body,
        upload_routes=frozenset(spec.name for spec in ROUTES if spec.files),
        cors_origins=frozenset(o.strip().lower().rstrip("/") for o in cors_origins),
        extra_hosts=tuple(h.lower() for h in extra_hosts),
        openapi=build_document(ROUTES, __version__),
    )
    app[CONTEXT] = context
    for spec in ROUTES:
        app.router.add_route(spec.method, spec.path, _handler(spec), name=spec.name)
    app.on_response_prepare.append(add_response_headers)
    app.on_startup.append(_attach)
    app.on_shutdown.append(_end_streams)
    app.on_cleanup.append(_detach)
    return app


async def _attach(app: web.Application) -> None:
    """on_startup (again after a stop, too): accept streams, follow the ends of replies."""
    context = app[CONTEXT]
    context.closing = False
    context.finals.attach(context.service.bus)


async def _end_streams(app: web.Application) -> None:
    """on_shutdown: end every open stream now, or the runner would wait out its timeout."""
    context = app[CONTEXT]
    context.closing = True
    context.hub.end_all()
    context.gateway.cancel_all()


async def _detach(app: web.Application) -> None:
    app[CONTEXT].finals.detach()

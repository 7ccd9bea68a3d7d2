"""The JSON routes: thin handlers that validate, call ConversationService, and answer.

Every conversation route passes the caller's owner to the service, which answers "not
found" for a conversation someone else owns: a client cannot even learn that it exists.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel

from desktop_chat import __version__
from desktop_chat.api.context import context_of
from desktop_chat.api.errors import ApiError
from desktop_chat.api.inputs import query_int, read_body
from desktop_chat.api.models import (
    AgentInfo,
    AgentList,
    ConversationPage,
    ConversationView,
    CreateConversationRequest,
    EmptyRequest,
    Health,
    ReplySnapshot,
    SendAccepted,
    SendMessageRequest,
    StopResult,
    StreamTicket,
    StreamTicketRequest,
    UpdateConversationRequest,
    WaitingToolCall,
)
from desktop_chat.engine.attachments import from_bytes
from desktop_chat.schemas import Context
from desktop_chat.store import NotFoundError

DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_QUERY_CHARS = 500
MAX_OFFSET = 1_000_000_000  # SQLite's OFFSET is a 64-bit integer; a larger one would be a 500


def model_response(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=model.model_dump_json().encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def stream_path(conversation_id: str) -> str:
    return f"/api/conversations/{quote(conversation_id, safe='')}/stream"


async def health(request: web.Request) -> web.StreamResponse:
    return model_response(Health(version=__version__))


async def list_agents(request: web.Request, owner: str) -> web.StreamResponse:
    service = context_of(request).service
    agents = await service.list_agents()
    # The keyring may talk over D-Bus: ask it off the event loop, once for all agents.
    has_keys = await asyncio.to_thread(lambda: [service.secrets.has(a.key_ref) for a in agents])
    items = [AgentInfo.of(a, has) for a, has in zip(agents, has_keys, strict=True)]
    return model_response(AgentList(items=items))


async def create_conversation(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    body = await read_body(request, CreateConversationRequest)
    agent_id = None
    if body.agent is not None:
        try:
            agent_id = (await ctx.service.get_agent(body.agent)).agent_id
        except NotFoundError:
            message = f"agent: there is no agent named or with id {body.agent!r}"
            raise ApiError(422, message, "invalid_input", ["agent"]) from None
    if body.context is not None:
        for index, entry in enumerate(body.context.history):
            if entry.id is not None:  # ids name stored messages; a new conversation has none
                field = f"context.history.{index}.id"
                message = f"{field}: must be left out in a new conversation"
                raise ApiError(422, message, "invalid_input", [field])
    created = await ctx.service.create_conversation(
        agent_id=agent_id, title=body.title, owner=owner, context=body.context
    )
    location = f"/api/conversations/{quote(created.id, safe='')}"
    return model_response(created, status=201, headers={"Location": location})


async def list_conversations(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    limit = query_int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    query = request.query.get("q") or None
    if query is not None and len(query) > MAX_QUERY_CHARS:
        message = f"q: must be at most {MAX_QUERY_CHARS} characters"
        raise ApiError(422, message, "invalid_input", ["q"])
    # One more than asked tells whether another page follows, without counting them all.
    found = await ctx.service.list_conversations(
        owner=owner, query=query, limit=limit + 1, offset=offset
    )
    more = len(found) > limit
    page = ConversationPage(
        items=found[:limit],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )
    return model_response(page)


async def get_conversation(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    conversation_id = request.match_info["id"]
    detail = await ctx.service.get_conversation(conversation_id, owner)
    state = ctx.service.in_flight(conversation_id)
    reply = ReplySnapshot.model_validate(state.snapshot()) if state is not None else None
    tools = ctx.service.tools
    if reply is not None and tools is not None:  # a client that came late can still answer
        reply.tool_approvals = [
            WaitingToolCall(call_id=w.call_id, server=w.server, tool=w.tool, arguments=w.arguments)
            for w in tools.approvals.waiting(conversation_id)
        ]
    return model_response(ConversationView(**detail.model_dump(), reply=reply))


async def replace_context(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    body = await read_body(request, Context)
    context = await ctx.service.replace_context(request.match_info["id"], body, owner)
    return model_response(context)


async def update_conversation(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    body = await read_body(request, UpdateConversationRequest)
    updated = await ctx.service.update_conversation(
        request.match_info["id"], title=body.title, pinned=body.pinned, owner=owner
    )
    return model_response(updated)


async def delete_conversation(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    await ctx.service.delete_conversation(request.match_info["id"], owner)
    return web.Response(status=204)


async def send_message(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    conversation_id = request.match_info["id"]
    body = await read_body(request, SendMessageRequest)
    limits = ctx.service.config.attachments
    files = []
    for index, upload in enumerate(body.attachments):
        try:
            data = base64.b64decode(upload.data, validate=True)
        except (binascii.Error, ValueError):
            field = f"attachments.{index}.data"
            raise ApiError(422, f"{field}: must be base64", "invalid_input", [field]) from None
        # Off the loop: scaling a large image takes a while, and other clients stream.
        files.append(await asyncio.to_thread(from_bytes, upload.name, data, limits, upload.mime))
    user = await ctx.service.send(conversation_id, body.text, owner, attachments=files)
    stream = stream_path(conversation_id)
    return model_response(SendAccepted(message=user, stream=stream), status=202)


async def attachment_file(request: web.Request, owner: str) -> web.StreamResponse:
    """A file of one of the caller's conversations, as it was sent to the model."""
    ctx = context_of(request)
    attachment, data = await ctx.service.attachment_file(
        request.match_info["id"], request.match_info["sha256"], owner
    )
    return web.Response(
        body=data,
        content_type=attachment.mime,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def stop_reply(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    conversation_id = request.match_info["id"]
    await read_body(request, EmptyRequest, allow_empty=True)
    await ctx.service.conversation_summary(conversation_id, owner)  # 404 for anyone else's
    stopped = await ctx.service.stop(conversation_id)
    return model_response(StopResult(stopped=stopped))


async def create_stream_ticket(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    body = await read_body(request, StreamTicketRequest)
    await ctx.service.conversation_summary(body.conversation_id, owner)
    ticket = ctx.tickets.mint(owner, body.conversation_id)
    stream = f"{stream_path(body.conversation_id)}?ticket={quote(ticket, safe='')}"
    answer = StreamTicket(ticket=ticket, expires_in=round(ctx.tickets.ttl), stream=stream)
    return model_response(answer, status=201)


async def stats(request: web.Request, owner: str) -> web.StreamResponse:
    days = query_int(request, "days", 30, 1, 366)
    return model_response(await context_of(request).service.usage.stats(owner, days))


async def openapi(request: web.Request, owner: str) -> web.StreamResponse:
    return web.json_response(context_of(request).openapi)

"""Reply versions over HTTP: answer again, fork at a message, choose the current path.

Nothing here overwrites: a regenerated answer and the earlier one are siblings in the
conversation's tree, and the stream tells every client the new current path (`path`).
"""

from __future__ import annotations

from aiohttp import web

from desktop_chat.api.context import context_of
from desktop_chat.api.inputs import read_body
from desktop_chat.api.models import (
    CurrentRequest,
    ForkRequest,
    RegenerateAccepted,
    RegenerateRequest,
)
from desktop_chat.api.routes import model_response, stream_path


async def regenerate(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    conversation_id = request.match_info["id"]
    body = await read_body(request, RegenerateRequest, allow_empty=True)
    await ctx.service.regenerate(conversation_id, owner, body.message_id)
    return model_response(RegenerateAccepted(stream=stream_path(conversation_id)), status=202)


async def fork(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    body = await read_body(request, ForkRequest)
    created = await ctx.service.fork(request.match_info["id"], body.at, owner)
    return model_response(created, status=201)


async def set_current(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    body = await read_body(request, CurrentRequest)
    detail = await ctx.service.show_version(request.match_info["id"], body.message_id, owner)
    return model_response(detail)

"""Tool calls waiting for approval, answered over HTTP.

A call that needs approval is announced on the conversation's stream as a
`tool_approval` event; any client of that conversation may answer it here, as the window
may. The first answer counts; a call answered already (or never asked) is "not found".
"""

from __future__ import annotations

from aiohttp import web

from desktop_chat.api.context import context_of
from desktop_chat.api.inputs import read_body
from desktop_chat.api.models import ToolDecisionRequest, ToolDecisionResult
from desktop_chat.api.routes import model_response
from desktop_chat.engine.approvals import Decision
from desktop_chat.store import NotFoundError


async def answer_tool_call(request: web.Request, owner: str) -> web.StreamResponse:
    ctx = context_of(request)
    conversation_id = request.match_info["id"]
    call_id = request.match_info["call_id"]
    await ctx.service.conversation_summary(conversation_id, owner)  # 404 for other clients'
    body = await read_body(request, ToolDecisionRequest)
    tools = ctx.service.tools
    waiting = tools is not None and any(
        r.call_id == call_id for r in tools.approvals.waiting(conversation_id)
    )
    if not waiting or tools is None or not tools.approvals.answer(call_id, Decision(body.decision)):
        raise NotFoundError("tool call waiting for approval", call_id)
    return model_response(ToolDecisionResult(call_id=call_id, decision=body.decision))

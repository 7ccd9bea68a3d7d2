"""`/v1/models` and `/v1/chat/completions`: the local API as an OpenAI-compatible server.

Thin handlers over the engine's GatewayService, which owns each request's life. A stream
is answered only once its first chunk has come, so that a failure before that (a rate
limit with its Retry-After, an unknown model) still gets an HTTP status of its own; one
after that ends the stream with an error event, as OpenAI's own streams do. A client
that hangs up cancels this handler (the server runs with handler cancellation), which
cancels the request upstream.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from desktop_chat.api.context import context_of
from desktop_chat.api.errors import error_body, map_known
from desktop_chat.api.inputs import read_body
from desktop_chat.api.models import ChatCompletionRequest, ModelCard, ModelList
from desktop_chat.api.routes import model_response
from desktop_chat.api.sse import HEADERS
from desktop_chat.engine.gateway import GatewayCall, GatewayError, GatewayRequest
from desktop_chat.schemas import ApiToken

log = logging.getLogger(__name__)

DONE = b"data: [DONE]\n\n"


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _event(data: object) -> bytes:
    return b"data: " + _dumps(data).encode() + b"\n\n"


async def list_models(request: web.Request, token: ApiToken) -> web.StreamResponse:
    agents = await context_of(request).gateway.models(token)
    return model_response(ModelList(data=[ModelCard.of(a) for a in agents]))


async def chat_completions(request: web.Request, token: ApiToken) -> web.StreamResponse:
    body = await read_body(request, ChatCompletionRequest)
    options = body.stream_options
    asked = GatewayRequest(
        model=body.model,
        messages=[m.model_dump(exclude_unset=True) for m in body.messages],
        stream=body.stream,
        include_usage=options is not None and options.include_usage,
        params=dict(body.model_extra or {}),
    )
    call = await context_of(request).gateway.start(token, asked)
    try:
        answer = await call.answer()
        if answer is not None:
            return web.json_response(answer, dumps=_dumps)
        response = web.StreamResponse(status=200, headers=HEADERS)
        await response.prepare(request)
        try:
            await _relay(call, response)
        except ConnectionResetError:
            log.debug("A gateway client went away mid-stream")
        return response
    finally:
        call.cancel()  # a no-op once it has ended; otherwise the client has gone


async def _relay(call: GatewayCall, response: web.StreamResponse) -> None:
    """The chunks, then [DONE]; or, failing midway (the status is sent), an error event."""
    try:
        async for chunk in call.chunks():
            await response.write(_event(chunk))
    except GatewayError as exc:
        refusal = map_known(exc)
        assert refusal is not None
        await response.write(_event(error_body(refusal, openai_shape=True)))
    else:
        await response.write(DONE)

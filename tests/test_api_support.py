"""Helpers for the local API tests: a running ApiServer, a real HTTP client, an SSE reader.

No tests here. The SSE reader parses the stream by hand (fields, comments, blank-line
dispatch) so that the tests see exactly the bytes a browser's EventSource would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from desktop_chat.api import ApiServer
from desktop_chat.app import Core


@dataclass
class SseEvent:
    id: int | None
    type: str
    data: dict[str, Any]


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any

    @property
    def error(self) -> dict[str, Any]:
        return self.body["error"]


class SseStream:
    """Reads one text/event-stream response event by event."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.retry: int | None = None
        self.comments: list[str] = []
        self.events: list[SseEvent] = []
        self.last_id: int | None = None

    async def _block(self) -> tuple[list[str], bool]:
        """The lines of one block up to a blank line; True when the stream has ended."""
        lines: list[str] = []
        while True:
            raw = await self.response.content.readline()
            if not raw:
                return lines, True
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                return lines, False
            lines.append(line)

    async def next(self, timeout: float = 10.0) -> SseEvent | None:
        """The next event (comments and retry hints recorded on the way); None at the end."""
        async with asyncio.timeout(timeout):
            while True:
                lines, ended = await self._block()
                event_id: int | None = None
                data: list[str] = []
                for line in lines:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "":
                        self.comments.append(value)
                    elif name == "id":
                        event_id = int(value)
                    elif name == "data":
                        data.append(value)
                    elif name == "retry":
                        self.retry = int(value)
                if data:
                    payload = json.loads("\n".join(data))
                    event = SseEvent(event_id, payload["type"], payload["data"])
                    if event_id is not None:
                        self.last_id = event_id
                    self.events.append(event)
                    return event
                if ended:
                    return None

    async def until(self, type_: str, timeout: float = 10.0) -> list[SseEvent]:
        """Events up to and including the first of `type_`."""
        seen: list[SseEvent] = []
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next(timeout)
                assert event is not None, f"the stream ended before a {type_} event: {seen}"
                seen.append(event)
                if event.type == type_:
                    return seen

    async def comment(self, timeout: float = 10.0) -> str:
        """Wait for the next comment line (a heartbeat); fails on any event meanwhile."""
        count = len(self.comments)
        async with asyncio.timeout(timeout):
            while len(self.comments) == count:
                lines, ended = await self._block()
                assert not ended, "the stream ended"
                for line in lines:
                    if line.startswith("retry:"):
                        self.retry = int(line.removeprefix("retry:"))
                        continue
                    assert line.startswith(":"), f"an event arrived before a heartbeat: {lines}"
                    self.comments.append(line[1:].strip())
        return self.comments[count]


@dataclass
class Api:
    server: ApiServer
    session: aiohttp.ClientSession
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.server.url

    async def token(self, name: str = "alice") -> str:
        if name not in self.tokens:
            _, self.tokens[name] = await self.server.tokens.create(name)
        return self.tokens[name]

    async def headers(self, token: str | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(extra or {})
        return headers

    async def call(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        as_: str | None = "alice",
        headers: dict[str, str] | None = None,
        data: bytes | str | None = None,
    ) -> Reply:
        token = await self.token(as_) if as_ else None
        sent = await self.headers(token, headers)
        kwargs: dict[str, Any] = {"headers": sent}
        if json_body is not None:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data
        async with self.session.request(method, self.base + path, **kwargs) as response:
            raw = await response.read()
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            return Reply(response.status, body, response.headers)

    async def conversation(self, as_: str = "alice", **body: Any) -> dict[str, Any]:
        reply = await self.call("POST", "/api/conversations", body, as_=as_)
        assert reply.status == 201, reply.body
        return reply.body

    @asynccontextmanager
    async def stream(
        self,
        conversation_id: str,
        *,
        as_: str = "alice",
        last_event_id: int | None = None,
        path: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> AsyncIterator[SseStream]:
        headers = await self.headers(await self.token(as_) if path is None else None, None)
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        url = self.base + (path or f"/api/conversations/{conversation_id}/stream")
        async with (session or self.session).get(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            stream = SseStream(response)
            yield stream


@asynccontextmanager
async def running_api(core: Core, *, port: int = 0, **options: Any) -> AsyncIterator[Api]:
    """An ApiServer (on a free port unless `port` is given) and a client session.

    Both are closed afterwards, the server even if the test stopped it or started it again.
    """
    options.setdefault("tokens", core.tokens)
    options.setdefault("gateway", core.gateway)
    server = ApiServer(core.service, host="127.0.0.1", port=port, **options)
    await server.start()
    connector = aiohttp.TCPConnector(limit=0)  # the 100-subscriber test opens 100 at once
    session = aiohttp.ClientSession(connector=connector)
    try:
        yield Api(server, session)
    finally:
        await session.close()
        await server.stop()

"""MCP servers at run time: started on first use, asked for their tools, stopped at quit.

Each server is held open by a task of its own: the SDK's transports and ClientSession
are anyio context managers that must be entered and left in one task, while the calls
come from the replies' tasks. A server that dies (its process ended, its connection
dropped) is marked so; the next use starts it again, and the call that found it dead is
answered with a sentence that says so, for the model and the user to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from desktop_chat.schemas import McpServer, McpTool
from desktop_chat.sentences import N_

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0  # seconds a server may take to start and list its tools

NOT_STARTED = N_("The MCP server {server} could not be started: {reason}")
STOPPED_DURING_CALL = N_(
    "The MCP server {server} stopped while running {tool}; it is started again on the next call."
)
CALL_TIMED_OUT = N_("The tool {tool} took longer than {seconds} seconds and was stopped.")
CALL_FAILED = N_("The tool {tool} failed: {reason}")


class McpError(Exception):
    """A server could not be reached, or a call failed; `user_message` says which."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class ToolResult:
    """What a call gave: its text (for the model) and whether it was an error."""

    text: str
    is_error: bool = False


SDK_MODULES = ("mcp.client.session", "mcp.client.stdio", "mcp.client.streamable_http")


def _import_sdk() -> None:
    for name in SDK_MODULES:
        importlib.import_module(name)


async def load_sdk() -> None:
    """Import the SDK in a worker thread: on the event loop its 0.9 s would freeze the window."""
    if any(name not in sys.modules for name in SDK_MODULES):
        await asyncio.to_thread(_import_sdk)


def _reason(exc: BaseException) -> str:
    """A short reason from an exception (a group: its first leaf), no traceback."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    return text[:300]


def result_text(result: Any) -> str:
    """The text of a CallToolResult: its text blocks, or its structured value as JSON."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
        else:
            parts.append(f"[{getattr(block, 'type', 'content')}]")
    if not parts and getattr(result, "structured_content", None) is not None:
        import json

        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


class McpConnection:
    """One running server, held open by its own task until stopped or dead."""

    def __init__(
        self, server: McpServer, headers: dict[str, str], env: dict[str, str], errlog: IO[str]
    ) -> None:
        self.server = server
        self._headers = headers
        self._env = env
        self._errlog = errlog
        self._session: Any = None
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[list[McpTool]] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None
        self.alive = False
        self.tools: list[McpTool] = []

    async def start(self, timeout: float = START_TIMEOUT) -> list[McpTool]:
        self._task = asyncio.get_running_loop().create_task(
            self._hold(), name=f"mcp-{self.server.name}"
        )
        try:
            async with asyncio.timeout(timeout):
                self.tools = await asyncio.shield(self._ready)
        except TimeoutError:
            await self.stop()
            raise McpError(
                NOT_STARTED.format(
                    server=self.server.name, reason=f"no answer within {timeout:g} seconds"
                )
            ) from None
        except (McpError, asyncio.CancelledError):  # a reply stopped while it started, too
            await asyncio.shield(self.stop())
            raise
        return self.tools

    async def _hold(self) -> None:
        from mcp.client.session import ClientSession  # the SDK loads with the first server

        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                listed = await session.list_tools()
                tools = [
                    McpTool(
                        server=self.server.name,
                        name=t.name,
                        description=t.description or "",
                        input_schema=dict(t.input_schema or {}),
                    )
                    for t in listed.tools
                ]
                self._session = session
                self.alive = True
                self._ready.set_result(tools)
                await self._stop.wait()
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # the SDK raises groups, OSError, its own errors
            log.warning("MCP server %s ended: %s", self.server.name, _reason(exc))
            self._fail_start(_reason(exc))
        finally:
            self.alive = False
            self._session = None
            self._fail_start("it stopped")

    def _fail_start(self, reason: str) -> None:
        """Tell start() why the server did not come up (if it still waits: it may not)."""
        if not self._ready.done():
            self._ready.set_exception(
                McpError(NOT_STARTED.format(server=self.server.name, reason=reason))
            )
            self._ready.exception()  # seen here: a start() that gave up logs no warning

    def _transport(self) -> contextlib.AbstractAsyncContextManager[Any]:
        if self.server.transport == "http":
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            client = httpx2.AsyncClient(
                headers=self._headers, timeout=httpx2.Timeout(30.0, read=300.0)
            )
            return streamable_http_client(self.server.url, http_client=client)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=self.server.command,
            args=self.server.args,
            env=self._env or None,
            cwd=self.server.cwd or None,
        )
        return stdio_client(params, errlog=self._errlog)

    async def call(self, tool: str, arguments: dict[str, Any], timeout: float) -> ToolResult:
        """Run `tool`; a timeout or a dead server is an McpError with its sentence."""
        session = self._session
        if session is None or not self.alive:
            raise McpError(STOPPED_DURING_CALL.format(server=self.server.name, tool=tool))
        try:
            async with asyncio.timeout(timeout):
                result = await session.call_tool(tool, arguments)
        except TimeoutError:
            raise McpError(CALL_TIMED_OUT.format(tool=tool, seconds=f"{timeout:g}")) from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._task or self._task.done() or _is_closed(exc):
                self.alive = False
                raise McpError(
                    STOPPED_DURING_CALL.format(server=self.server.name, tool=tool)
                ) from None
            raise McpError(CALL_FAILED.format(tool=tool, reason=_reason(exc))) from None
        return ToolResult(result_text(result), bool(getattr(result, "is_error", False)))

    async def stop(self) -> None:
        self._stop.set()
        task = self._task
        if task is not None and not task.done() and not self.alive:
            task.cancel()  # still starting: nothing to close politely
        if task is not None and not task.done():
            try:
                async with asyncio.timeout(5):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


def _is_closed(exc: BaseException) -> bool:
    return "closed" in str(exc).lower()


class McpRuntime:
    """The running servers by name: started on first use, restarted after a crash."""

    def __init__(self, log_folder: Path | None = None) -> None:
        self._log_folder = log_folder
        self._connections: dict[str, McpConnection] = {}
        self._starting: dict[str, asyncio.Lock] = {}
        self._errlog: IO[str] | None = None

    def _server_log(self) -> IO[str]:
        """Where servers' own stderr goes: a log file beside ours, or nowhere."""
        if self._errlog is None:
            if self._log_folder is not None:
                self._log_folder.mkdir(parents=True, exist_ok=True)
                path = self._log_folder / "mcp-servers.log"
                self._errlog = path.open("a", encoding="utf-8")
            else:
                self._errlog = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
        return self._errlog

    async def connection(
        self, server: McpServer, headers: dict[str, str], env: dict[str, str]
    ) -> McpConnection:
        """The running connection to `server`, started (again) when it is not running."""
        lock = self._starting.setdefault(server.name, asyncio.Lock())
        async with lock:
            current = self._connections.get(server.name)
            if current is not None and current.alive and current.server == server:
                return current
            if current is not None:
                await current.stop()
                self._connections.pop(server.name, None)
            await load_sdk()
            started = time.monotonic()
            fresh = McpConnection(server, headers, env, self._server_log())
            await fresh.start()
            log.info(
                "MCP server %s started in %.0f ms with %d tools",
                server.name,
                (time.monotonic() - started) * 1000,
                len(fresh.tools),
            )
            self._connections[server.name] = fresh
            return fresh

    def running(self, name: str) -> bool:
        found = self._connections.get(name)
        return found is not None and found.alive

    async def stop(self, name: str) -> None:
        found = self._connections.pop(name, None)
        if found is not None:
            await found.stop()

    async def aclose(self) -> None:
        for name in list(self._connections):
            await self.stop(name)
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

"""Tools for replies: the MCP servers' settings, their tools by name, and calling them.

Server settings live in the store, header and environment values (tokens, keys) in the
keyring like API keys, never in the database. A model sees each tool as `server__tool`
(letters, digits, `_` and `-`, at most 64 characters, as the chat-completions API
requires), made unique; the reply loop maps a call back to its server through the
ToolSet it was offered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from desktop_chat.engine.approvals import ToolApprovals
from desktop_chat.engine.errors import InputError
from desktop_chat.engine.mcp_servers import McpConnection, McpError, McpRuntime, ToolResult
from desktop_chat.schemas import Agent, McpServer, McpTool, validation_message
from desktop_chat.secrets import SecretStore
from desktop_chat.sentences import N_
from desktop_chat.store import Store

log = logging.getLogger(__name__)

NOT_AN_IMPORT = N_(
    "This file is not an MCP servers file: it needs an mcpServers object whose entries "
    "each have a command or a url. {problem}"
)
SERVER_OFF = N_("The MCP server {server} is turned off.")

DEFAULT_CALL_TIMEOUT = 60.0
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def secret_ref(server: str, kind: str, name: str) -> str:
    """The keyring entry holding one header (`kind` "header") or environment value."""
    return f"mcp-{kind}:{server}:{name}"


def tool_name(server: str, tool: str, taken: set[str]) -> str:
    """`server__tool`, in the characters and length the API allows, unique among `taken`."""
    base = _NAME_CHARS.sub("_", f"{server}__{tool}")[:64] or "tool"
    name, n = base, 2
    while name in taken:
        suffix = f"_{n}"
        name, n = base[: 64 - len(suffix)] + suffix, n + 1
    return name


@dataclass
class ToolSet:
    """The tools offered to one reply: their API names, and where each one lives."""

    tools: dict[str, McpTool] = field(default_factory=dict)

    def specs(self) -> list[dict[str, Any]]:
        """The request's `tools`: each tool's JSON schema, as the chat-completions API wants."""
        specs = []
        for name, tool in self.tools.items():
            schema = tool.input_schema or {"type": "object", "properties": {}}
            function: dict[str, Any] = {"name": name, "parameters": schema}
            if tool.description:
                function["description"] = tool.description[:1024]
            specs.append({"type": "function", "function": function})
        return specs

    def __bool__(self) -> bool:
        return bool(self.tools)


def parse_import(raw: str) -> list[McpServer]:
    """Servers from the `mcpServers` JSON other desktop clients write; InputError if not."""
    try:
        data = json.loads(raw)
        entries = data["mcpServers"]
        if not isinstance(entries, dict):
            raise TypeError("mcpServers is not an object")
        servers = []
        for name, entry in entries.items():
            if "url" in entry:
                servers.append(
                    McpServer(
                        name=name,
                        transport="http",
                        url=entry["url"],
                        headers=dict(entry.get("headers") or {}),
                    )
                )
            else:
                servers.append(
                    McpServer(
                        name=name,
                        command=entry["command"],
                        args=list(entry.get("args") or []),
                        env=dict(entry.get("env") or {}),
                        cwd=entry.get("cwd"),
                    )
                )
    except ValidationError as exc:
        raise InputError(NOT_AN_IMPORT.format(problem=validation_message(exc, 3))) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(NOT_AN_IMPORT.format(problem=str(exc)[:200])) from None
    return servers


class ToolService:
    """Where replies, the window, the command line and the API find servers and tools."""

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        *,
        log_folder: Path | None = None,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        max_rounds: int = 10,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.runtime = McpRuntime(log_folder)
        self.approvals = ToolApprovals()
        self.call_timeout = call_timeout
        self.max_rounds = max_rounds

    # Settings ----------------------------------------------------------------------

    async def servers(self) -> list[McpServer]:
        return await self.store.run(lambda r: r.mcp_servers.list())

    async def get_server(self, name: str) -> McpServer:
        return await self.store.run(lambda r: r.mcp_servers.get(name))

    async def save_server(self, server: McpServer, *, session_only: bool = False) -> McpServer:
        """Store a server; header and environment values go to the keyring, their names
        to the store (values left out keep those stored)."""
        headers = await self._keep(
            server.name, "header", server.headers, server.secret_headers, session_only
        )
        env = await self._keep(server.name, "env", server.env, server.secret_env, session_only)
        kept = server.model_copy(
            update={"secret_headers": headers, "headers": {}, "secret_env": env, "env": {}}
        )
        saved = await self.store.run(lambda r: r.mcp_servers.save(kept))
        await self.runtime.stop(server.name)  # its settings may have changed
        return saved

    async def _keep(
        self,
        server: str,
        kind: str,
        values: dict[str, str],
        names: list[str],
        session_only: bool = False,
    ) -> list[str]:
        kept = list(names)
        for name, value in values.items():
            if not value.strip():
                continue
            ref = secret_ref(server, kind, name)
            await asyncio.to_thread(self.secrets.set, ref, value, session_only)
            if name not in kept:
                kept.append(name)
        return kept

    async def remove_server(self, name: str) -> None:
        server = await self.get_server(name)
        await self.runtime.stop(name)
        await self.store.run(lambda r: r.mcp_servers.remove(name))
        for kind, names in (("header", server.secret_headers), ("env", server.secret_env)):
            for secret in names:
                await asyncio.to_thread(self.secrets.delete, secret_ref(name, kind, secret))

    async def import_servers(self, raw: str) -> list[McpServer]:
        """Add (or replace) every server of an `mcpServers` JSON text."""
        return [await self.save_server(s) for s in parse_import(raw)]

    # Running -----------------------------------------------------------------------

    async def _values(self, server: str, kind: str, names: list[str]) -> dict[str, str]:
        found = {}
        for name in names:
            value = await asyncio.to_thread(self.secrets.get_own, secret_ref(server, kind, name))
            if value is not None:
                found[name] = value
        return found

    async def _connection(self, server: McpServer) -> McpConnection:
        headers = await self._values(server.name, "header", server.secret_headers)
        env = await self._values(server.name, "env", server.secret_env)
        return await self.runtime.connection(server, headers, env)

    async def tools_of(self, server: McpServer) -> list[McpTool]:
        """Start the server if needed and list its tools (the Settings' and CLI's test)."""
        return (await self._connection(server)).tools

    async def toolset_for(self, agent: Agent) -> ToolSet:
        """The tools an agent's reply may call; a server that cannot start is left out."""
        if agent.tools == "none":
            return ToolSet()
        servers = [s for s in await self.servers() if s.enabled]
        if isinstance(agent.tools, list):
            servers = [s for s in servers if s.name in agent.tools]
        found = ToolSet()
        for server in servers:
            try:
                tools = await self.tools_of(server)
            except McpError as exc:
                log.warning("Tools of %s left out: %s", server.name, exc.user_message)
                continue
            for tool in tools:
                found.tools[tool_name(server.name, tool.name, set(found.tools))] = tool
        return found

    async def call(self, tool: McpTool, arguments: dict[str, Any]) -> ToolResult:
        """Run a tool; every failure is an McpError with a sentence for model and user."""
        server = await self.get_server(tool.server)
        if not server.enabled:
            raise McpError(SERVER_OFF.format(server=server.name))
        connection = await self._connection(server)
        return await connection.call(tool.name, arguments, self.call_timeout)

    async def restart(self, name: str) -> list[McpTool]:
        await self.runtime.stop(name)
        return await self.tools_of(await self.get_server(name))

    async def aclose(self) -> None:
        self.approvals.aclose()
        await self.runtime.aclose()

"""`desktop-chat mcp ...`, and how `ask` shows tool calls and has them approved.

On a terminal, each call is asked about (once, always, or no); `--allow-tools` lets
every call run; with no terminal and no flag a call is refused, and the model is told.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from desktop_chat.app import Core
from desktop_chat.commands.common import EXIT_OK, EXIT_USAGE, CliError
from desktop_chat.engine.approvals import ApprovalRequest, Approver, Decision
from desktop_chat.engine.events import EngineEvent, ToolCallFinished, ToolCallStarted
from desktop_chat.schemas import McpServer, validation_message

SHOWN = 300  # characters of arguments and results printed per call


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def show_tool_event(event: EngineEvent) -> None:
    """A line on stderr per call and per result, so stdout keeps only the answer."""
    if isinstance(event, ToolCallStarted):
        print(f"\n[tool] {event.server}/{event.tool} {_short(event.arguments)}", file=sys.stderr)
    elif isinstance(event, ToolCallFinished):
        mark = "error" if event.is_error else "result"
        took = f"{event.duration_ms / 1000:.1f} s"
        print(f"[tool] {mark} ({took}): {_short(event.result)}", file=sys.stderr)


async def _read_line() -> str:
    """A line from the terminal without a thread, so Ctrl+C (Stop) is never held up."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()
    fd = sys.stdin.fileno()

    def ready() -> None:
        if not answer.done():
            answer.set_result(sys.stdin.readline())

    loop.add_reader(fd, ready)
    try:
        return await answer
    finally:
        loop.remove_reader(fd)


def cli_approver(allow_all: bool) -> Approver:
    """--allow-tools: yes; a terminal: ask; neither: no (the model reads it was refused)."""

    async def approve(request: ApprovalRequest) -> Decision:
        if allow_all:
            return Decision.ONCE
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            print(
                f"[tool] {request.server}/{request.tool} refused: no terminal to ask on "
                "(use --allow-tools to let tools run)",
                file=sys.stderr,
            )
            return Decision.DENY
        print(
            f"Run {request.server}/{request.tool} {_short(request.arguments)}?"
            " [y]es once, [a]lways, [N]o: ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        reply = (await _read_line()).strip().lower()
        if reply in ("a", "always"):
            return Decision.ALWAYS
        return Decision.ONCE if reply in ("y", "yes") else Decision.DENY

    return approve


def _pairs(items: list[str], what: str) -> dict[str, str]:
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"{what} {item!r} is not KEY=VALUE", EXIT_USAGE)
        found[key] = value
    return found


async def mcp_command(core: Core, args: argparse.Namespace) -> int:
    tools = core.tools
    if args.action == "add":
        command = list(args.server_command or [])
        if command[:1] == ["--"]:
            command = command[1:]
        if bool(command) == bool(args.url):
            raise CliError("give either -- COMMAND [ARGS...] or --url URL", EXIT_USAGE)
        try:
            server = McpServer(
                name=args.name,
                transport="http" if args.url else "stdio",
                url=args.url or "",
                command=command[0] if command else "",
                args=command[1:],
                env=_pairs(args.env, "--env"),
                cwd=args.cwd,
                headers=_pairs(args.header, "--header"),
                enabled=not args.disabled,
            )
        except ValueError as exc:
            raise CliError(f"invalid server: {validation_message(exc)}", EXIT_USAGE) from None
        saved = await tools.save_server(server)
        print(f"Saved MCP server {saved.name}.")
    elif args.action == "list":
        for server in await tools.servers():
            where = (
                server.url
                if server.transport == "http"
                else " ".join([server.command, *server.args])
            )
            state = "" if server.enabled else " (off)"
            print(f"{server.name}{state}\t{server.transport}\t{where}")
            if not server.enabled:
                continue
            try:
                found = await tools.tools_of(server)
            except Exception as exc:  # a server that cannot start: say so, list the others
                print(f"  ! {getattr(exc, 'user_message', exc)}")
                continue
            for tool in found:
                print(f"  {tool.name}\t{_short(tool.description)}")
    elif args.action == "remove":
        await tools.remove_server(args.name)
        print(f"Removed MCP server {args.name}.")
    else:
        try:
            with open(args.file, encoding="utf-8") as file:
                raw = file.read()
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror}", EXIT_USAGE) from None
        saved = await tools.import_servers(raw)
        print(f"Imported {len(saved)} MCP servers: {', '.join(s.name for s in saved)}.")
    return EXIT_OK

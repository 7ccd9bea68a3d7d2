"""The headless commands of `desktop-chat` (agents, ask, list, export, import, serve, tokens,
backup, restore, repair).

Exit codes a script can rely on: 0 done, 1 the model or server failed, 2 bad usage or
input, 3 not found, 4 local storage or keyring problem, 130 stopped with Ctrl+C, 141 the
output was closed early (`| head`; a reply is then stopped and kept).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from desktop_chat.app import Core
from desktop_chat.engine import EngineError
from desktop_chat.engine.agents import KeyStatus
from desktop_chat.engine.collector import FullCollectionsWaitForReplies
from desktop_chat.engine.events import EngineEvent, ReplyDelta, ReplyDone, ReplyFailed
from desktop_chat.engine.failures import Category, describe
from desktop_chat.paths import default_paths
from desktop_chat.schemas import (
    Agent,
    AgentParams,
    ChatMessage,
    MessageStatus,
    validation_message,
)
from desktop_chat.secrets import ENV_FALLBACK
from desktop_chat.store import StoreError
from desktop_chat.store.backup import backups_folder, restore
from desktop_chat.store.database import repair_search_index
from desktop_chat.transfer import ImportError_, export_json, export_markdown, parse_import

EXIT_OK, EXIT_UPSTREAM, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_LOCAL, EXIT_INTERRUPTED = (
    0,
    1,
    2,
    3,
    4,
    130,
)


EXIT_CODES = {
    Category.NOT_FOUND: EXIT_NOT_FOUND,
    Category.CONFLICT: EXIT_USAGE,
    Category.INVALID: EXIT_USAGE,
    Category.UNAVAILABLE: EXIT_USAGE,
    Category.LOCAL: EXIT_LOCAL,
    Category.UPSTREAM: EXIT_UPSTREAM,
}


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command against the user's data; the exit code says how it went."""
    try:
        if args.command in FILE_COMMANDS:
            return FILE_COMMANDS[args.command](args)
        return asyncio.run(_with_core(COMMANDS[args.command], args))
    except CliError as exc:
        print(f"desktop-chat: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


async def _with_core(
    command: Callable[[Core, argparse.Namespace], Awaitable[int]], args: argparse.Namespace
) -> int:
    try:
        core = await Core.open(for_reading=_only_reads(args))
    except StoreError as exc:
        raise CliError(exc.user_message, EXIT_LOCAL) from None
    try:
        return await command(core, args)
    except Exception as exc:
        failure = describe(exc)
        if failure is None:
            raise
        raise CliError(failure.message, EXIT_CODES[failure.category]) from None
    finally:
        await core.aclose()


def _only_reads(args: argparse.Namespace) -> bool:
    """Commands that still work when the data folder cannot be written (read-only, full)."""
    return args.command in ("list", "export") or (
        args.command in ("agents", "tokens") and args.action == "list"
    )


async def _backup(core: Core, args: argparse.Namespace) -> int:
    if args.list:
        for backup in core.backups.list():
            stamp = backup.created.strftime("%Y-%m-%d %H:%M:%S")
            print(f"{backup.path}\t{stamp}\t{backup.reason}\t{backup.size}")
        return EXIT_OK
    made = await core.backups.backup_now()
    print(made.path)
    return EXIT_OK


# Agents ----------------------------------------------------------------------------


KEY_WORDS = {
    KeyStatus.STORED: "key set",
    KeyStatus.SESSION: "key for this session",
    KeyStatus.ENVIRONMENT: f"key from {ENV_FALLBACK}",
    KeyStatus.NONE: "no key",
}


async def _agents(core: Core, args: argparse.Namespace) -> int:
    """The agents and their keys, by the same rules as the window (engine.agents)."""
    agents = core.agents
    if args.action == "list":
        for agent in await agents.list():
            mark = "*" if agent.is_default else " "
            key = KEY_WORDS[await agents.key_status(agent.key_ref)]
            print(f"{mark} {agent.name}\t{agent.model}\t{agent.base_url}\t{key}\t{agent.agent_id}")
        return EXIT_OK
    if args.action == "remove":
        removed = await agents.remove(args.agent)
        print(f"Removed agent {removed.name}.")
        return EXIT_OK
    base = await agents.get(args.agent) if args.action == "edit" else None
    # No session-only keys here: the process ends with the command, and the key with it.
    saved = (await agents.save(_agent_from_args(args, base), _read_key(args) or "")).agent
    print(f"Saved agent {saved.name} ({saved.agent_id}).")
    return EXIT_OK


def _agent_from_args(args: argparse.Namespace, base: Agent | None) -> Agent:
    data = base.model_dump() if base else {}
    for field, value in (
        ("name", args.name),
        ("base_url", args.base_url),
        ("model", args.model),
        ("provider", args.provider),
    ):
        if value is not None:
            data[field] = value
    params = dict(data.get("params") or {})
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    try:
        data["params"] = AgentParams.model_validate(params).model_dump()
        if args.system is not None:
            rest = [m for m in data.get("preset_messages", []) if m["role"] != "system"]
            data["preset_messages"] = [
                ChatMessage(role="system", content=args.system).model_dump(),
                *rest,
            ]
        if args.default:
            data["is_default"] = True
        return Agent.model_validate(data)
    except ValueError as exc:
        raise CliError(f"invalid agent: {validation_message(exc)}", EXIT_USAGE) from None


def _read_key(args: argparse.Namespace) -> str | None:
    if args.key_env:
        secret = os.environ.get(args.key_env)
        if not secret:
            raise CliError(f"the environment variable {args.key_env} is empty or unset", EXIT_USAGE)
        return secret
    if args.key_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise CliError("no key was given on stdin", EXIT_USAGE)
        return secret
    return None


# Conversations ---------------------------------------------------------------------


async def _ask(core: Core, args: argparse.Namespace) -> int:
    service = core.service
    text = sys.stdin.read() if args.text == "-" else args.text
    created = not args.conversation
    if args.conversation:
        conversation = await service.get_conversation(args.conversation)
    else:
        agent_id = (await service.get_agent(args.agent)).agent_id if args.agent else None
        conversation = await service.create_conversation(agent_id=agent_id)
    done = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[bool]] = []

    def on_event(event: EngineEvent) -> None:
        if isinstance(event, ReplyDelta):
            if event.reasoning:
                sys.stderr.write(event.reasoning)
            try:
                sys.stdout.write(event.text)
                sys.stdout.flush()
            except BrokenPipeError:  # nobody reads the reply any more: stop it, keep it
                if not stopping:
                    stopping.append(loop.create_task(service.stop(conversation.id)))
        elif isinstance(event, ReplyFailed):
            print(f"\ndesktop-chat: {event.message}", file=sys.stderr)
        elif isinstance(event, ReplyDone) and not done.done():
            done.set_result(event.status)

    unsubscribe = service.bus.subscribe(on_event, conversation.id)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(
            signal.SIGINT, lambda: stopping.append(loop.create_task(service.stop(conversation.id)))
        )
    try:
        try:
            await service.send(conversation.id, text)
        except (EngineError, StoreError):
            if created:  # refused before anything was asked: leave no empty conversation
                with contextlib.suppress(StoreError):
                    await service.delete_conversation(conversation.id)
            raise
        status = await done
    finally:
        unsubscribe()
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)
    sys.stdout.write("\n")
    print(f"conversation: {conversation.id}", file=sys.stderr)
    return {MessageStatus.COMPLETE: EXIT_OK, MessageStatus.STOPPED: EXIT_INTERRUPTED}.get(
        status, EXIT_UPSTREAM
    )


async def _list(core: Core, args: argparse.Namespace) -> int:
    for c in await core.service.list_conversations():
        stamp = c.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
        print(f"{c.id}\t{stamp}\t{c.message_count}\t{c.title or '(untitled)'}")
    return EXIT_OK


async def _export(core: Core, args: argparse.Namespace) -> int:
    conversations = await core.service.export(args.ids)
    render = export_markdown if args.format == "md" else export_json
    sys.stdout.write(render(conversations) + "\n")
    return EXIT_OK


async def _import(core: Core, args: argparse.Namespace) -> int:
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}", EXIT_USAGE) from None
    try:
        items = parse_import(raw)
    except ImportError_ as exc:
        raise CliError(f"{args.file}: {exc} Nothing was imported.", EXIT_USAGE) from None
    created = await core.service.import_conversations(items)
    print(json.dumps({"imported": created}))
    return EXIT_OK


# Local API ---------------------------------------------------------------------------


async def _serve(core: Core, args: argparse.Namespace) -> int:
    """Serve the API until SIGINT or SIGTERM; no Qt is imported on this path."""
    from desktop_chat.api import ApiServer, is_loopback  # aiohttp only when used

    remote = not is_loopback(args.host)
    if remote and not args.allow_remote:
        raise CliError(
            f"{args.host} can be reached from other machines; add --allow-remote to serve there",
            EXIT_USAGE,
        )
    if not 0 <= args.port <= 65535:
        raise CliError(f"{args.port} is not a port number", EXIT_USAGE)
    if args.heartbeat <= 0:
        raise CliError("--heartbeat must be a positive number of seconds", EXIT_USAGE)
    if remote:
        print(
            f"desktop-chat: warning: serving on {args.host}, reachable from other machines. "
            "Traffic is not encrypted; anyone on the network who sees a token can use it.",
            file=sys.stderr,
        )
    await core.service.warm_up()  # the first request must not wait for the SDK to import
    server = ApiServer(
        core.service,
        core.tokens,
        core.gateway,
        host=args.host,
        port=args.port,
        heartbeat=args.heartbeat,
        cors_origins=args.cors_origin,
        allow_remote=args.allow_remote,
        extra_hosts=args.allow_host,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:  # before the URL is printed: whoever reads it may stop us at once
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    collector = FullCollectionsWaitForReplies(core.service)
    core.backups.start()
    try:
        try:
            await server.start()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"cannot listen on {args.host}:{args.port}: {reason}"
            raise CliError(message, EXIT_USAGE) from None
        gc.freeze()  # start-up's objects stay for good: keep full collections off them
        print(server.url, flush=True)  # first line of stdout: scripts and tests read it
        if not await core.tokens.list():
            print(
                "desktop-chat: no API tokens yet; create one with "
                "`desktop-chat tokens create NAME`",
                file=sys.stderr,
            )
        print(f"desktop-chat: API on {server.url}/ (Ctrl+C to stop)", file=sys.stderr, flush=True)
        await stopping.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
        await server.stop()
        collector.close()
    return EXIT_OK


async def _tokens(core: Core, args: argparse.Namespace) -> int:
    tokens = core.tokens
    if args.action == "create":
        agents = args.agents.split(",") if args.agents is not None else None
        try:
            record, token = await tokens.create(args.name, agents, args.store_conversations)
        except StoreError as exc:
            if exc.kind != "exists":
                raise
            raise CliError(exc.user_message, EXIT_USAGE) from None
        print(token)
        print(
            f"Created API token {record.name}. It is shown only this once: keep it somewhere "
            "safe; revoke it with `desktop-chat tokens revoke NAME`.",
            file=sys.stderr,
        )
        return EXIT_OK
    if args.action == "revoke":
        await tokens.revoke(args.name)
        print(f"Revoked API token {args.name}.")
        return EXIT_OK
    names = {a.agent_id: a.name for a in await core.service.list_agents()}
    for record in await tokens.list():
        created = record.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        used = record.last_used_at
        last = used.astimezone().strftime("%Y-%m-%d %H:%M") if used else "never used"
        agents = (
            "all agents"
            if record.agents is None
            else ",".join(names.get(a, a) for a in record.agents)
        )
        stored = "stores conversations" if record.store_conversations else "not stored"
        print(f"{record.name}\t{created}\t{last}\t{agents}\t{stored}")
    return EXIT_OK


# Files -------------------------------------------------------------------------------


def _repair(args: argparse.Namespace) -> int:
    """Rebuild the search index, before anything else opens the database (opening checks
    it, and recovering a crashed reply writes through it)."""
    try:
        count = repair_search_index(default_paths().database)
    except StoreError as exc:
        raise CliError(exc.user_message, EXIT_LOCAL) from None
    print(f"Rebuilt the search index over {count:,} messages; nothing else was changed.")
    return EXIT_OK


def _restore(args: argparse.Namespace) -> int:
    """Replace the database with a backup; refused while any process has it open."""
    database = default_paths().database
    chosen: Path = args.file
    if not chosen.exists() and (backups_folder(database) / chosen.name).exists():
        chosen = backups_folder(database) / chosen.name
    try:
        kept = restore(database, chosen)
    except StoreError as exc:
        bad_input = ("not_a_backup", "damaged_backup", "newer_schema")
        code = EXIT_NOT_FOUND if exc.kind == "not_found" else EXIT_LOCAL
        raise CliError(exc.user_message, EXIT_USAGE if exc.kind in bad_input else code) from None
    print(f"Restored the conversations from {chosen}.")
    if kept is not None:
        print(f"The database it replaced is kept as {kept}.")
    return EXIT_OK


FILE_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "repair": _repair,
    "restore": _restore,
}

COMMANDS: dict[str, Callable[[Core, argparse.Namespace], Awaitable[int]]] = {
    "agents": _agents,
    "ask": _ask,
    "backup": _backup,
    "list": _list,
    "export": _export,
    "import": _import,
    "serve": _serve,
    "tokens": _tokens,
}

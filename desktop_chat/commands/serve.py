"""`desktop-chat serve` and `tokens`: the local API without the window, and its clients."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import sys

from desktop_chat.app import Core
from desktop_chat.commands.common import EXIT_OK, EXIT_USAGE, CliError
from desktop_chat.engine.collector import FullCollectionsWaitForReplies
from desktop_chat.store import StoreError


async def serve(core: Core, args: argparse.Namespace) -> int:
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


async def tokens_command(core: Core, args: argparse.Namespace) -> int:
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

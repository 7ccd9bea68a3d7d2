"""`desktop-chat ask`, `regenerate`, `fork`, `list`, `export` and `import`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from desktop_chat.app import Core
from desktop_chat.commands.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UPSTREAM,
    EXIT_USAGE,
    CliError,
)
from desktop_chat.commands.tools import cli_approver, show_tool_event
from desktop_chat.engine import EngineError
from desktop_chat.engine.attachments import read_file
from desktop_chat.engine.events import EngineEvent, ReplyDelta, ReplyDone, ReplyFailed
from desktop_chat.schemas import Conversation, MessageStatus
from desktop_chat.store import StoreError
from desktop_chat.transfer import (
    ImportError_,
    export_json,
    export_markdown,
    parse_import,
    write_export,
)


async def stream_reply(
    core: Core, conversation_id: str, start: Callable[[], Awaitable[object]]
) -> int:
    """Run `start` (which starts a reply), print the reply as it streams, wait for its end.

    Ctrl+C stops the reply and keeps it; so does a reader that goes away (`| head`). The
    exit code says how the reply ended.
    """
    service = core.service
    loop = asyncio.get_running_loop()
    done: asyncio.Future[MessageStatus] = loop.create_future()
    stopping: list[asyncio.Task[bool]] = []

    def stop() -> None:
        if not stopping:
            stopping.append(loop.create_task(service.stop(conversation_id)))

    def on_event(event: EngineEvent) -> None:
        if isinstance(event, ReplyDelta):
            if event.reasoning:
                sys.stderr.write(event.reasoning)
            try:
                sys.stdout.write(event.text)
                sys.stdout.flush()
            except BrokenPipeError:  # nobody reads the reply any more: stop it, keep it
                stop()
        elif isinstance(event, ReplyFailed):
            print(f"\ndesktop-chat: {event.message}", file=sys.stderr)
        elif isinstance(event, ReplyDone) and not done.done():
            done.set_result(event.status)
        else:
            show_tool_event(event)

    unsubscribe = service.bus.subscribe(on_event, conversation_id)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop)
    try:
        await start()
        status = await done
    finally:
        unsubscribe()
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)
    sys.stdout.write("\n")
    print(f"conversation: {conversation_id}", file=sys.stderr)
    return {MessageStatus.COMPLETE: EXIT_OK, MessageStatus.STOPPED: EXIT_INTERRUPTED}.get(
        status, EXIT_UPSTREAM
    )


async def ask(core: Core, args: argparse.Namespace) -> int:
    service = core.service
    core.tools.approvals.approver = cli_approver(args.allow_tools)
    text = sys.stdin.read() if args.text == "-" else args.text
    limits = service.config.attachments
    files = [read_file(Path(name), limits) for name in args.attach]  # refused before asking
    if args.conversation:
        conversation = await service.conversation_summary(args.conversation)
    else:
        agent_id = (await service.get_agent(args.agent)).agent_id if args.agent else None
        conversation = await service.create_conversation(agent_id=agent_id)

    async def send() -> None:
        try:
            await service.send(conversation.id, text, attachments=files)
        except (EngineError, StoreError):
            if not args.conversation:  # refused before anything was asked: leave nothing
                with contextlib.suppress(StoreError):
                    await service.delete_conversation(conversation.id)
            raise

    return await stream_reply(core, conversation.id, send)


async def regenerate(core: Core, args: argparse.Namespace) -> int:
    """Answer the last question again; the earlier answer stays as another version."""
    cid = args.conversation
    core.tools.approvals.approver = cli_approver(allow_all=False)
    return await stream_reply(core, cid, lambda: core.service.regenerate(cid, None, args.message))


async def fork(core: Core, args: argparse.Namespace) -> int:
    created = await core.service.fork(args.conversation, args.at)
    print(created.id)
    return EXIT_OK


# Conversations read at a time by `list`: the first lines print at once, and memory
# stays flat whatever the number of conversations.
LIST_BATCH = 200


async def list_conversations(core: Core, args: argparse.Namespace) -> int:
    """Print conversations newest first, a batch at a time, as they are read.

    Without --all, a page (--limit after --offset, the newest 50 by default), then a line
    on stderr saying how to see the rest when there is more.
    """
    wanted = None if args.all else args.limit
    printed, more = 0, False
    after: Conversation | None = None
    offset = args.offset
    while wanted is None or printed < wanted:
        batch = LIST_BATCH if wanted is None else min(LIST_BATCH, wanted - printed)
        # One past the page tells whether there is more, without counting everything.
        found = await core.service.list_conversations(
            limit=batch + 1, offset=offset if after is None else 0, after=after
        )
        page, more = found[:batch], len(found) > batch
        sys.stdout.write("".join(_list_line(c) for c in page))
        sys.stdout.flush()
        printed += len(page)
        if not more or not page:
            break
        after = page[-1]
    else:
        if more:
            print(LIST_MORE.format(shown=printed, next=args.offset + printed), file=sys.stderr)
    return EXIT_OK


LIST_MORE = (
    "desktop-chat: {shown} conversations shown, there are more: "
    "`desktop-chat list --offset {next}` shows the next ones, `--all` every one."
)


def _list_line(c: Conversation) -> str:
    stamp = c.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{c.id}\t{stamp}\t{c.message_count}\t{c.title or '(untitled)'}\n"


async def export(core: Core, args: argparse.Namespace) -> int:
    conversations = await core.service.export(args.ids)
    if args.output is not None:
        write_export(args.output, conversations, as_json=args.format != "md")
        return EXIT_OK
    render = export_markdown if args.format == "md" else export_json
    sys.stdout.write(render(conversations) + "\n")
    return EXIT_OK


async def import_file(core: Core, args: argparse.Namespace) -> int:
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

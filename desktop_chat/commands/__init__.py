"""The headless commands of `desktop-chat`, one module per subject.

cli.py parses the arguments and imports this package only when a command is asked for,
so the window never pays for it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from desktop_chat.commands import agents, conversations, data, serve, tools
from desktop_chat.commands.common import EXIT_CODES, EXIT_INTERRUPTED, CliError, Command, with_core

__all__ = ["EXIT_CODES", "run_command"]

COMMANDS: dict[str, Command] = {
    "agents": agents.agents_command,
    "ask": conversations.ask,
    "regenerate": conversations.regenerate,
    "fork": conversations.fork,
    "list": conversations.list_conversations,
    "mcp": tools.mcp_command,
    "export": conversations.export,
    "import": conversations.import_file,
    "backup": data.backup,
    "serve": serve.serve,
    "tokens": serve.tokens_command,
}

# Commands that act on the database file itself, before anything opens it.
FILE_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "repair": data.repair,
    "restore": data.restore_command,
}


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command against the user's data; the exit code says how it went."""
    try:
        if args.command in FILE_COMMANDS:
            return FILE_COMMANDS[args.command](args)
        return asyncio.run(with_core(COMMANDS[args.command], args))
    except CliError as exc:
        print(f"desktop-chat: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED

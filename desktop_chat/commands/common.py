"""What every command shares: exit codes, the error that carries one, the opened core.

Exit codes a script can rely on: 0 done, 1 the model or server failed, 2 bad usage or
input, 3 not found, 4 local storage or keyring problem, 130 stopped with Ctrl+C, 141 the
output was closed early (`| head`; a reply is then stopped and kept).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from desktop_chat.app import Core
from desktop_chat.engine.failures import Category, describe
from desktop_chat.store import StoreError

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


Command = Callable[[Core, argparse.Namespace], Awaitable[int]]


async def with_core(
    command: Callable[[Core, argparse.Namespace], Awaitable[int]], args: argparse.Namespace
) -> int:
    try:
        core = await Core.open(for_reading=only_reads(args))
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


def only_reads(args: argparse.Namespace) -> bool:
    """Commands that still work when the data folder cannot be written (read-only, full)."""
    return args.command in ("list", "export") or (
        args.command in ("agents", "tokens") and args.action == "list"
    )

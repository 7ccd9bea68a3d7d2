"""`desktop-chat backup`, `restore` and `repair`: the database as a file."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_chat.app import Core
from desktop_chat.commands.common import (
    EXIT_LOCAL,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
)
from desktop_chat.paths import default_paths
from desktop_chat.store import StoreError
from desktop_chat.store.backup import backups_folder, restore
from desktop_chat.store.database import repair_search_index


async def backup(core: Core, args: argparse.Namespace) -> int:
    if args.list:
        for backup in core.backups.list():
            stamp = backup.created.strftime("%Y-%m-%d %H:%M:%S")
            print(f"{backup.path}\t{stamp}\t{backup.reason}\t{backup.size}")
        return EXIT_OK
    made = await core.backups.backup_now()
    print(made.path)
    return EXIT_OK


def repair(args: argparse.Namespace) -> int:
    """Rebuild the search index, before anything else opens the database (opening checks
    it, and recovering a crashed reply writes through it)."""
    try:
        count = repair_search_index(default_paths().database)
    except StoreError as exc:
        raise CliError(exc.user_message, EXIT_LOCAL) from None
    print(f"Rebuilt the search index over {count:,} messages; nothing else was changed.")
    return EXIT_OK


def restore_command(args: argparse.Namespace) -> int:
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

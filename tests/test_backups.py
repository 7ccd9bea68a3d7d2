"""Backups (#18): made with SQLite's online backup API, on a schedule, before migrations and
by hand; restored only from a sound desktop_chat database, never under a running process.

The round trip is judged by the exported JSON: what a person can see of their
conversations must come back byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_chat.app import Core
from desktop_chat.engine.backups import SCHEDULED
from desktop_chat.engine.events import ReplyDelta
from desktop_chat.paths import AppPaths
from desktop_chat.schemas import Message
from desktop_chat.secrets import SecretStore
from desktop_chat.store.backup import backups_folder, list_backups, restore
from desktop_chat.store.migrations import LATEST
from desktop_chat.transfer import export_json
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog
from tests.test_cli import REPO, add_agent, cli, cli_env, start_cli, wait_for_journal, with_core
from tests.test_reliability_support import on_a_small_disk, open_core, user_namespaces_work

FIXTURES = Path(__file__).parent / "fixtures"
SLOW = [f"t{i} " for i in range(80)]


def exported() -> str:
    return export_json(with_core(lambda core: core.service.export()))


def integrity(path: Path) -> list[tuple[str]]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as raw:
        return raw.execute("PRAGMA integrity_check").fetchall()


# Backup and restore from the command line -------------------------------------------------


def test_backup_then_restore_brings_the_conversations_back_byte_for_byte(
    home: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    chats = [("Hello 你好", ["Bonjour ", "🍕"]), ("WAL?", ["Write-ahead ", "log."])]
    for question, answer in chats:
        fake.scenario = Scenario(tokens=answer)
        assert cli("ask", question).returncode == 0
    before = exported()

    made = cli("backup")
    assert (made.returncode, made.stderr) == (0, "")
    backup = Path(made.stdout.strip())
    folder = home / "data" / "backups"
    assert backup.parent == folder and backup.name.endswith("-manual.sqlite3")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert integrity(backup) == [("ok",)]

    fake.scenario = Scenario(tokens=["Later."])
    assert cli("ask", "Something later").returncode == 0
    assert exported() != before

    restored = cli("restore", backup.name)  # a name in backups/ will do

    assert (restored.returncode, restored.stderr) == (0, ""), restored.stderr
    (kept,) = [b for b in list_backups(home / "data" / "conversations.sqlite3")
               if b.reason == "before-restore"]  # fmt: skip
    assert restored.stdout == (
        f"Restored the conversations from {backup}.\n"
        f"The database it replaced is kept as {kept.path}.\n"
    )
    assert exported() == before
    assert integrity(home / "data" / "conversations.sqlite3") == [("ok",)]
    with contextlib.closing(sqlite3.connect(kept.path)) as raw:  # nothing was thrown away
        assert ("Something later",) in raw.execute("SELECT content FROM message").fetchall()
    listed = cli("backup", "--list")
    assert listed.returncode == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
        str(kept.path),
        str(backup),
    ]


@pytest.mark.asyncio
async def test_a_backup_taken_while_a_reply_streams_restores_whole(
    core: Core, fake: FakeOpenAI
) -> None:
    for i in range(5):
        conv = await core.service.create_conversation(title=f"Earlier {i}")
        for j in range(20):
            message = Message(role="user", content=f"{i}/{j} " + "ünïcödé 🍣 " * 30)
            await core.store.run(lambda r, m=message, c=conv.id: r.messages.append(c, m))
    streaming = await core.service.create_conversation()
    fake.scenario = Scenario(tokens=SLOW, delay=0.02)
    log = EventLog(core.service, streaming.id)
    await core.service.send(streaming.id, "Take your time")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 3)

    at_backup = export_json(await core.service.export())
    backup = await core.backups.backup_now()
    assert core.service.in_flight(streaming.id) is not None, "the reply ended before the backup"
    await log.done(streaming.id)
    await core.aclose()

    assert integrity(backup.path) == [("ok",)]
    await asyncio.to_thread(restore, core.paths.database, backup.path)
    again = await Core.open(core.paths, SecretStore(use_keyring=False))
    try:
        after = export_json(await again.service.export())
    finally:
        await again.aclose()
    assert after == at_backup
    assert integrity(core.paths.database) == [("ok",)]


_WRITER = """
import asyncio, sys
from pathlib import Path
from desktop_chat.schemas import Conversation, Message
from desktop_chat.store import Store

async def main(path):
    store = await Store.open(Path(path))
    i = 0
    while True:
        conv = await store.run(lambda r: r.conversations.create(Conversation(title=f"w{i}")))
        for j in range(10):
            m = Message(role="user", content=f"{i}/{j} " + "x" * 2000)
            await store.run(lambda r: r.messages.append(conv.id, m))
        if i == 2:
            print("writing", flush=True)
        i += 1

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.asyncio
async def test_a_backup_while_another_process_writes_is_one_consistent_snapshot(
    core: Core,
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(core.paths.database)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=cli_env(),
    )
    try:
        assert writer.stdout is not None
        assert await asyncio.to_thread(writer.stdout.readline) == "writing\n"
        backups = [await core.backups.backup_now() for _ in range(3)]
    finally:
        writer.kill()
        writer.communicate()

    for backup in backups:
        assert integrity(backup.path) == [("ok",)]
        with contextlib.closing(sqlite3.connect(backup.path)) as raw:
            counts = raw.execute(
                "SELECT count(*), max(position) FROM message GROUP BY conversation_id"
            ).fetchall()
        # Each conversation's messages were written one transaction at a time: a snapshot
        # holds whole transactions, so positions run 1..n without a gap.
        assert counts and all(count == last for count, last in counts)


# Refusals ------------------------------------------------------------------------------------


def test_restore_is_refused_while_the_data_folder_is_open_elsewhere(
    home: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    assert cli("ask", "Hello").returncode == 0
    backup = Path(cli("backup").stdout.strip())
    database = home / "data" / "conversations.sqlite3"
    fake.scenario = Scenario(tokens=SLOW, delay=0.05)

    asking = start_cli("ask", "A long one")
    try:
        wait_for_journal(home / "data" / "journal", deltas=2, process=asking)
        before = database.read_bytes()
        refused = cli("restore", str(backup))
        assert database.read_bytes() == before
        asking.send_signal(signal.SIGKILL)  # dies with the data folder open
        asking.communicate(timeout=10)
    finally:
        if asking.poll() is None:
            asking.kill()
            asking.communicate()

    assert (refused.returncode, refused.stdout) == (4, "")
    assert refused.stderr == (
        "desktop-chat: desktop_chat has this data folder open (the window, `desktop-chat "
        "serve`, or a command still running). Close it, then restore again. Nothing was "
        "changed.\n"
    )
    # The killed process held it only while it lived.
    assert cli("restore", str(backup)).returncode == 0


@pytest.mark.parametrize("kind", ["text", "other-sqlite", "damaged", "missing", "newer"])
def test_restore_refuses_what_is_not_a_sound_desktop_chat_database(
    home: Path, fake: FakeOpenAI, tmp_path: Path, kind: str
) -> None:
    add_agent(fake.base_url)
    assert cli("ask", "Hello").returncode == 0
    backup = Path(cli("backup").stdout.strip())
    candidate = tmp_path / f"{kind}.sqlite3"
    if kind == "text":
        candidate.write_text("not a database at all\n" * 100)
    elif kind == "other-sqlite":
        with contextlib.closing(sqlite3.connect(candidate)) as raw:
            raw.execute("CREATE TABLE notes (body TEXT)")
            raw.commit()
    elif kind == "damaged":
        data = bytearray(backup.read_bytes())
        page = 4096
        data[page * 3 : page * 4] = b"\xa5" * page  # garble a page in the middle
        candidate.write_bytes(bytes(data))
    elif kind == "newer":
        shutil.copyfile(backup, candidate)
        with contextlib.closing(sqlite3.connect(candidate)) as raw:
            raw.execute("INSERT INTO schema_version VALUES (?, '2099-01-01')", (LATEST + 1,))
            raw.commit()
    database = home / "data" / "conversations.sqlite3"
    before = database.read_bytes()

    result = cli("restore", str(candidate))

    expected = {
        "text": (2, f"{candidate} is not a desktop_chat database, so it cannot be restored."),
        "other-sqlite": (
            2, f"{candidate} is not a desktop_chat database, so it cannot be restored."
        ),
        "damaged": (2, f"{candidate} is damaged ("),
        "missing": (3, f"There is no file {candidate}."),
        "newer": (2, f"{candidate} was written by a newer release of desktop_chat."),
    }[kind]  # fmt: skip
    assert result.returncode == expected[0], result.stderr
    assert result.stderr.startswith(f"desktop-chat: {expected[1]}")
    assert result.stderr.endswith(" Nothing was changed.\n")
    assert database.read_bytes() == before
    assert [b.reason for b in list_backups(database)] == ["manual"]


# Before a migration, and on a schedule -----------------------------------------------------


@pytest.mark.asyncio
async def test_a_migration_is_always_preceded_by_a_backup(
    paths: AppPaths, secrets: SecretStore
) -> None:
    shutil.copyfile(FIXTURES / "schema_v1.sqlite3", paths.database)
    original = paths.database.read_bytes()

    core = await open_core(paths, secrets)
    await core.aclose()

    (backup,) = list_backups(paths.database)
    assert backup.reason == f"before-schema-{LATEST}"
    assert integrity(backup.path) == [("ok",)]
    with contextlib.closing(sqlite3.connect(backup.path)) as raw:
        assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone() == (1,)
        with contextlib.closing(sqlite3.connect(":memory:")) as reference:
            reference.deserialize(original)
            dump = list(reference.iterdump())
        assert list(raw.iterdump()) == dump

    again = await open_core(paths, secrets)  # nothing left to migrate: no new backup
    await again.aclose()
    assert len(list_backups(paths.database)) == 1


@pytest.mark.asyncio
async def test_scheduled_backups_run_when_due_and_keep_the_newest(core: Core) -> None:
    core.backups.reconfigure(every_hours=24, keep=2)
    assert await core.backups.backup_if_due() is None, "nothing to keep yet"
    await core.service.create_conversation(title="Worth keeping")

    first = await core.backups.backup_if_due()
    assert first is not None and first.reason == SCHEDULED
    assert await core.backups.backup_if_due() is None, "made twice in a day"

    folder = backups_folder(core.paths.database)
    for stamp in ("20200101-000000", "20200102-000000"):  # two old scheduled ones
        shutil.copyfile(first.path, folder / f"conversations-{stamp}-{SCHEDULED}.sqlite3")
    shutil.copyfile(first.path, folder / "conversations-20190101-000000-manual.sqlite3")
    first.path.unlink()  # the newest scheduled one is now a day... years old

    second = await core.backups.backup_if_due()

    assert second is not None
    assert [(b.path.name, b.reason) for b in list_backups(core.paths.database)] == [
        (second.path.name, SCHEDULED),
        (f"conversations-20200102-000000-{SCHEDULED}.sqlite3", SCHEDULED),
        ("conversations-20190101-000000-manual.sqlite3", "manual"),  # never pruned
    ]
    core.backups.reconfigure(every_hours=0, keep=2)
    for backup in list_backups(core.paths.database):
        backup.path.unlink()
    assert await core.backups.backup_if_due() is None, "0 turns scheduled backups off"


def test_serve_makes_the_scheduled_backup_when_it_is_due(home: Path, fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    assert cli("ask", "Hello").returncode == 0
    database = home / "data" / "conversations.sqlite3"
    assert list_backups(database) == []

    serving = start_cli("serve", "--port", "0")
    try:
        assert serving.stdout is not None
        serving.stdout.readline()  # the URL: serving has started
        deadline = time.monotonic() + 20
        while not list_backups(database) and time.monotonic() < deadline:
            time.sleep(0.02)  # polling a folder another process writes; bounded
    finally:
        serving.send_signal(signal.SIGINT)
        serving.communicate(timeout=20)
    assert [b.reason for b in list_backups(database)] == [SCHEDULED]


def test_a_backup_on_a_full_disk_says_so_and_leaves_no_partial_file(
    home: Path, fake: FakeOpenAI, tmp_path: Path
) -> None:
    if not user_namespaces_work():
        pytest.skip("needs unprivileged user namespaces (unshare) for a tmpfs of its own")
    add_agent(fake.base_url)
    assert cli("ask", "Hello").returncode == 0

    run = on_a_small_disk(
        home, tmp_path / "mounted", "full", [["backup"]], cli_env(), where="data/backups"
    )

    assert run.results == [
        (4, "", "desktop-chat: The disk is full; free some space, nothing was lost.\n")
    ]
    assert run.files == [], "a partial backup was left"
    assert run.unchanged

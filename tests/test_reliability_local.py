"""Local faults: a database another program holds, a full disk, a read-only or damaged data
folder, two instances on one database, and crash journals that are odd in some way.

Elsewhere: an older schema opens without loss (test_store.py,
test_first_release_database_is_migrated_without_loss); kill -9 mid-reply is recovered
(test_cli.py, test_kill_9_mid_reply_is_recovered_as_interrupted_on_next_start).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from desktop_chat.app import Core
from desktop_chat.engine.events import ReplyDelta, ReplyFailed
from desktop_chat.paths import AppPaths
from desktop_chat.schemas import Agent, Conversation, Message, MessageStatus
from desktop_chat.secrets import SecretStore
from desktop_chat.store import Store, StoreError, migrations, open_repository
from desktop_chat.store.messages import Messages
from desktop_chat.transfer import parse_import
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog
from tests.test_api_support import running_api
from tests.test_cli import (
    REPO,
    add_agent,
    cli,
    conversations,
    start_cli,
    wait_for_journal,
)
from tests.test_reliability_support import (
    SmallDisk,
    database_locked_by_another_process,
    lock_holder,
    open_core,
)

LOCKED = (
    "The conversation database is busy in another program (is desktop_chat already "
    "running?). Close it and try again."
)
DISK_FULL = "The disk is full; free some space, nothing was lost."
SLOW = [f"w{i} " for i in range(60)]
KEPT = " The reply is kept, and is saved the next time desktop_chat starts."


def read_only_sentence(folder: Path) -> str:
    return (
        f"The data folder {folder} is read-only, so desktop_chat cannot save conversations "
        "there. Make it writable and start again; nothing in it was changed."
    )


@pytest_asyncio.fixture
async def quick(paths: AppPaths, secrets: SecretStore, agent: Agent) -> AsyncIterator[Core]:
    """A core that gives up on another program's lock after 300 ms instead of 5 s."""
    secrets.set("agent:fake", "sk-test-key-1234567890")
    core = await open_core(paths, secrets, busy_timeout_ms=300)
    await core.service.save_agent(agent)
    yield core
    await core.aclose()


def journal_texts(folder: Path) -> list[str]:
    texts = []
    for path in sorted(folder.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        texts.append("".join(json.loads(line).get("t", "") for line in lines))
    return texts


# The database held by another program ------------------------------------------------------


@pytest.mark.asyncio
async def test_a_send_while_another_program_holds_the_database_is_refused_clearly(
    quick: Core, fake: FakeOpenAI
) -> None:
    conv = await quick.service.create_conversation()
    async with running_api(quick, heartbeat=5) as api:
        await api.token()  # made before the lock; first used during it
        with database_locked_by_another_process(quick.paths.database) as holder:
            with pytest.raises(StoreError) as caught:
                await quick.service.send(conv.id, "Hello?")
            assert (caught.value.kind, caught.value.user_message) == ("locked", LOCKED)
            assert quick.service.in_flight(conv.id) is None

            # Reading still works while another program writes; writing answers 503.
            listed = await api.call("GET", "/api/conversations")
            assert listed.status == 200, listed.body
            created = await api.call("POST", "/api/conversations", {"title": "t"})
            assert (created.status, created.error["kind"]) == (503, "locked")
            assert created.error["message"] == LOCKED
            holder.release()

    log = EventLog(quick.service, conv.id)
    await quick.service.send(conv.id, "Hello?")
    await log.done(conv.id)
    detail = await quick.service.get_conversation(conv.id)
    assert [(m.role, m.content) for m in detail.messages] == [
        ("user", "Hello?"),
        ("assistant", "Hello, world!"),
    ]


@pytest.mark.asyncio
async def test_a_reply_ending_while_the_database_is_held_is_kept_for_the_next_start(
    quick: Core, fake: FakeOpenAI, paths: AppPaths, secrets: SecretStore
) -> None:
    fake.scenario = Scenario(tokens=SLOW, delay=0.01)
    conv = await quick.service.create_conversation()
    log = EventLog(quick.service, conv.id)
    with lock_holder(quick.paths.database) as holder:
        await quick.service.send(conv.id, "First question")
        await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 2)
        holder.lock()
        assert quick.service.in_flight(conv.id) is not None, "the reply ended before the lock"
        done = await log.done(conv.id)
        assert done.message_id is None
        errors = [(e.kind, e.message) for e in log.of(ReplyFailed)]
        assert errors == [("not_saved", LOCKED + KEPT)]
        assert journal_texts(paths.journal) == ["".join(SLOW)], "the reply is not in the journal"
        holder.release()

    # The person carries on in the same conversation before restarting the app.
    fake.scenario = Scenario(tokens=["Second ", "answer."])
    await quick.service.send(conv.id, "Second question")
    await log.done(conv.id, 2)
    assert journal_texts(paths.journal) == ["".join(SLOW)], "the kept reply was written over"
    await quick.aclose()

    again = await open_core(paths, secrets)  # the next start
    try:
        detail = await again.service.get_conversation(conv.id)
        stored = await again.store.run(lambda r: r.messages.every(conv.id))
    finally:
        await again.aclose()
    assert [(m.role, m.status, m.content) for m in detail.messages] == [
        ("user", MessageStatus.COMPLETE, "First question"),
        ("user", MessageStatus.COMPLETE, "Second question"),
        ("assistant", MessageStatus.COMPLETE, "Second answer."),
    ], "the path the person went on with stays the current one"
    first, second = detail.messages[0], detail.messages[1]
    (recovered,) = [m for m in stored if m.content == "".join(SLOW)]
    assert recovered.status is MessageStatus.COMPLETE, "stored as it ended, though not saved"
    assert recovered.parent_id == first.id, "it answers the question it was asked"
    assert recovered.id in detail.versions[second.id]
    assert list(paths.journal.iterdir()) == []


@pytest.mark.asyncio
async def test_a_lock_shorter_than_the_busy_timeout_is_waited_out(
    paths: AppPaths, secrets: SecretStore, agent: Agent, fake: FakeOpenAI, monkeypatch
) -> None:
    writing = threading.Event()
    append = Messages.append

    def spy(self: Messages, session_id: str, message: Message, usage=None, **kw) -> Message:
        if message.role == "assistant":
            writing.set()
        return append(self, session_id, message, usage, **kw)

    monkeypatch.setattr(Messages, "append", spy)
    core = await open_core(paths, secrets, busy_timeout_ms=5000)
    try:
        await core.service.save_agent(agent)
        fake.scenario = Scenario(tokens=SLOW, delay=0.01)
        conv = await core.service.create_conversation()
        log = EventLog(core.service, conv.id)
        with lock_holder(paths.database) as holder:
            await core.service.send(conv.id, "Wait for it")
            await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 2)
            holder.lock()
            assert core.service.in_flight(conv.id) is not None, "the reply ended before the lock"
            assert await asyncio.to_thread(writing.wait, 10), "the reply was never written"
            await asyncio.to_thread(holder.release)
            done = await log.done(conv.id)
        assert done.status == "complete" and done.message_id is not None
        assert log.of(ReplyFailed) == []
        reply = (await core.service.get_conversation(conv.id)).messages[-1]
        assert (reply.status, reply.content) == (MessageStatus.COMPLETE, "".join(SLOW))
    finally:
        await core.aclose()


# A full disk -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk | None]:
    disk = SmallDisk.mount(tmp_path / "disk", size="4m")
    try:
        yield disk
    finally:
        if disk is not None:
            disk.unmount()


@pytest.mark.asyncio
async def test_a_full_disk_keeps_the_reply_in_the_journal_until_the_next_start(
    small_disk: SmallDisk | None, tmp_path: Path, secrets: SecretStore, fake: FakeOpenAI
) -> None:
    """On a 4 MB tmpfs filled mid-reply; without root, SQLite's max_page_count stands in."""
    root = small_disk.path if small_disk is not None else tmp_path / "emulated"
    paths = AppPaths(data=root / "data", config=root / "config", logs=root / "logs").ensure()
    # Small deltas on a real disk: the journal's first page holds them all. Large ones when
    # emulating, so that storing the reply needs pages the database may not take.
    tokens = SLOW if small_disk is not None else [f"w{i}-" + "x" * 500 for i in range(60)]
    fake.scenario = Scenario(tokens=tokens, delay=0.01)
    core = await open_core(paths, secrets)
    await core.service.save_agent(Agent(name="F", base_url=fake.base_url, model="m"))
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Fill it up")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 2)

    filler = None
    if small_disk is not None:
        filler = small_disk.fill()
    else:
        pages = await core.store.run(lambda r: r.db.execute_sql("PRAGMA page_count").fetchone())
        await core.store.run(lambda r: r.db.execute_sql(f"PRAGMA max_page_count = {pages[0]}"))
    assert core.service.in_flight(conv.id) is not None, "the reply ended before the disk filled"
    done = await log.done(conv.id)

    assert done.message_id is None
    errors = [(e.kind, e.message) for e in log.of(ReplyFailed)]
    assert errors == [("not_saved", DISK_FULL + KEPT)]
    assert journal_texts(paths.journal) == ["".join(tokens)]
    with pytest.raises(StoreError) as caught:
        await core.service.send(conv.id, "One more, with an attachment " + "x" * 20_000)
    assert (caught.value.kind, caught.value.user_message) == ("disk_full", DISK_FULL)
    await core.aclose()

    if filler is not None:  # starting while the disk is still full: told, and nothing lost
        with pytest.raises(StoreError) as caught:
            await open_core(paths, secrets)
        assert (caught.value.kind, caught.value.user_message) == ("disk_full", DISK_FULL)
        assert journal_texts(paths.journal) == ["".join(tokens)]
        filler.unlink()

    again = await open_core(paths, secrets)
    try:
        messages = (await again.service.get_conversation(conv.id)).messages
        check = await again.store.run(
            lambda r: r.db.execute_sql("PRAGMA integrity_check").fetchall()
        )
    finally:
        await again.aclose()
    assert [(m.role, m.status, m.content) for m in messages] == [
        ("user", MessageStatus.COMPLETE, "Fill it up"),
        ("assistant", MessageStatus.COMPLETE, "".join(tokens)),
    ]
    assert check == [("ok",)]
    assert list(paths.journal.iterdir()) == []


# A read-only data folder -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_read_only_data_folder_is_refused_at_open_with_a_clear_sentence(
    home: Path, secrets: SecretStore
) -> None:
    data = home / "data"
    disk = SmallDisk.mount(data, size="8m")  # root is not stopped by permissions: a mount is
    try:
        paths = AppPaths(data=data, config=home / "config", logs=home / "logs").ensure()
        core = await open_core(paths, secrets)
        await core.service.create_conversation(title="Written before")
        await core.aclose()
        before = paths.database.read_bytes()
        if disk is not None:
            disk.remount("ro")
        else:
            data.chmod(0o500)
        try:
            with pytest.raises(StoreError) as caught:
                await open_core(paths, secrets)
            listed = await asyncio.to_thread(cli, "list")
        finally:
            if disk is not None:
                disk.remount("rw")
            else:
                data.chmod(0o700)
        assert (caught.value.kind, caught.value.user_message) == (
            "read_only",
            read_only_sentence(data),
        )
        # Reading still works: the file is opened read-only.
        assert (listed.returncode, listed.stderr) == (0, "")
        assert listed.stdout.endswith("\tWritten before\n")
        assert paths.database.read_bytes() == before
        reopened = await open_core(paths, secrets)
        try:
            titles = [c.title for c in await reopened.service.list_conversations()]
        finally:
            await reopened.aclose()
        assert titles == ["Written before"]
    finally:
        if disk is not None:
            disk.unmount()


# A damaged database ----------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_a_damaged_database_is_reported_and_never_replaced(
    paths: AppPaths, secrets: SecretStore, damage: str
) -> None:
    database = paths.database
    if damage == "garbage":
        database.write_bytes(b"not a database \x00\xff" * 500)
    else:
        core = await open_core(paths, secrets)
        for i in range(10):
            conv = Conversation(title=f"c{i}")
            created = await core.store.run(lambda r, c=conv: r.conversations.create(c))
            for j in range(20):
                message = Message(role="user", content=f"{i}/{j} " + "x" * 1000)
                await core.store.run(lambda r, m=message, c=created: r.messages.append(c.id, m))
        await core.aclose()
        whole = database.read_bytes()
        database.write_bytes(whole[: len(whole) // 2])  # a copy cut short
    before = database.read_bytes()
    orphan = paths.journal / "abc123.jsonl"
    orphan.write_text('{"conversation_id": "abc123", "model": "m"}\n{"t": "kept"}\n')
    sentence = (
        f"The conversation database at {database} is damaged. Back it up and start a fresh one."
    )

    with pytest.raises(StoreError) as caught:
        await open_core(paths, secrets)
    results = [await asyncio.to_thread(cli, command) for command in ("list", "export")]

    assert (caught.value.kind, caught.value.user_message) == ("corrupt", sentence)
    for result in results:
        assert (result.returncode, result.stderr) == (4, f"desktop-chat: {sentence}\n")
        assert result.stdout == ""
    assert database.read_bytes() == before, "the damaged file was changed"
    assert orphan.exists(), "a reply waiting in the journal was dropped"


# Two instances on one database -------------------------------------------------------------


def test_two_instances_asking_at_once_both_keep_their_replies(home: Path, fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(80)], delay=0.02)
    journal = home / "data" / "journal"

    first = start_cli("ask", "From the first")
    try:
        wait_for_journal(journal, deltas=3, process=first)
        # The second one starts (and recovers crash journals) while the first one streams.
        second = start_cli("ask", "From the second")
        try:
            outputs = [p.communicate(timeout=60) for p in (first, second)]
        finally:
            if second.poll() is None:
                second.kill()
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()

    full = "".join(f"t{i} " for i in range(80))
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert [out for out, _ in outputs] == [full + "\n", full + "\n"]
    stored = sorted([(m.role, m.status, m.content) for m in c.messages] for c in conversations())
    assert stored == [
        [("user", MessageStatus.COMPLETE, "From the first"),
         ("assistant", MessageStatus.COMPLETE, full)],
        [("user", MessageStatus.COMPLETE, "From the second"),
         ("assistant", MessageStatus.COMPLETE, full)],
    ]  # fmt: skip
    assert list(journal.iterdir()) == []


_WRITER = """
import asyncio, sys
from pathlib import Path
from desktop_chat.schemas import Message
from desktop_chat.store import Store, StoreError

async def main(path, cid, count, tag):
    store = await Store.open(Path(path))
    failures = 0
    for i in range(count):
        message = Message(role="user", content=f"{tag}-{i}")
        try:
            await store.run(lambda r: r.messages.append(cid, message))
        except StoreError as exc:
            failures += 1
            print(exc.kind, file=sys.stderr)
    await store.close()
    print(failures)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
"""


@pytest.mark.asyncio
async def test_processes_writing_one_conversation_at_once_all_wait_their_turn(
    tmp_path: Path,
) -> None:
    database = tmp_path / "shared.sqlite3"
    store = await Store.open(database)
    conversation = await store.run(lambda r: r.conversations.create(Conversation(title="busy")))
    await store.close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(database), conversation.id, "200", tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for tag in ("a", "b", "c")
    ]
    results = [w.communicate(timeout=120) for w in writers]

    assert [w.returncode for w in writers] == [0, 0, 0], results
    assert [out.strip() for out, _ in results] == ["0", "0", "0"], results
    with sqlite3.connect(database) as raw:
        rows = raw.execute("SELECT content, position FROM message").fetchall()
    assert len(rows) == 600
    assert sorted(content for content, _ in rows) == sorted(
        f"{tag}-{i}" for tag in "abc" for i in range(200)
    )
    assert sorted(position for _, position in rows) == list(range(1, 601))


def test_two_instances_migrating_an_old_database_at_once_both_open_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "conversations.sqlite3"
    shutil.copyfile(Path(__file__).parent / "fixtures" / "schema_v1.sqlite3", database)
    # Both read the old version before either migrates: the moment two starts collide.
    barrier = threading.Barrier(2, timeout=10)
    first_read = threading.local()
    read_version = migrations.current_version

    def current_version(db):  # type: ignore[no-untyped-def]
        version = read_version(db)
        if not getattr(first_read, "done", False):
            first_read.done = True
            barrier.wait()
        return version

    monkeypatch.setattr(migrations, "current_version", current_version)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_repository(database).db.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    with sqlite3.connect(database) as raw:
        versions = raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        titles = raw.execute("SELECT title FROM conversation ORDER BY id").fetchall()
    assert versions == [(v,) for v in range(1, migrations.LATEST + 1)]
    assert sorted(titles) == [("Friday plans 🍕",), ("Greetings in Mandarin",)]


# Crash journals that are odd in some way -------------------------------------------------


@pytest.mark.asyncio
async def test_unreadable_journals_are_set_aside_and_never_stop_the_start(
    paths: AppPaths, secrets: SecretStore
) -> None:
    journal = paths.journal
    (journal / "empty.jsonl").write_bytes(b"")  # killed before the first line was written
    (journal / "garbage.jsonl").write_bytes(b"\xff\xfe not json\n")
    (journal / "no-id.jsonl").write_text('{"model": "m"}\n{"t": "x"}\n')
    (journal / "list.jsonl").write_text("[1, 2]\n")
    (journal / "number-id.jsonl").write_text('{"conversation_id": 5}\n')

    core = await open_core(paths, secrets)
    await core.aclose()

    assert sorted(p.name for p in journal.iterdir()) == [
        "empty.unreadable",
        "garbage.unreadable",
        "list.unreadable",
        "no-id.unreadable",
        "number-id.unreadable",
    ]


@pytest.mark.asyncio
async def test_a_journal_longer_than_a_message_is_recovered_cut_and_kept_whole_aside(
    paths: AppPaths, secrets: SecretStore
) -> None:
    core = await open_core(paths, secrets)
    conv = await core.service.create_conversation(title="Long")
    await core.aclose()
    lines = [{"conversation_id": conv.id, "model": "m"}] + [{"t": "y" * 100_000}] * 12
    entry = paths.journal / f"{conv.id}.jsonl"
    entry.write_text("".join(json.dumps(line) + "\n" for line in lines))
    whole = entry.read_bytes()

    again = await open_core(paths, secrets)  # an older release could leave such a journal
    try:
        reply = (await again.service.get_conversation(conv.id)).messages[-1]
    finally:
        await again.aclose()

    assert (reply.status, reply.content) == (MessageStatus.INTERRUPTED, "y" * 1_000_000)
    assert sorted(p.name for p in paths.journal.iterdir()) == [f"{conv.id}.too-long"]
    assert (paths.journal / f"{conv.id}.too-long").read_bytes() == whole


@pytest.mark.asyncio
async def test_an_imported_id_never_names_a_journal_file_outside_its_folder(
    core: Core, fake: FakeOpenAI, home: Path
) -> None:
    escape = "../../../escaped"
    (imported,) = await core.service.import_conversations(
        parse_import(json.dumps({"session_id": escape, "messages": []}))
    )
    assert imported == escape
    fake.scenario = Scenario(tokens=SLOW, delay=0.01)
    log = EventLog(core.service, imported)
    await core.service.send(imported, "Where do you write?")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 2)

    outside = core.paths.journal / f"{escape}.jsonl"
    inside = list(core.paths.journal.glob("*.jsonl"))
    assert not outside.resolve().exists(), "the journal escaped its folder"
    assert not outside.with_suffix(".lock").resolve().exists(), "the reply lock escaped"
    assert len(inside) == 1
    assert json.loads(inside[0].read_text().splitlines()[0])["conversation_id"] == escape
    await log.done(imported)
    assert list(core.paths.journal.iterdir()) == []

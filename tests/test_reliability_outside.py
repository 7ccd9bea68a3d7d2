"""Faults seen from outside (#18): the command line run against misbehaving servers, a
second process on the same conversation, closed pipes, prompting keyrings, broken data.

Each test runs `desktop-chat` as a real subprocess, as a person or a script would, and
checks what it prints, how it exits, and what is stored afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import keyring
import pytest
from jaraco.classes.properties import classproperty
from keyring.backend import KeyringBackend

from desktop_chat.app import Core
from desktop_chat.engine import ReplyInProgressError
from desktop_chat.engine.events import ReplyDelta, ReplyFailed
from desktop_chat.paths import AppPaths
from desktop_chat.schemas import Agent, Message, MessageStatus
from desktop_chat.secrets import SecretStore
from desktop_chat.store import StoreError
from desktop_chat.store.database import repair_search_index
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog, wait_until
from tests.test_cli import (
    REPO,
    add_agent,
    cli,
    cli_env,
    conversation_id_from,
    conversations,
    start_cli,
    wait_for_journal,
    with_core,
)
from tests.test_reliability_support import on_a_small_disk, open_core, user_namespaces_work

# A server that ends the reply without finishing it ----------------------------------------


def test_an_empty_stream_fails_the_ask_with_exit_1(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(empty_stream=True)

    result = cli("ask", "A question longer than the model's context")

    assert result.returncode == 1, result.stderr
    assert "ended the reply without sending any of it" in result.stderr
    assert "Traceback" not in result.stderr
    (conversation,) = conversations()
    assert conversation.id == conversation_id_from(result.stderr)
    reply = conversation.messages[-1]
    assert (reply.role, reply.status, reply.content) == ("assistant", MessageStatus.FAILED, "")


# The automatic title must not hold the command line -----------------------------------------


def test_a_title_request_that_never_answers_does_not_hold_the_ask(
    home: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    # The reply streams; the title request (auto_title is on by default) then hangs.
    fake.queue = [Scenario(tokens=["Done."]), Scenario(stall_after=0, stall_timeout=60)]

    started = time.monotonic()
    result = cli("ask", "Hello", timeout=20)
    took = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Done.\n"
    assert took < 15, f"the command waited {took:.1f} s for a title"
    (conversation,) = conversations()
    assert conversation.title == "Hello"  # the first words, kept when no title came


# Output closed early (`desktop-chat list | head -1`) ----------------------------------------


def run_with_closed_stdout(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a command whose stdout is a pipe nobody reads any more, as after `| head -1`."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: no race with it
    try:
        result = subprocess.run(
            [sys.executable, "-m", "desktop_chat", *args],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env or cli_env(),
            timeout=60,
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    "args",
    [["list"], ["export"], ["export", "--format", "md"], ["agents", "list"], ["tokens", "list"]],
    ids=lambda args: " ".join(args),
)
def test_a_closed_output_pipe_ends_the_command_quietly(fake: FakeOpenAI, args: list[str]) -> None:
    add_agent(fake.base_url)
    assert cli("ask", "Hello").returncode == 0
    assert cli("tokens", "create", "script").returncode == 0

    code, stderr = run_with_closed_stdout(*args)

    assert (code, stderr) == (141, "")  # 128 + SIGPIPE, as a shell reports `yes | head -1`


def test_a_closed_output_pipe_stops_the_reply_and_keeps_it(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    tokens = [f"w{i} " for i in range(300)]
    fake.scenario = Scenario(tokens=tokens, delay=0.02)

    code, stderr = run_with_closed_stdout("ask", "Write a long one")

    assert code == 141, stderr
    assert "Traceback" not in stderr and "Exception" not in stderr
    assert fake.wait_for(lambda: fake.disconnects >= 1), "the reply went on for nobody"
    (conversation,) = conversations()
    user, reply = conversation.messages
    assert user.content == "Write a long one"
    assert reply.status is MessageStatus.STOPPED
    assert "".join(tokens).startswith(reply.content) and len(reply.content) < len("".join(tokens))


# A keyring that asks for a password, with nobody to type it ------------------------------

ENCRYPTED = "keyrings.alt.file.EncryptedKeyring"


def prompt_sentence(backend: str) -> str:
    return (
        f"The keyring {backend} asks for its password on a terminal, and desktop_chat has "
        "none to ask on here. Run desktop_chat from a terminal to type it, or use a keyring "
        "that unlocks with your login (GNOME Keyring, KWallet, KeePassXC) by unsetting "
        "PYTHON_KEYRING_BACKEND."
    )


class PromptingKeyring(KeyringBackend):
    """A backend that reads its password from the terminal (stdin) on every use."""

    # Named explicitly by the tests; at 0 keyring's own discovery (and its chainer, which
    # any later test may get) never picks it, so it cannot ask for a password elsewhere.
    priority = 0  # type: ignore[assignment]

    def _password(self) -> str:
        return input("Keyring password: ")

    def get_password(self, service: str, username: str) -> str | None:
        self._password()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._password()

    def delete_password(self, service: str, username: str) -> None:
        self._password()


class UnloadableKeyring(KeyringBackend):
    """Like keyrings.alt's EncryptedKeyring without pycryptodome: its priority raises."""

    @classproperty
    def priority(cls) -> float:
        raise RuntimeError("pycryptodome/x required")

    def get_password(self, service: str, username: str) -> str | None:
        raise AssertionError("never loaded")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("never loaded")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("never loaded")


@pytest.fixture
def keyring_data(tmp_path: Path) -> Path:
    """Where keyrings.alt keeps its file: the test's own folder, never the user's."""
    pytest.importorskip("keyrings.alt.file", reason="keyrings.alt is not installed")
    try:
        from keyrings.alt.file import EncryptedKeyring

        EncryptedKeyring.priority  # noqa: B018  # raises without pycryptodome
    except RuntimeError:
        pytest.skip("keyrings.alt's EncryptedKeyring needs pycryptodome")
    return tmp_path / "xdg-data"


def add_agent_without_a_terminal(backend: str, extra: dict[str, str]) -> tuple[int, str]:
    """`agents add --key-env`, detached from any terminal (as from a launcher or a script)."""
    env = cli_env(backend, AGENT_KEY="sk-agent-key-0123456789", **extra)
    result = subprocess.run(
        [sys.executable, "-m", "desktop_chat", "agents", "add", "--name", "A",
         "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--key-env", "AGENT_KEY"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        start_new_session=True,  # no controlling terminal: getpass cannot open /dev/tty
    )  # fmt: skip
    return result.returncode, result.stderr


def test_an_encrypted_keyring_without_a_terminal_is_refused_with_a_sentence(
    keyring_data: Path,
) -> None:
    code, stderr = add_agent_without_a_terminal(ENCRYPTED, {"XDG_DATA_HOME": str(keyring_data)})

    assert (code, stderr) == (4, f"desktop-chat: {prompt_sentence(ENCRYPTED)}\n")
    assert with_core(lambda core: core.service.list_agents()) == [], "agent saved without key"


def test_a_keyring_that_prompts_anyway_is_refused_with_a_sentence() -> None:
    backend = "tests.test_reliability_outside.PromptingKeyring"

    code, stderr = add_agent_without_a_terminal(backend, {})

    assert (code, stderr) == (4, f"desktop-chat: {prompt_sentence(backend)}\n")


def test_a_keyring_backend_that_cannot_load_is_named_with_its_reason() -> None:
    backend = "tests.test_reliability_outside.UnloadableKeyring"

    code, stderr = add_agent_without_a_terminal(backend, {})

    assert code == 4, stderr
    assert stderr == (
        f"desktop-chat: The keyring named in PYTHON_KEYRING_BACKEND ({backend}) cannot be "
        "used: pycryptodome/x required. Install what it needs, or unset "
        "PYTHON_KEYRING_BACKEND to use the system's keyring.\n"
    )


@pytest.mark.asyncio
async def test_a_reply_whose_key_sits_in_a_locked_keyring_fails_with_the_sentence(
    keyring_data: Path,
    paths: AppPaths,
    fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `desktop-chat serve` (or the window, started from a launcher) runs into."""
    from keyrings.alt.file import EncryptedKeyring

    monkeypatch.setenv("XDG_DATA_HOME", str(keyring_data))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", ENCRYPTED)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a service's stdin: no terminal
    previous = keyring.get_keyring()
    keyring.set_keyring(EncryptedKeyring())
    try:
        core = await open_core(paths, SecretStore())
        try:
            await core.service.save_agent(
                Agent(name="Locked", base_url=fake.base_url, model="m", key_ref="agent:locked")
            )
            conv = await core.service.create_conversation()
            log = EventLog(core.service, conv.id)
            await core.service.send(conv.id, "Hello?")
            done = await log.done(conv.id)
            reply = (await core.service.get_conversation(conv.id)).messages[-1]
        finally:
            await core.aclose()
    finally:
        keyring.set_keyring(previous)

    sentence = prompt_sentence(ENCRYPTED)
    assert done.status == "failed"
    assert [(e.kind, e.message) for e in log.of(ReplyFailed)] == [("no_key", sentence)]
    assert (reply.status, reply.error) == (MessageStatus.FAILED, sentence)
    assert fake.requests == [], "the request went out without its key"


# Two processes, one conversation -----------------------------------------------------------

BUSY = "A reply is still being written in this conversation. Wait for it or stop it first."
SLOW = [f"t{i} " for i in range(100)]


def new_conversation() -> str:
    return with_core(lambda core: core.service.create_conversation()).id


async def journal_has_deltas(journal: Path, deltas: int) -> None:
    """Wait (the loop running) until some reply's journal holds `deltas` delta lines."""

    def enough() -> bool:
        for path in journal.glob("*.jsonl"):
            lines = path.read_text(encoding="utf-8").split("\n")[:-1]
            if len(lines) - 1 >= deltas:
                return True
        return False

    await wait_until(enough, 20, "the other process's reply to stream")


def test_two_asks_in_one_conversation_reply_one_at_a_time(home: Path, fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    cid = new_conversation()
    fake.scenario = Scenario(tokens=SLOW, delay=0.02)

    first = start_cli("ask", "--conversation", cid, "From the first")
    try:
        wait_for_journal(home / "data" / "journal", deltas=3, process=first)
        second = cli("ask", "--conversation", cid, "From the second")
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()

    assert (second.returncode, second.stdout, second.stderr) == (2, "", f"desktop-chat: {BUSY}\n")
    assert first.returncode == 0, err
    assert out == "".join(SLOW) + "\n"
    (conversation,) = conversations()
    assert [(m.role, m.status, m.content) for m in conversation.messages] == [
        ("user", MessageStatus.COMPLETE, "From the first"),
        ("assistant", MessageStatus.COMPLETE, "".join(SLOW)),
    ]
    assert list((home / "data" / "journal").iterdir()) == []


@pytest.mark.asyncio
async def test_the_engine_and_the_command_line_refuse_each_others_conversation(
    core: Core, fake: FakeOpenAI
) -> None:
    """The window's engine and `desktop-chat ask`, both ways, on one conversation."""
    conv = await core.service.create_conversation()
    fake.scenario = Scenario(tokens=SLOW, delay=0.02)

    asking = start_cli("ask", "--conversation", conv.id, "From the command line")
    try:
        await journal_has_deltas(core.paths.journal, 3)
        with pytest.raises(ReplyInProgressError) as refused:
            await core.service.send(conv.id, "From the window")
        assert refused.value.user_message == BUSY
        context = await core.service.get_context(conv.id)
        with pytest.raises(ReplyInProgressError):
            await core.service.replace_context(conv.id, context)
        with pytest.raises(ReplyInProgressError):
            await core.service.regenerate(conv.id)
        _, err = await asyncio.to_thread(asking.communicate, timeout=60)
    finally:
        if asking.poll() is None:
            asking.kill()
            asking.communicate()
    assert asking.returncode == 0, err

    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "From the window")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 3)
    refused_cli = await asyncio.to_thread(cli, "ask", "--conversation", conv.id, "Again")
    await log.done(conv.id)

    assert (refused_cli.returncode, refused_cli.stderr) == (2, f"desktop-chat: {BUSY}\n")
    stored = (await core.service.get_conversation(conv.id)).messages
    assert [(m.role, m.content) for m in stored] == [
        ("user", "From the command line"),
        ("assistant", "".join(SLOW)),
        ("user", "From the window"),
        ("assistant", "".join(SLOW)),
    ]


@pytest.mark.asyncio
async def test_a_killed_process_leaves_no_stale_lock(core: Core, fake: FakeOpenAI) -> None:
    conv = await core.service.create_conversation()
    fake.scenario = Scenario(tokens=SLOW, delay=0.02)
    asking = start_cli("ask", "--conversation", conv.id, "Cut short")
    try:
        await journal_has_deltas(core.paths.journal, 3)
        asking.kill()  # SIGKILL: nothing of the process runs any more
        await asyncio.to_thread(asking.communicate, timeout=10)
    finally:
        if asking.poll() is None:
            asking.kill()
            asking.communicate()

    fake.scenario = Scenario(tokens=["Fine."])
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Still there?")  # refused with a stale lock
    assert (await log.done(conv.id)).status == "complete"


@pytest.mark.asyncio
async def test_the_window_refuses_to_send_while_the_command_line_replies(
    qapp, paths: AppPaths, secrets: SecretStore, agent: Agent, fake: FakeOpenAI
) -> None:
    from PySide6.QtCore import Qt

    from tests.gui_support import CoreOnLoop, WindowOnLoop, press, type_text

    fake.scenario = Scenario(tokens=SLOW, delay=0.02)

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None, what="a conversation opens")
        cid = window.session.current_id
        asking = start_cli("ask", "--conversation", cid, "From the command line")
        try:
            await journal_has_deltas(paths.journal, 3)
            type_text(window.composer.edit, "From the window")
            press(window.composer.edit, Qt.Key.Key_Return)
            await wait_until(lambda: window.banner.isVisible(), what="the error banner")
            assert window.banner.label.text() == BUSY
            assert window.composer.text() == "From the window", "the words were lost"
            assert not window.composer.busy
            _, err = await asyncio.to_thread(asking.communicate, timeout=60)
        finally:
            if asking.poll() is None:
                asking.kill()
                asking.communicate()
        assert asking.returncode == 0, err
        stored = (await core.service.get_conversation(cid)).messages
        assert [m.content for m in stored] == ["From the command line", "".join(SLOW)]


# A data folder that cannot be written: read-only, or on a full disk ------------------------

DISK_FULL = "The disk is full; free some space, nothing was lost."


@pytest.fixture
def seeded(home: Path, fake: FakeOpenAI) -> Path:
    """A home folder with one agent and one conversation, closed cleanly."""
    if not user_namespaces_work():
        pytest.skip("needs unprivileged user namespaces (unshare) for a tmpfs of its own")
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=["Kept ", "safe."])
    assert cli("ask", "Hello").returncode == 0
    return home


@pytest.mark.parametrize("mode", ["read-only", "full"])
def test_reading_commands_work_when_the_data_folder_cannot_be_written(
    seeded: Path, tmp_path: Path, mode: str
) -> None:
    (conversation,) = conversations()
    commands = [["list"], ["export"], ["agents", "list"], ["ask", "One more?"]]

    run = on_a_small_disk(seeded, tmp_path / "mounted", mode, commands, cli_env())

    (listed, exported, agents, asked) = run.results
    mounted = tmp_path / "mounted"
    # The log cannot be written either: said once, in words.
    notice = f"desktop-chat: cannot write the log file {mounted}/logs/desktop_chat.log " + (
        "(Read-only file system); warnings are shown here instead.\n"
        if mode == "read-only"
        else "(No space left on device); later lines are left out.\n"
    )
    for code, _, stderr in (listed, exported, agents):
        assert (code, stderr) == (0, notice)
    assert listed[1].startswith(f"{conversation.id}\t")
    assert listed[1].endswith(f"\t{conversation.title}\n")
    (item,) = json.loads(exported[1])["conversations"]
    assert [m["content"] for m in item["messages"]] == ["Hello", "Kept safe."]
    assert agents[1].startswith("* Fake\t")
    if mode == "full":  # refused before a line is logged
        assert asked == (4, "", f"desktop-chat: {DISK_FULL}\n")
    else:
        assert asked == (4, "", f"{notice}desktop-chat: {read_only_sentence(mounted / 'data')}\n")
    assert run.unchanged, "the database file changed"


def read_only_sentence(folder: Path) -> str:
    return (
        f"The data folder {folder} is read-only, so desktop_chat cannot save conversations "
        "there. Make it writable and start again; nothing in it was changed."
    )


# A database file of 0 bytes ----------------------------------------------------------------


def test_a_zero_byte_database_is_refused_not_taken_for_a_new_one(paths: AppPaths) -> None:
    paths.database.write_bytes(b"")
    sentence = (
        f"The conversation database at {paths.database} is empty (0 bytes): whatever it held "
        "is gone from it. Restore a backup with `desktop-chat restore FILE`, or move the file "
        "aside to start a fresh one."
    )

    results = [cli(*args) for args in (["list"], ["export"], ["ask", "Hello"])]

    for result in results:
        assert (result.returncode, result.stdout, result.stderr) == (
            4,
            "",
            f"desktop-chat: {sentence}\n",
        )
    assert paths.database.read_bytes() == b"", "the empty file was replaced"


def test_a_database_copied_in_with_loose_permissions_becomes_owner_only(home: Path) -> None:
    assert cli("list").returncode == 0
    database = home / "data" / "conversations.sqlite3"
    database.chmod(0o644)

    assert cli("list").returncode == 0

    assert oct(database.stat().st_mode & 0o777) == "0o600"


def test_a_new_database_is_never_a_zero_byte_file(home: Path) -> None:
    assert cli("list").returncode == 0  # the first start makes the database

    database = home / "data" / "conversations.sqlite3"
    assert database.stat().st_size > 0
    assert oct(database.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in database.parent.iterdir() if ".new-" in p.name] == []


# A damaged search index ----------------------------------------------------------------------

DAMAGE = {
    "word-index-config-gone": "DROP TABLE message_fts_config",
    "trigram-index-config-gone": "DROP TABLE message_trigram_config",
    "word-index-emptied": "DELETE FROM message_fts_data",
    "trigram-index-emptied": "DELETE FROM message_trigram_data",
}


def damage_index(database: Path, statement: str) -> None:
    with contextlib.closing(sqlite3.connect(database)) as raw:
        raw.execute(statement)
        raw.commit()


def index_sentence(database: Path) -> str:
    return (
        f"The search index of the conversation database at {database} is damaged; the "
        "conversations themselves are not. Rebuild it with `desktop-chat repair`, or start "
        "desktop_chat and accept its offer to."
    )


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_search_index_is_named_and_rebuilt_by_repair(
    home: Path, fake: FakeOpenAI, damage: str
) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=["Bonjour ", "à vous."])
    assert cli("ask", "Hello 你好世界").returncode == 0
    database = home / "data" / "conversations.sqlite3"
    damage_index(database, DAMAGE[damage])

    tries = [cli("ask", "Again?") for _ in range(2)]
    listed = cli("list")

    for result in tries:
        assert (result.returncode, result.stdout) == (4, ""), result.stderr
        assert result.stderr == f"desktop-chat: {index_sentence(database)}\n"
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 1, "an empty one was left"

    repaired = cli("repair")
    assert (repaired.returncode, repaired.stderr) == (0, "")
    assert repaired.stdout == (
        "Rebuilt the search index over 2 messages; nothing else was changed.\n"
    )

    fake.scenario = Scenario(tokens=["Fine."])
    assert cli("ask", "Again?").returncode == 0
    found = with_core(lambda core: core.service.list_conversations(query="vous"))
    found_cjk = with_core(lambda core: core.service.list_conversations(query="世界"))
    assert len(found) == len(found_cjk) == 1
    with contextlib.closing(sqlite3.connect(database)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        raw.execute("INSERT INTO message_fts(message_fts, rank) VALUES ('integrity-check', 1)")
        raw.execute("INSERT INTO message_trigram(message_trigram) VALUES ('integrity-check')")


@pytest.mark.asyncio
async def test_damage_found_by_a_search_is_offered_for_repair_at_the_next_start(
    paths: AppPaths, secrets: SecretStore
) -> None:
    """Damage inside the index's pages shows only when a search reads them."""
    core = await open_core(paths, secrets)
    conv = await core.service.create_conversation(title="Notes")
    for i in range(40):
        message = Message(role="user", content=f"note {i} about sqlite indexes")
        await core.store.run(lambda r, m=message: r.messages.append(conv.id, m))
    await core.aclose()
    with contextlib.closing(sqlite3.connect(paths.database)) as raw:  # garble the leaf pages
        blocks = raw.execute("SELECT id, block FROM message_fts_data WHERE id > 10").fetchall()
        for ident, block in blocks:
            garbled = bytes(b ^ 0xA5 for b in block)
            raw.execute("UPDATE message_fts_data SET block = ? WHERE id = ?", (garbled, ident))
        raw.commit()

    core = await open_core(paths, secrets)  # the quick check at start-up sees nothing
    try:
        with pytest.raises(StoreError) as caught:
            await core.service.list_conversations(query="sqlite")
    finally:
        await core.aclose()
    assert (caught.value.kind, caught.value.user_message) == (
        "index_damaged",
        index_sentence(paths.database),
    )
    with pytest.raises(StoreError) as at_start:
        await open_core(paths, secrets)
    assert at_start.value.kind == "index_damaged"

    assert await asyncio.to_thread(repair_search_index, paths.database) == 40
    core = await open_core(paths, secrets)
    try:
        found = await core.service.list_conversations(query="sqlite")
    finally:
        await core.aclose()
    assert [c.id for c in found] == [conv.id]


@pytest.mark.asyncio
async def test_the_window_offers_to_rebuild_a_damaged_index_and_does(
    qapp, paths: AppPaths, secrets: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from tests.test_startup import _start_and_close

    async def seed() -> str:
        core = await open_core(paths, secrets)
        conv = await core.service.create_conversation(title="Notes")
        message = Message(role="user", content="about sqlite indexes")
        await core.store.run(lambda r: r.messages.append(conv.id, message))
        await core.aclose()
        return conv.id

    cid = await seed()
    damage_index(paths.database, DAMAGE["word-index-config-gone"])
    asked: list[str] = []

    def answer_yes(*args: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer_yes)
    code, attached = await _start_and_close(qapp)

    assert (code, attached) == (0, True)
    assert asked == [
        index_sentence(paths.database)
        + "\n\nRebuild the search index now? Your conversations are kept as they are."
    ]
    core = await open_core(paths, secrets)
    try:
        found = await core.service.list_conversations(query="sqlite")
    finally:
        await core.aclose()
    assert [c.id for c in found] == [cid]

"""Faults seen from outside (#18): the command line run against misbehaving servers, a
second process on the same conversation, closed pipes, prompting keyrings, broken data.

Each test runs `desktop-chat` as a real subprocess, as a person or a script would, and
checks what it prints, how it exits, and what is stored afterwards.
"""

from __future__ import annotations

import asyncio
import io
import os
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
from desktop_chat.paths import AppPaths
from desktop_chat.schemas import Agent, MessageStatus
from desktop_chat.secrets import SecretStore
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
from tests.test_reliability_support import open_core

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

    priority = 1  # type: ignore[assignment]

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
    assert done.data["status"] == "failed"
    assert [(e.data["kind"], e.data["message"]) for e in log.of("error")] == [("no_key", sentence)]
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
    await log.wait_for(lambda: len(log.of("delta")) >= 3)
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
    assert (await log.done(conv.id)).data["status"] == "complete"


def test_the_window_refuses_to_send_while_the_command_line_replies(
    qapp, paths: AppPaths, secrets: SecretStore, agent: Agent, fake: FakeOpenAI
) -> None:
    from PySide6.QtCore import Qt

    from tests.gui_support import CoreOnLoop, WindowOnLoop, press, run_on_qt_loop, type_text

    fake.scenario = Scenario(tokens=SLOW, delay=0.02)

    async def scenario() -> None:
        async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
            await wait_until(lambda: window.current is not None, what="a conversation opens")
            cid = window.current_id
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

    run_on_qt_loop(qapp, scenario())

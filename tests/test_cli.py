"""The `desktop-chat` command, run as a real subprocess against the fake server.

Each test gets its own DESKTOP_CHAT_HOME (the autouse `home` fixture); the state a command
leaves behind is checked by opening the core in the test, as the next start would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from desktop_chat.app import Core
from desktop_chat.paths import HOME_ENV
from desktop_chat.schemas import Agent, ConversationDetail, MessageStatus, new_id
from desktop_chat.secrets import SERVICE, SecretStore
from tests.fake_openai import FakeOpenAI, Scenario

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# The key store of subprocesses that must keep a key from one command to the next; every
# other subprocess gets keyring's always-failing backend, so no test ever touches the real
# keyring of the machine it runs on.
FILE_KEYRING = "tests.test_cli.FileKeyring"
NO_KEYRING = "keyring.backends.fail.Keyring"


class FileKeyring(KeyringBackend):
    """A keyring kept in a JSON file in the test's home, shared by the CLI processes."""

    priority = 1  # type: ignore[assignment]

    @property
    def file(self) -> Path:
        return Path(os.environ[HOME_ENV]) / "test-keyring.json"

    def _load(self) -> dict[str, str]:
        return json.loads(self.file.read_text()) if self.file.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self.file.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(username)
        self.file.write_text(json.dumps(data))


# Helpers ---------------------------------------------------------------------------------


def cli_env(keyring_backend: str = NO_KEYRING, **extra: str) -> dict[str, str]:
    env = dict(os.environ)  # carries DESKTOP_CHAT_HOME from the `home` fixture
    env.pop("OPENAI_API_KEY", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHON_KEYRING_BACKEND"] = keyring_backend
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def cli(
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_chat", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        env=env or cli_env(),
        timeout=timeout,
    )


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "desktop_chat", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        env=env or cli_env(),
    )


def with_core(action: Callable[[Core], Coroutine[Any, Any, T]]) -> T:
    """Open the core on the test's home, as the next start of the app would, and act on it."""

    async def run() -> T:
        core = await Core.open(secrets=SecretStore(use_keyring=False))
        try:
            return await action(core)
        finally:
            await core.aclose()

    return asyncio.run(run())


def add_agent(base_url: str) -> Agent:
    """A default agent without a key, saved the way the window would save it."""
    agent = Agent(name="Fake", base_url=base_url, model="fake-model", is_default=True)
    return with_core(lambda core: core.service.save_agent(agent))


def conversations() -> list[ConversationDetail]:
    return with_core(lambda core: core.service.export())


def conversation_id_from(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("conversation: ")]
    assert lines, f"no conversation id on stderr: {stderr!r}"
    return lines[-1].removeprefix("conversation: ").strip()


def wait_for_journal(journal: Path, deltas: int, process: subprocess.Popen[str]) -> Path:
    """The crash journal file once it holds `deltas` complete delta lines."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the command ended early: {process.communicate()}"
        for path in journal.glob("*.jsonl"):
            lines = path.read_text(encoding="utf-8").split("\n")[:-1]  # complete lines only
            if len(lines) - 1 >= deltas:  # the first line is the header
                return path
        time.sleep(0.02)  # polling a file another process writes; bounded by the deadline
    raise AssertionError(f"the journal never held {deltas} deltas")


# Agents ----------------------------------------------------------------------------------


def test_agents_add_list_edit_remove(home: Path) -> None:
    added = cli(
        "agents", "add", "--name", "Llama", "--base-url", "http://localhost:11434/v1/",
        "--model", "llama3.2", "--system", "Be brief.", "--default",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("Saved agent Llama (")

    listed = cli("agents", "list")
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    name, model, url, key, agent_id = line.split("\t")
    assert (name, model, url, key) == ("* Llama", "llama3.2", "http://localhost:11434/v1", "no key")

    edited = cli("agents", "edit", "Llama", "--model", "qwen3", "--temperature", "0.4")
    assert edited.returncode == 0, edited.stderr
    (agent,) = with_core(lambda core: core.service.list_agents())
    assert (agent.agent_id, agent.name, agent.model) == (agent_id, "Llama", "qwen3")
    assert agent.base_url == "http://localhost:11434/v1", "edit lost a field it was not given"
    assert agent.params.temperature == 0.4
    assert [(m.role, m.content) for m in agent.preset_messages] == [("system", "Be brief.")]
    assert agent.is_default

    removed = cli("agents", "remove", agent_id)
    assert removed.returncode == 0, removed.stderr
    assert "Removed agent Llama" in removed.stdout
    assert with_core(lambda core: core.service.list_agents()) == []


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--base-url", "ftp://example.com/v1"], "base_url"),
        (["--base-url", "localhost:11434"], "base_url"),
        (["--base-url", "http://localhost/v1", "--temperature", "5"], "temperature"),
        (["--base-url", "http://localhost/v1", "--max-tokens", "0"], "max_tokens"),
    ],
    ids=["scheme", "no-scheme", "temperature", "max-tokens"],
)
def test_agents_add_refuses_bad_values_naming_the_field(args: list[str], field: str) -> None:
    result = cli("agents", "add", "--name", "Bad", "--model", "m", *args)

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("desktop-chat: invalid agent: ")
    assert field in result.stderr
    assert "Traceback" not in result.stderr
    assert with_core(lambda core: core.service.list_agents()) == []


def test_agents_edit_of_an_unknown_agent_is_not_found() -> None:
    edited = cli("agents", "edit", "nobody", "--model", "m")
    assert edited.returncode == 3, edited.stderr
    assert "nobody" in edited.stderr


# Keys ------------------------------------------------------------------------------------


def test_key_env_stores_the_variable_value_never_argv(home: Path, fake: FakeOpenAI) -> None:
    secret = "sk-cli-env-key-5f0c9b1e7a"
    env = cli_env(FILE_KEYRING, MY_PROVIDER_KEY=secret)
    args = ["agents", "add", "--name", "Keyed", "--base-url", fake.base_url,
            "--model", "fake-model", "--default", "--key-env", "MY_PROVIDER_KEY"]  # fmt: skip
    assert secret not in args

    added = cli(*args, env=env)

    assert added.returncode == 0, added.stderr
    stored = json.loads((home / "test-keyring.json").read_text())
    (agent,) = with_core(lambda core: core.service.list_agents())
    assert stored == {f"{SERVICE}/{agent.key_ref}": secret}, "the key is not the variable's value"
    listed = cli("agents", "list", env=env)
    assert "\tkey set\t" in listed.stdout

    asked = cli("ask", "hello", env=env)
    assert asked.returncode == 0, asked.stderr
    assert fake.requests[0]["headers"]["authorization"] == f"Bearer {secret}"

    leaks = [p for p in home.rglob("*") if p.is_file() and p.name != "test-keyring.json"]
    for path in leaks:  # the database, its WAL, settings and the log
        assert secret.encode() not in path.read_bytes(), f"the key leaked into {path}"
    for output in (added, listed, asked):
        assert secret not in output.stdout + output.stderr


def test_key_env_naming_an_unset_variable_is_refused() -> None:
    result = cli(
        "agents", "add", "--name", "A", "--base-url", "http://localhost/v1", "--model", "m",
        "--key-env", "DESKTOP_CHAT_TEST_UNSET_VARIABLE",
    )  # fmt: skip
    assert result.returncode == 2
    assert "DESKTOP_CHAT_TEST_UNSET_VARIABLE" in result.stderr


def test_there_is_no_option_to_pass_a_key_in_argv() -> None:
    result = cli(
        "agents", "add", "--name", "A", "--base-url", "http://localhost/v1", "--model", "m",
        "--api-key", "sk-on-the-command-line-123",
    )  # fmt: skip
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


def test_key_stdin_without_a_working_keyring_says_so_and_saves_nothing() -> None:
    result = cli(
        "agents", "add", "--name", "A", "--base-url", "http://localhost/v1", "--model", "m",
        "--key-stdin",
        stdin="sk-from-stdin-0123456789\n",
        env=cli_env(NO_KEYRING),
    )  # fmt: skip

    assert result.returncode == 4, result.stderr
    assert "No system keyring is available" in result.stderr
    assert "PYTHON_KEYRING_BACKEND" in result.stderr
    assert "sk-from-stdin-0123456789" not in result.stderr
    assert with_core(lambda core: core.service.list_agents()) == [], "agent saved without key"


def add_keyed(name: str, base_url: str, variable: str, env: dict[str, str]) -> None:
    """`agents add` with the key read from the environment variable `variable`."""
    added = cli("agents", "add", "--name", name, "--base-url", base_url,
                "--model", "fake-model", "--key-env", variable, env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr


def duplicate(name: str, copy_name: str) -> Agent:
    """A copy of agent `name` sharing its key, as the window's Duplicate button makes it."""

    async def copy(core: Core) -> Agent:
        original = await core.service.get_agent(name)
        return await core.service.save_agent(
            original.model_copy(
                update={"id": None, "agent_id": new_id(), "name": copy_name, "is_default": False}
            )
        )

    return with_core(copy)


def stored_keys(home: Path) -> dict[str, str]:
    """The file keyring's entries, by key_ref."""
    entries = json.loads((home / "test-keyring.json").read_text())
    return {name.removeprefix(f"{SERVICE}/"): key for name, key in entries.items()}


def key_sent_by(agent: str, env: dict[str, str], fake: FakeOpenAI) -> str:
    asked = cli("ask", "--agent", agent, "hello", env=env)
    assert asked.returncode == 0, asked.stderr
    return fake.requests[-1]["headers"]["authorization"].removeprefix("Bearer ")


def test_removing_an_agent_keeps_the_key_another_agent_uses(home: Path, fake: FakeOpenAI) -> None:
    secret = "sk-shared-key-0a1b2c3d4e"
    env = cli_env(FILE_KEYRING, SHARED_KEY=secret)
    add_keyed("Original", fake.base_url, "SHARED_KEY", env)
    copy = duplicate("Original", "Copy")

    removed = cli("agents", "remove", "Original", env=env)

    assert removed.returncode == 0, removed.stderr
    assert stored_keys(home) == {copy.key_ref: secret}, "the copy lost its key"
    assert key_sent_by("Copy", env, fake) == secret
    assert cli("agents", "remove", "Copy", env=env).returncode == 0
    assert stored_keys(home) == {}, "the last agent using the key is gone, and so is the key"


@pytest.mark.parametrize("edited", ["Original", "Copy"])
def test_a_new_key_for_one_agent_leaves_a_shared_key_alone(
    home: Path, fake: FakeOpenAI, edited: str
) -> None:
    old, new = "sk-old-shared-key-111111", "sk-new-own-key-222222"
    env = cli_env(FILE_KEYRING, OLD_KEY=old, NEW_KEY=new)
    add_keyed("Original", fake.base_url, "OLD_KEY", env)
    duplicate("Original", "Copy")
    other = "Copy" if edited == "Original" else "Original"

    result = cli("agents", "edit", edited, "--key-env", "NEW_KEY", env=env)

    assert result.returncode == 0, result.stderr
    assert key_sent_by(edited, env, fake) == new
    assert key_sent_by(other, env, fake) == old, f"{other} lost its key to {edited}'s"
    agents = {a.name: a for a in with_core(lambda core: core.service.list_agents())}
    assert agents["Original"].key_ref != agents["Copy"].key_ref
    assert sorted(stored_keys(home).values()) == sorted([old, new])


def test_agents_list_tells_a_stored_key_from_openai_api_key(fake: FakeOpenAI) -> None:
    env = cli_env(FILE_KEYRING, MY_KEY="sk-mine-0123456789", OPENAI_API_KEY="sk-env-9876543210")
    add_keyed("Own", fake.base_url, "MY_KEY", env)
    added = cli("agents", "add", "--name", "Borrowing", "--base-url", fake.base_url,
                "--model", "fake-model", env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr

    listed = cli("agents", "list", env=env)
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    keys = {row[0].strip("* "): row[3] for row in rows}
    assert keys == {"Own": "key set", "Borrowing": "key from OPENAI_API_KEY"}
    without = cli("agents", "list", env={**env, "OPENAI_API_KEY": ""})
    assert "\tno key\t" in without.stdout


# Asking ----------------------------------------------------------------------------------


def test_ask_streams_stores_and_continues(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=["WAL ", "keeps ", "readers ", "going."])

    asked = cli("ask", "Explain WAL")

    assert asked.returncode == 0, asked.stderr
    assert asked.stdout == "WAL keeps readers going.\n"
    cid = conversation_id_from(asked.stderr)
    (conversation,) = conversations()
    assert conversation.id == cid
    assert [(m.role, m.content, m.status) for m in conversation.messages] == [
        ("user", "Explain WAL", MessageStatus.COMPLETE),
        ("assistant", "WAL keeps readers going.", MessageStatus.COMPLETE),
    ]

    fake.scenario = Scenario(tokens=["Fewer ", "fsyncs."])
    more = cli("ask", "--conversation", cid, "-", stdin="And its drawbacks?")
    assert more.returncode == 0, more.stderr
    assert more.stdout == "Fewer fsyncs.\n"
    assert conversation_id_from(more.stderr) == cid
    chat = [r for r in fake.requests if r["body"].get("stream")]
    assert chat[-1]["body"]["messages"] == [
        {"role": "user", "content": "Explain WAL"},
        {"role": "assistant", "content": "WAL keeps readers going."},
        {"role": "user", "content": "And its drawbacks?"},
    ]

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    assert line.startswith(f"{cid}\t") and line.split("\t")[2] == "4"

    exported = cli("export", cid)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    (item,) = data["conversations"]
    assert item["session_id"] == cid
    assert [(m["role"], m["content"]) for m in item["messages"]] == [
        ("user", "Explain WAL"),
        ("assistant", "WAL keeps readers going."),
        ("user", "And its drawbacks?"),
        ("assistant", "Fewer fsyncs."),
    ]
    assert all(m["timestamp"] for m in item["messages"])

    markdown = cli("export", "--format", "md", cid)
    assert markdown.returncode == 0, markdown.stderr
    headings = [
        line.split(" · ")[0] for line in markdown.stdout.splitlines() if line.startswith("## ")
    ]
    assert headings == ["## User", "## Assistant", "## User", "## Assistant"]
    assert "\nWAL keeps readers going.\n" in markdown.stdout
    assert "\nFewer fsyncs.\n" in markdown.stdout


def test_ask_against_a_server_refusing_the_key_exits_1_and_keeps_the_question(
    fake: FakeOpenAI,
) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(status=401)

    result = cli("ask", "Are you there?")

    assert result.returncode == 1, result.stderr
    assert "rejected the API key" in result.stderr
    assert "Traceback" not in result.stderr
    (conversation,) = conversations()
    assert conversation.id == conversation_id_from(result.stderr)
    user, reply = conversation.messages
    assert (user.role, user.content) == ("user", "Are you there?")
    assert (reply.role, reply.status, reply.content) == ("assistant", MessageStatus.FAILED, "")


def test_ask_without_an_agent_points_to_agents_add_and_stores_nothing() -> None:
    result = cli("ask", "Hello?")

    assert result.returncode == 2
    assert "agents add" in result.stderr and "Settings" in result.stderr
    assert conversations() == [], "an empty conversation was left behind"


def test_unknown_conversation_is_exit_3(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)

    asked = cli("ask", "--conversation", "no-such-id", "hi")
    exported = cli("export", "no-such-id")

    for result in (asked, exported):
        assert result.returncode == 3, result.stderr
        assert "no-such-id" in result.stderr
    assert fake.requests == []
    assert conversations() == []


# Import ----------------------------------------------------------------------------------


def test_import_of_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(
        json.dumps(
            [
                {
                    "session_id": "imported-1",
                    "title": "Kept title",
                    "messages": [
                        {"role": "user", "content": "Q?", "timestamp": 1_700_000_000_000},
                        {"role": "assistant", "content": "A.", "timestamp": 1_700_000_001_000},
                    ],
                },
                {"messages": [{"role": "user", "content": "Second"}]},
            ]
        ),
        encoding="utf-8",
    )

    result = cli("import", str(path))

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)["imported"]
    assert len(created) == 2 and created[0] == "imported-1"
    stored = {c.id: c for c in conversations()}
    assert set(stored) == set(created)
    first = stored["imported-1"]
    assert first.title == "Kept title"
    assert [(m.role, m.content) for m in first.messages] == [("user", "Q?"), ("assistant", "A.")]
    assert first.messages[0].created_at.timestamp() == 1_700_000_000


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        (
            json.dumps(
                [
                    {"messages": [{"role": "user", "content": "fine"}]},
                    {"messages": [{"role": "wizard", "content": "bad"}]},
                ]
            ),
            "Conversation 2",
        ),
    ],
    ids=["not-json", "second-conversation-bad"],
)
def test_import_of_a_malformed_file_imports_nothing(
    tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")

    result = cli("import", str(path))

    assert result.returncode == 2
    assert reason in result.stderr and "Nothing was imported" in result.stderr
    assert conversations() == []


# Interruptions ---------------------------------------------------------------------------

LONG_REPLY = [f"w{i} " for i in range(200)]


def test_kill_9_mid_reply_is_recovered_as_interrupted_on_next_start(
    home: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=LONG_REPLY, delay=0.05)
    journal = home / "data" / "journal"

    process = start_cli("ask", "Write a long one")
    try:
        entry = wait_for_journal(journal, deltas=4, process=process)
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL

    (conversation,) = conversations()  # opening the core recovers the journal
    assert conversation.id == entry.stem
    user, reply = conversation.messages
    assert (user.role, user.content) == ("user", "Write a long one")
    assert reply.role == "assistant"
    assert reply.status is MessageStatus.INTERRUPTED
    full = "".join(LONG_REPLY)
    assert reply.content and full.startswith(reply.content)
    assert len(reply.content) >= len("w0 w1 w2 w3 ")
    assert len(reply.content) < len(full)
    assert list(journal.iterdir()) == [], "the journal was not cleared after recovery"

    (again,) = conversations()  # a second start does not recover it twice
    assert len(again.messages) == 2


def test_ctrl_c_stops_the_reply_keeps_it_as_stopped_and_exits_130(
    home: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=LONG_REPLY, delay=0.05)
    journal = home / "data" / "journal"

    process = start_cli("ask", "Write a long one")
    try:
        wait_for_journal(journal, deltas=3, process=process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert fake.wait_for(lambda: fake.disconnects >= 1), "the HTTP stream was left open"
    (conversation,) = conversations()
    user, reply = conversation.messages
    assert user.content == "Write a long one"
    assert reply.status is MessageStatus.STOPPED
    full = "".join(LONG_REPLY)
    assert reply.content.startswith("w0 w1 w2 ") and len(reply.content) < len(full)
    assert stdout.startswith(reply.content), "stdout and the stored reply disagree"
    assert list(journal.iterdir()) == []

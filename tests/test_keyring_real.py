"""Keys in a real Secret Service: GNOME Keyring on a private D-Bus session, in a fresh HOME.

The other tests keep keys in memory (tests/memory_keyring.py); these go through what
people run on Linux: keyring finds the Secret Service on the session bus by itself, and
SecretStore, the `agents add --key-env` command, `ask` and `agents remove` store, read
and delete the key there. Each test starts its own bus and daemon (`dbus-run-session`,
then `gnome-keyring-daemon --unlock` in a fresh HOME), so the keyring of the person
running the tests is never touched. Without those two programs the tests are skipped;
`.ci/run` installs them.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backends import SecretService

from desktop_chat.secrets import SERVICE, SecretStore
from tests.test_cli import REPO, cli

pytestmark = pytest.mark.skipif(
    shutil.which("gnome-keyring-daemon") is None or shutil.which("dbus-run-session") is None,
    reason="a real Secret Service needs gnome-keyring-daemon and dbus-run-session "
    "(Debian/Ubuntu: apt-get install gnome-keyring dbus)",
)

KEY = "sk-real-keyring-0123456789abcdef"
# Runs inside the private session: unlock a new login keyring (without --unlock, creating
# the collection waits for a prompt nobody answers), tell the test the bus address, then
# hold the session open until the test closes our stdin. The daemon leaves with its bus.
SESSION = (
    "echo test-password | gnome-keyring-daemon --unlock --replace --components=secrets"
    " >/dev/null || exit 1; "
    'echo "$DBUS_SESSION_BUS_ADDRESS"; '
    "cat >/dev/null"
)
START_TIMEOUT = 20.0


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline().strip() if ready else ""


@pytest.fixture
def secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A running Secret Service that this process and the ones it starts will find.

    Yields the bus address; keyring is set up again from scratch, as at a start of the
    app, and put back afterwards.
    """
    home = tmp_path / "keyring-home"
    (home / ".local" / "share" / "keyrings").mkdir(parents=True)
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    # A private HOME and runtime folder: the daemon's keyring files and control socket
    # can collide with nobody's.
    daemon_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    session = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", SESSION],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=daemon_env,
    )
    try:
        address = _read_line(session, START_TIMEOUT)
        assert address.startswith("unix:"), "the private D-Bus session did not start"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        # keyring reads its own settings file from here; nothing of the caller's applies.
        monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
        previous = keyring.get_keyring()
        keyring.core.init_backend()  # what the app's first keyring call does
        try:
            yield address
        finally:
            keyring.set_keyring(previous)
    finally:
        assert session.stdin is not None
        session.stdin.close()
        try:
            session.wait(timeout=10)
        except subprocess.TimeoutExpired:
            session.kill()
            session.wait()


def in_the_secret_service(key_ref: str) -> str | None:
    """What the Secret Service itself holds for `key_ref`, asked without the app."""
    return SecretService.Keyring().get_password(SERVICE, key_ref)


def in_another_process(code: str) -> str:
    """Run `code` in a fresh interpreter with this test's environment; return its stdout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_secret_store_keeps_keys_in_the_secret_service(secret_service: str) -> None:
    store = SecretStore()
    assert store.keyring_available, f"the Secret Service was not chosen: {store.backend_name}"

    store.set("agent:real", KEY)
    assert in_the_secret_service("agent:real") == KEY
    assert SecretStore().get("agent:real") == KEY, "a new store (the next start) reads it"
    read = "from desktop_chat.secrets import SecretStore; print(SecretStore().get('agent:real'))"
    assert in_another_process(read) == KEY, "the daemon holds the key, not this process"

    store.delete("agent:real")
    assert in_the_secret_service("agent:real") is None
    assert SecretStore().get("agent:real") is None
    assert in_another_process(read) == "None"
    store.delete("agent:real")  # deleting what is gone is no error


def test_the_cli_stores_uses_and_deletes_a_key_in_the_secret_service(
    secret_service: str, fake, paths
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",
        "CLOUD_KEY": KEY,
    }
    added = cli(
        "agents", "add", "--name", "Cloud", "--base-url", fake.base_url,
        "--model", "fake-model", "--key-env", "CLOUD_KEY", "--default",
        env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    agent_id = re.search(r"\(([^)]+)\)", added.stdout).group(1)
    key_ref = f"agent:{agent_id}"
    assert in_the_secret_service(key_ref) == KEY
    stored = b"".join(f.read_bytes() for f in paths.data.glob("conversations.sqlite3*"))
    assert KEY.encode() not in stored, "the database names the key, never holds it"

    del env["CLOUD_KEY"]  # from now on the key can only come from the Secret Service
    asked = cli("ask", "Hello from the keyring test", env=env)
    assert asked.returncode == 0, asked.stderr
    assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"

    removed = cli("agents", "remove", agent_id, env=env)
    assert removed.returncode == 0, removed.stderr
    assert in_the_secret_service(key_ref) is None, "removing the agent deletes its key"

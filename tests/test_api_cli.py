"""`desktop-chat tokens` and `desktop-chat serve`, run as real subprocesses.

Each test has its own DESKTOP_CHAT_HOME (the autouse `home` fixture), inherited by the
subprocesses through the environment.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from desktop_chat.paths import default_paths
from tests.test_cli import REPO, cli, cli_env


def stored_tokens() -> list[tuple[str, str]]:
    with sqlite3.connect(default_paths().database) as db:
        return db.execute("SELECT name, hash FROM api_token ORDER BY name").fetchall()


def get(url: str, token: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextmanager
def serving(
    *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`desktop-chat serve --port 0 ...`; yields the URL it prints first, then stops it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop_chat", "serve", "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        env=env or cli_env(),
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()  # blocks until the server is listening
        assert url.startswith("http://"), process.communicate(timeout=10)
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_tokens_create_list_revoke(home: Path) -> None:
    created = cli("tokens", "create", "notes-script")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert len(token) == 43 and "\n" not in token  # 32 random bytes, URL-safe base64
    assert "shown only this once" in created.stderr
    assert stored_tokens() == [("notes-script", hashlib.sha256(token.encode()).hexdigest())]
    assert token.encode() not in default_paths().database.read_bytes()

    second = cli("tokens", "create", "other")
    assert second.returncode == 0 and second.stdout.strip() != token

    listed = cli("tokens", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(r[0], r[2]) for r in rows] == [("notes-script", "never used"), ("other", "never used")]
    assert token not in listed.stdout

    duplicate = cli("tokens", "create", "notes-script")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    bad = cli("tokens", "create", "no spaces please")
    assert bad.returncode == 2 and "cannot name a token" in bad.stderr

    revoked = cli("tokens", "revoke", "notes-script")
    assert revoked.returncode == 0, revoked.stderr
    assert "Revoked API token notes-script" in revoked.stdout
    assert [name for name, _ in stored_tokens()] == ["other"]
    missing = cli("tokens", "revoke", "notes-script")
    assert missing.returncode == 3, missing.stderr


def test_tokens_create_with_agents_and_stored_conversations(home: Path) -> None:
    for name in ("Llama", "GPT"):
        added = cli("agents", "add", "--name", name, "--base-url", "http://localhost:9/v1",
                    "--model", name.lower())  # fmt: skip
        assert added.returncode == 0, added.stderr
    limited = cli("tokens", "create", "editor", "--agents", "Llama, GPT,Llama")
    assert limited.returncode == 0, limited.stderr
    kept = cli("tokens", "create", "notes", "--store-conversations")
    assert kept.returncode == 0, kept.stderr
    rows = {
        r[0]: r[3:]
        for r in (line.split("\t") for line in cli("tokens", "list").stdout.splitlines())
    }
    assert rows == {
        "editor": ["Llama,GPT", "not stored"],
        "notes": ["all agents", "stores conversations"],
    }
    unknown = cli("tokens", "create", "other", "--agents", "Llama,Nobody")
    assert unknown.returncode == 2 and "no agent named 'Nobody'" in unknown.stderr
    empty = cli("tokens", "create", "other", "--agents", " , ")
    assert empty.returncode == 2 and "at least one agent" in empty.stderr
    assert [name for name, _ in stored_tokens()] == ["editor", "notes"]


def test_serve_answers_with_a_token_and_stops_on_sigint(home: Path) -> None:
    token = cli("tokens", "create", "curl").stdout.strip()
    with serving() as (url, process):
        assert url.startswith("http://127.0.0.1:")
        assert get(url + "/api/health")[0] == 200
        assert get(url + "/api/conversations")[0] == 401
        status, body = get(url + "/api/conversations", token)
        assert status == 200 and body == {
            "items": [],
            "limit": 50,
            "offset": 0,
            "next_offset": None,
        }
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    listed = cli("tokens", "list").stdout
    assert "never used" not in listed, "last use was not recorded"


def test_serve_imports_no_qt(home: Path, tmp_path: Path) -> None:
    """A PySide6 that cannot be imported: serve must not need it."""
    blocker = tmp_path / "blocker"
    for name in ("PySide6", "qasync"):
        (blocker / name).mkdir(parents=True)
        (blocker / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked')\n")
    env = cli_env()
    env["PYTHONPATH"] = f"{blocker}:{env['PYTHONPATH']}"
    with serving(env=env) as (url, process):
        assert get(url + "/api/health")[0] == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_serve_on_a_reachable_address_needs_allow_remote(home: Path) -> None:
    refused = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 2
    assert "--allow-remote" in refused.stderr
    with serving("--host", "0.0.0.0", "--allow-remote") as (url, process):
        assert get(url + "/api/health")[0] == 200
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        assert process.stderr is not None
        assert "warning" in process.stderr.read()

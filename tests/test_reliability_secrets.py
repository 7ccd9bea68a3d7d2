"""Keys stay secret through the local API and the crash journal; files are owner-only.

Elsewhere: the key never reaches the database file, the logs, exports or error text
(test_secrets.py, test_the_key_never_leaves_the_keyring); the API's token, owner, Host and
CORS checks (test_api_security.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_chat.app import Core
from desktop_chat.engine.events import ReplyDelta
from desktop_chat.logs import setup_logging
from desktop_chat.settings import Settings, save_settings
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog, wait_until
from tests.test_api_support import running_api
from tests.test_cli import FILE_KEYRING, REPO, cli, cli_env, wait_for_journal

SENTINEL = "sk-reliability-SENTINEL-7f3a9c2e51b04d68"


@pytest.fixture
def api_log(tmp_path: Path) -> Iterator[Path]:
    """setup_logging into a file at DEBUG, as `desktop-chat --debug serve` runs."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    log_file = tmp_path / "logs" / "desktop_chat.log"
    setup_logging(log_file, debug=True)
    yield log_file
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


async def _read_raw_until(response, raw: bytearray, done_events: int) -> None:  # type: ignore[no-untyped-def]
    """Append the stream's bytes to `raw` until it holds `done_events` done events."""
    async with asyncio.timeout(20):
        while raw.count(b'"type": "done"') < done_events:
            data = await response.content.readany()
            assert data, f"the stream ended early: {bytes(raw[-300:])!r}"
            raw += data


@pytest.mark.asyncio
async def test_the_key_never_appears_in_api_answers_or_sse_events(
    core: Core, fake: FakeOpenAI, api_log: Path
) -> None:
    core.secrets.set("agent:fake", SENTINEL)
    fake.queue = [
        Scenario(tokens=["Fine."]),
        Scenario(status=401, error_message=f"Incorrect API key provided: {SENTINEL}."),
    ]
    answers: list[bytes] = []
    async with running_api(core, heartbeat=5) as api:
        token = await api.token()
        cid = (await api.conversation(title="Secrets"))["id"]
        headers = {"Authorization": f"Bearer {token}"}
        async with api.session.get(
            f"{api.base}/api/conversations/{cid}/stream", headers=headers
        ) as response:
            raw = bytearray()
            for count, text in enumerate(("Hello", "Again"), start=1):
                sent = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": text})
                assert sent.status == 202, sent.body
                await _read_raw_until(response, raw, done_events=count)
            stream = bytes(raw)
        for method, path, body in [
            ("GET", "/api/agents", None),
            ("GET", "/api/stats", None),
            ("GET", "/openapi.json", None),
            ("GET", "/api/conversations", None),
            ("GET", f"/api/conversations/{cid}", None),
            ("PUT", f"/api/conversations/{cid}/context", None),
            ("POST", "/api/stream-tickets", {"conversation_id": cid}),
        ]:
            if method == "PUT":
                body = {"preset": [], "history": [{"role": "user", "content": "x"}]}
            async with api.session.request(
                method, api.base + path, json=body, headers=headers
            ) as reply:
                assert reply.status < 400, (path, await reply.text())
                answers.append(await reply.read())
    for handler in logging.getLogger().handlers:
        handler.flush()

    assert fake.requests[0]["headers"]["authorization"] == f"Bearer {SENTINEL}", (
        "the sentinel must be the key in use, or this test proves nothing"
    )
    assert b'"kind": "auth"' in stream
    assert b"Fine." in stream
    leaks = [a[:200] for a in [stream, *answers] if SENTINEL.encode() in a]
    assert leaks == []
    assert b'"has_key":true' in answers[0] and b"agent:fake" not in answers[0]
    log_text = api_log.read_text(encoding="utf-8")
    assert "/api/conversations" in log_text and SENTINEL not in log_text


@pytest.mark.asyncio
async def test_the_crash_journal_holds_text_but_never_the_key_mid_stream(
    core: Core, fake: FakeOpenAI
) -> None:
    core.secrets.set("agent:fake", SENTINEL)
    fake.scenario = Scenario(tokens=[f"word{i} " for i in range(100)], delay=0.01)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Talk")
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 5)

    (entry,) = core.paths.journal.glob("*.jsonl")
    (lock,) = core.paths.journal.glob("*.lock")  # the reply's lock across processes: empty
    assert (lock.read_bytes(), stat.S_IMODE(lock.stat().st_mode)) == (b"", 0o600)
    await wait_until(lambda: b"word4 " in entry.read_bytes())  # written a moment later
    raw = entry.read_bytes()
    assert b"word0 " in raw
    assert SENTINEL.encode() not in raw and b"agent:fake" not in raw
    assert fake.requests[0]["headers"]["authorization"] == f"Bearer {SENTINEL}"
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(core.paths.journal.stat().st_mode) == 0o700
    await core.service.stop(conv.id)


# Files are owner-only ----------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(home: Path) -> dict[Path, int]:
    """Every file and folder the app made under its home (the test's keyring file aside)."""
    found = {}
    for path in home.rglob("*"):
        # A journal entry or the -shm file may go away meanwhile.
        with contextlib.suppress(FileNotFoundError):
            if path.name != "test-keyring.json":
                found[path] = _mode(path)
    return found


def test_every_file_a_reply_leaves_is_owner_only_even_with_a_loose_umask(
    home: Path, fake: FakeOpenAI
) -> None:
    env = cli_env(FILE_KEYRING, RELIABILITY_KEY=SENTINEL)
    added = cli(
        "agents", "add", "--name", "F", "--base-url", fake.base_url, "--model", "m",
        "--default", "--key-env", "RELIABILITY_KEY", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    fake.scenario = Scenario(tokens=[f"w{i} " for i in range(40)], delay=0.02)

    process = subprocess.Popen(
        ["sh", "-c", 'umask 022 && exec "$0" "$@"', sys.executable, "-m", "desktop_chat",
         "ask", "Tell me a story"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )  # fmt: skip
    try:
        wait_for_journal(home / "data" / "journal", deltas=3, process=process)
        during = _modes(home)  # mid-stream: the journal entry, the -wal and -shm files exist
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    after = _modes(home)

    names = {path.relative_to(home).as_posix() for path in during}
    assert {
        "data/conversations.sqlite3",
        "data/conversations.sqlite3-wal",
        "data/conversations.sqlite3-shm",
        "logs/desktop_chat.log",
    } <= names
    assert any(name.startswith("data/journal/") for name in names)
    for snapshot in (during, after):
        loose = {
            path.relative_to(home).as_posix(): oct(mode)
            for path, mode in snapshot.items()
            if mode != (0o700 if path.is_dir() else 0o600)
        }
        assert loose == {}
    written = [p for p in home.rglob("*") if p.is_file() and p.name != "test-keyring.json"]
    assert [p for p in written if SENTINEL.encode() in p.read_bytes()] == []


def test_the_log_file_stays_owner_only_after_it_rotates(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers = list(root.handlers)
    previous = os.umask(0o022)
    try:
        log_file = tmp_path / "logs" / "desktop_chat.log"
        setup_logging(log_file)
        assert _mode(log_file) == 0o600
        (rotating,) = [
            h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler)
        ]
        rotating.doRollover()  # what a full log file triggers
        assert _mode(log_file.with_name("desktop_chat.log.1")) == 0o600
        assert _mode(log_file) == 0o600
    finally:
        os.umask(previous)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()


def test_the_settings_file_is_owner_only_with_a_loose_umask(tmp_path: Path) -> None:
    path = tmp_path / "config" / "settings.json"
    previous = os.umask(0o022)
    try:
        save_settings(path, Settings(http_proxy="http://user:secret@proxy.example:3128"))
        assert _mode(path) == 0o600
        path.chmod(0o644)  # an older release wrote it with the umask
        save_settings(path, Settings())
        assert _mode(path) == 0o600
    finally:
        os.umask(previous)

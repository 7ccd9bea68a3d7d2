"""Helpers for the reliability tests (no tests here): a scripted SSE server, a core with a
short busy timeout, another process holding the database lock, a small disk, a done-waiter.

Everything waits on events, pipes or conditions with a deadline; nothing sleeps to wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from desktop_chat.app import Core
from desktop_chat.engine import ConversationService, CrashJournal, EngineConfig
from desktop_chat.engine.backups import BackupSchedule
from desktop_chat.engine.events import EngineEvent, ReplyDone
from desktop_chat.paths import AppPaths
from desktop_chat.secrets import SecretStore
from desktop_chat.settings import Settings
from desktop_chat.store import Store

# Scripted SSE streams ----------------------------------------------------------------------


def sse_chunk(delta: dict[str, Any] | None = None, finish: Any = None, **extra: Any) -> str:
    """One chat.completion.chunk event as OpenAI sends it."""
    chunk: dict[str, Any] = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    chunk.update(extra)
    return "data: " + json.dumps(chunk) + "\n\n"


@asynccontextmanager
async def scripted_sse_server(
    scripts: dict[str, Sequence[str | bytes]],
) -> AsyncIterator[str]:
    """A server whose `/{name}/v1/chat/completions` streams `scripts[name]` byte for byte.

    Yields the root URL; an agent's base URL is ``f"{root}/{name}/v1"``. It runs on the
    test's own loop, so it can send what no well-behaved server would.
    """

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for part in scripts[request.match_info["name"]]:
            await response.write(part if isinstance(part, bytes) else part.encode())
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/{name}/v1/chat/completions", chat)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# Waiting for replies -----------------------------------------------------------------------


class Replies:
    """Each conversation's `done` events in a queue of its own: cheap with many waiters."""

    def __init__(self, service: ConversationService) -> None:
        self._queues: dict[str, asyncio.Queue[ReplyDone]] = defaultdict(asyncio.Queue)
        self.events: list[EngineEvent] = []
        self.unsubscribe = service.bus.subscribe(self._on_event)

    def _on_event(self, event: EngineEvent) -> None:
        self.events.append(event)
        if isinstance(event, ReplyDone):
            self._queues[event.conversation_id].put_nowait(event)

    async def done(self, conversation_id: str, timeout: float = 30.0) -> ReplyDone:
        async with asyncio.timeout(timeout):
            return await self._queues[conversation_id].get()

    def of(self, kind: type[EngineEvent], conversation_id: str | None = None) -> list[EngineEvent]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and conversation_id in (None, e.conversation_id)
        ]


# A core with chosen settings -------------------------------------------------------------


async def open_core(
    paths: AppPaths, secrets: SecretStore, *, busy_timeout_ms: int = 5000, **config: Any
) -> Core:
    """What Core.open does, with a busy timeout and engine settings of the test's choosing."""
    paths.ensure()
    store = await Store.open(paths.database, busy_timeout_ms=busy_timeout_ms)
    engine = EngineConfig(**{"auto_title": False, **config})
    service = ConversationService(store, secrets, CrashJournal(paths.journal), engine)
    try:
        await service.recover()
    except BaseException:
        await store.close()
        raise
    settings = Settings()
    backups = BackupSchedule(paths.database, settings.backup_every_hours, settings.backups_kept)
    return Core(paths, settings, store, secrets, service, backups)


# Another program holding the database ------------------------------------------------------

_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
print("ready", flush=True)
sys.stdin.readline()
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
connection.close()
print("released", flush=True)
"""


class LockHolder:
    """A separate process that takes `BEGIN EXCLUSIVE` on a database when told to.

    The process is started (and its interpreter loaded) up front, so that `lock()` costs
    a round trip through a pipe, not the start of a Python: a test can take the lock in
    the middle of a reply without racing the reply's end.
    """

    def __init__(self, database: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(database)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._expect("ready")

    def _expect(self, word: str) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the holder has done it
        if line.strip() != word:
            self.kill()
            raise AssertionError(f"the lock holder did not say {word!r}: {line!r}")

    def _tell(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def lock(self) -> None:
        self._tell()
        self._expect("locked")

    def release(self) -> None:
        if self.process.poll() is not None:
            return
        self._tell()
        self._expect("released")
        self.process.wait(timeout=10)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=10)


@contextmanager
def database_locked_by_another_process(database: Path) -> Iterator[LockHolder]:
    """A holder that has the lock on entry; it is let go (or killed) on exit."""
    holder = LockHolder(database)
    try:
        holder.lock()
        yield holder
    finally:
        holder.kill()


@contextmanager
def lock_holder(database: Path) -> Iterator[LockHolder]:
    """A holder ready to take the lock on `lock()`; killed on exit."""
    holder = LockHolder(database)
    try:
        yield holder
    finally:
        holder.kill()


# A small disk ------------------------------------------------------------------------------


@dataclass
class SmallDisk:
    """A size-limited tmpfs mounted at `path` (needs root), or None where mounting fails."""

    path: Path

    @classmethod
    def mount(cls, path: Path, size: str = "4m") -> SmallDisk | None:
        path.mkdir(parents=True, exist_ok=True)
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            return None
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
            capture_output=True,
            text=True,
        )
        return cls(path) if result.returncode == 0 else None

    def fill(self, name: str = "filler") -> Path:
        """Write a file until the disk refuses one more byte."""
        filler = self.path / name
        fd = os.open(filler, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        size = 1 << 20
        try:
            while size:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    size //= 2
        finally:
            os.close(fd)
        return filler

    def remount(self, *options: str) -> None:
        subprocess.run(["mount", "-o", ",".join(["remount", *options]), str(self.path)], check=True)

    def unmount(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(["umount", "-l", str(self.path)], check=True, capture_output=True)


# Reading an SSE stream without a line-length limit ---------------------------------------


async def sse_events_until(
    response: Any, type_: str, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The `data:` payloads of a text/event-stream response up to the first event of `type_`.

    Unlike a line reader it accepts events of any size (a 1 MB delta is one line).
    """
    events: list[dict[str, Any]] = []
    buffer = b""
    async with asyncio.timeout(timeout):
        async for data in response.content.iter_any():
            buffer += data
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                lines = block.decode("utf-8").split("\n")
                payload = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
                if not payload:
                    continue
                event = json.loads("\n".join(payload))
                ids = [line[len("id: ") :] for line in lines if line.startswith("id: ")]
                event["id"] = int(ids[0]) if ids else None
                events.append(event)
                if event["type"] == type_:
                    return events
    seen = [e["type"] for e in events]
    raise AssertionError(f"the stream ended before a {type_} event, after {seen}")


# A data folder on a tiny disk of its own, without root ----------------------------------

_ON_A_SMALL_DISK = r"""
import errno, json, os, shutil, subprocess, sys
home, size, seed, mode, where = sys.argv[1:6]
commands = json.loads(sys.argv[6])
disk = os.path.join(home, where)
def mount():
    os.makedirs(disk, exist_ok=True)
    options = f"size={size},mode=0700"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", disk], check=True)
if where:  # only a folder inside the home is on the small disk
    shutil.copytree(seed, home, dirs_exist_ok=True)
    mount()
else:
    mount()
    shutil.copytree(seed, home, dirs_exist_ok=True)
database = os.path.join(home, "data", "conversations.sqlite3")
def read(path):
    with open(path, "rb") as file:
        return file.read()
before = read(database)
if mode == "full":
    fd = os.open(os.path.join(disk, "filler"), os.O_CREAT | os.O_WRONLY, 0o600)
    chunk = 1 << 20
    while chunk:
        try:
            os.write(fd, b"\0" * chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            chunk //= 2
    os.close(fd)
elif mode == "read-only":
    subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
results = []
for args in commands:
    done = subprocess.run(
        [sys.executable, "-m", "desktop_chat", *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    results.append([done.returncode, done.stdout, done.stderr])
files = sorted(name for name in os.listdir(disk) if name != "filler")
print(json.dumps({"results": results, "unchanged": read(database) == before, "files": files}))
"""


def user_namespaces_work() -> bool:
    """Whether this machine lets an unprivileged process mount a tmpfs of its own."""
    try:
        probe = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@dataclass
class SmallDiskRun:
    results: list[tuple[int, str, str]]  # (exit code, stdout, stderr) of each command
    unchanged: bool  # the database file is byte for byte what it was
    files: list[str]  # what the small disk holds afterwards (but the filler)


def on_a_small_disk(
    seed: Path,
    mounted: Path,
    mode: str,
    commands: list[list[str]],
    env: dict[str, str],
    where: str = "",
) -> SmallDiskRun:
    """Copy the home folder `seed` to `mounted`, with a 2 MB tmpfs at `mounted / where`
    (the whole home by default), make that disk `mode` ("full", "read-only"), and run
    each `desktop-chat` command there.

    The tmpfs lives in a private mount namespace (`unshare --user --mount`): no root is
    needed, and nothing outside this process tree sees it.
    """
    mounted.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-c",
         _ON_A_SMALL_DISK, str(mounted), "2m", str(seed), mode, where, json.dumps(commands)],
        capture_output=True,
        text=True,
        env={**env, "DESKTOP_CHAT_HOME": str(mounted)},
        cwd=env.get("PYTHONPATH", "").split(os.pathsep)[0] or None,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    results = [(int(code), out, err) for code, out, err in report["results"]]
    return SmallDiskRun(results, report["unchanged"], report["files"])

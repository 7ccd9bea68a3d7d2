"""A crash journal of replies in flight, so that `kill -9` mid-stream loses (almost) nothing.

Nothing is written to the message table while a reply streams; instead its deltas are
appended to a small per-conversation file, gathered into one line every FLUSH_DELAY so
that a fast stream costs a few writes a second rather than one per token (at 2,000 tokens
a second those writes stalled the window). A kill loses at most that much of the reply.
When the reply ends it is stored and the file removed; a file that is still there at
start-up belongs to a process that died, and becomes an interrupted reply.
Keys never pass through here: only message text.

Several processes may share one data folder (the window, `desktop-chat ask`, `serve`).
Each holds an advisory lock (flock) on the files of its replies in flight, released by
the system when the process ends, however it ends; recovery takes only unlocked files, so
a second instance never mistakes a live reply of the first for an orphan. Windows has no
flock: there a second instance started mid-reply may still do so.

A file is never written over: when a conversation already has one (a reply whose final
write failed, kept for the next start, or a reply of another instance), the new reply
gets a file of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from desktop_chat.schemas import MAX_MESSAGE_CHARS

log = logging.getLogger(__name__)

ADVISORY_LOCKS = fcntl is not None

FLUSH_DELAY = 0.05  # seconds of deltas gathered into one write

# Conversation ids are uuid hex; an imported one can be any short string, "../x" included.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def try_lock(fd: int) -> bool:
    """Take the file's advisory lock without waiting; False when another holder has it.

    Locks belong to the open file, so a second open in this process is refused too.
    """
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _remove(path: Path, handle: IO[Any]) -> None:
    """Remove a file while still holding its lock, so no one can claim it in between."""
    if fcntl is None:  # Windows removes no open file; it has no lock to keep either
        handle.close()
        path.unlink(missing_ok=True)
        return
    try:
        path.unlink(missing_ok=True)
    finally:
        handle.close()


def file_stem(conversation_id: str) -> str:
    """The file name of a conversation's journal: its id, or a digest of an unusual id.

    A digest keeps an id such as "../../x" (possible through import) from naming a file
    outside the journal folder; the id itself is in the file's header line.
    """
    if _PLAIN_ID.fullmatch(conversation_id):
        return conversation_id
    return "id-" + hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:40]


@dataclass
class Orphan:
    conversation_id: str
    model: str
    agent_id: str | None
    text: str
    reasoning: str
    parent_id: int | None = None  # the message it answers (None: recorded before versions)
    started: int = 0  # when the reply began, in ns since the epoch (0: not recorded)
    ending: dict[str, object] | None = None  # how it ended, when it ended but was not stored
    tool_call_id: str | None = None  # a tool call that was running, not a reply's text


class JournalEntry:
    def __init__(self, path: Path, header: dict[str, object]) -> None:
        self.path = path
        # O_EXCL: an existing file is someone's reply; the caller picks another name.
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try_lock(fd)  # a new file: nobody else holds it
        self._file: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        self._failed = False
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._write(header)

    def _write(self, record: dict[str, object]) -> None:
        if self._file is None or self._failed:
            return
        try:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError:
            # The disk is full, say. Stop writing but keep the file open and locked, so
            # that no other instance takes this live reply for an orphan.
            log.exception("Crash journal write failed; the reply goes on without it")
            self._failed = True

    def append(self, text: str, reasoning: str) -> None:
        """Gather a delta; it reaches the file with the next flush, at most FLUSH_DELAY on."""
        if text:
            self._text.append(text)
        if reasoning:
            self._reasoning.append(reasoning)
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)

    def _stop_timer(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    def flush(self) -> None:
        self._stop_timer()
        record: dict[str, object] = {}
        if self._text:
            record["t"] = "".join(self._text)
            self._text.clear()
        if self._reasoning:
            record["r"] = "".join(self._reasoning)
            self._reasoning.clear()
        if record:
            self._write(record)

    def close(self, ending: dict[str, object]) -> None:
        """Keep the file for recovery (the reply could not be stored) and let go of it.

        `ending` (status, error, finish_reason) lets the next start store the reply as it
        really ended rather than as interrupted.
        """
        self.flush()
        self._write({"end": ending})
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError:
                log.exception("Crash journal %s could not be closed cleanly", self.path)

    def discard(self) -> None:
        """The reply is stored: remove the file, while still holding it, then let go."""
        self._stop_timer()
        file, self._file = self._file, None
        if file is None:
            self.path.unlink(missing_ok=True)
            return
        try:
            _remove(self.path, file)
        except OSError:
            log.exception("Crash journal %s could not be removed", self.path)


class CrashJournal:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, conversation_id: str) -> Path:
        return self.folder / f"{file_stem(conversation_id)}.jsonl"

    def open(
        self,
        conversation_id: str,
        model: str,
        agent_id: str | None,
        parent_id: int | None = None,
        tool_call_id: str | None = None,
    ) -> JournalEntry:
        """A file for a reply's text, or (`tool_call_id`) for a tool call while it runs."""
        started = time.time_ns()
        header: dict[str, object] = {
            "conversation_id": conversation_id,
            "model": model,
            "agent_id": agent_id,
            "parent_id": parent_id,
            "started": started,
        }
        if tool_call_id is not None:
            header["tool_call_id"] = tool_call_id
        path = self._path(conversation_id)
        for attempt in range(1, 1000):
            try:
                return JournalEntry(path, header)
            except FileExistsError:
                stem = file_stem(conversation_id)
                path = self.folder / f"{stem}.{started}-{attempt}.jsonl"
        raise FileExistsError(f"no free crash journal name for {conversation_id}")

    def orphans(self) -> list[Orphan]:
        """Replies left by processes that ended mid-stream (or could not store them)."""
        found: list[tuple[Orphan, Path]] = []
        for path in sorted(self.folder.glob("*.jsonl")):
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                continue  # stored and removed meanwhile
            except OSError:
                log.exception("Cannot open crash journal %s; left for the next start", path)
                continue
            if not try_lock(handle.fileno()) or os.fstat(handle.fileno()).st_nlink == 0:
                handle.close()  # a reply another instance is writing, or one just stored
                continue
            try:
                with handle:
                    orphan = _parse(handle.read())
            except (OSError, ValueError, KeyError, IndexError, TypeError):
                log.exception("Unreadable crash journal %s; kept aside", path)
                try:
                    path.rename(path.with_suffix(".unreadable"))
                except OSError:
                    log.exception("Cannot set crash journal %s aside", path)
                continue
            if len(orphan.text) > MAX_MESSAGE_CHARS:
                # More than a message can hold (a journal of an older release, which did not
                # cut long replies): recover what fits, and keep the whole text aside.
                try:
                    shutil.copyfile(path, path.with_suffix(".too-long"))
                except OSError:
                    log.exception("Cannot keep the long crash journal %s aside", path)
                    continue
                log.warning("Crash journal %s is too long for one message; kept aside", path)
                orphan.text = orphan.text[:MAX_MESSAGE_CHARS]
            found.append((orphan, path))
        found.sort(key=lambda item: (item[0].started, str(item[1])))
        return [orphan for orphan, _ in found]

    def forget(self, conversation_id: str) -> None:
        """Remove the conversation's files, but not those of replies still being written."""
        stem = file_stem(conversation_id)
        for path in [self._path(conversation_id), *self.folder.glob(f"{stem}.*.jsonl")]:
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                continue
            except OSError:
                log.exception("Cannot open crash journal %s to remove it", path)
                continue
            if not try_lock(handle.fileno()):
                handle.close()  # in flight, here or in another instance
                continue
            try:
                _remove(path, handle)
            except OSError:
                log.exception("Cannot remove crash journal %s", path)


def _parse(raw: bytes) -> Orphan:
    """An orphan from a file's bytes; ValueError (or KeyError...) when it is not a journal."""
    lines = raw.split(b"\n")
    header = json.loads(lines[0].decode("utf-8"))
    conversation_id = header["conversation_id"]
    if not isinstance(conversation_id, str) or not conversation_id:
        raise ValueError("the header names no conversation")
    text, reasoning = [], []
    ending = None
    for line in lines[1:]:
        try:
            record = json.loads(line.decode("utf-8"))
        except ValueError:
            break  # the last line may be half-written when the process died
        if not isinstance(record, dict):
            break
        text.append(_text(record.get("t")))
        reasoning.append(_text(record.get("r")))
        if isinstance(record.get("end"), dict):
            ending = record["end"]
    model, agent_id, started = (header.get(k) for k in ("model", "agent_id", "started"))
    parent_id = header.get("parent_id")
    call_id = header.get("tool_call_id")
    return Orphan(
        conversation_id=conversation_id,
        model=_text(model),
        agent_id=agent_id if isinstance(agent_id, str) else None,
        text="".join(text),
        reasoning="".join(reasoning),
        parent_id=parent_id if isinstance(parent_id, int) else None,
        started=started if isinstance(started, int) else 0,
        ending=ending,
        tool_call_id=call_id if isinstance(call_id, str) else None,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""

"""A crash journal of replies in flight, so that `kill -9` mid-stream loses nothing.

Nothing is written to the message table while a reply streams; instead each delta is
appended to a small per-conversation file (a line-buffered write, cheap enough for the
streaming path). When the reply ends it is stored and the file removed; a file that is
still there at start-up belongs to a process that died, and becomes an interrupted reply.
Keys never pass through here: only message text.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


@dataclass
class Orphan:
    conversation_id: str
    model: str
    agent_id: str | None
    text: str
    reasoning: str


class JournalEntry:
    def __init__(self, path: Path, header: dict[str, object]) -> None:
        self.path = path
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        self._file: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        self._write(header)

    def _write(self, record: dict[str, object]) -> None:
        if self._file is None:
            return
        try:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError:
            log.exception("Crash journal write failed; the reply goes on without it")
            self.close()

    def append(self, text: str, reasoning: str) -> None:
        record: dict[str, object] = {}
        if text:
            record["t"] = text
        if reasoning:
            record["r"] = reasoning
        self._write(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


class CrashJournal:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, conversation_id: str) -> Path:
        return self.folder / f"{conversation_id}.jsonl"

    def open(self, conversation_id: str, model: str, agent_id: str | None) -> JournalEntry:
        header = {"conversation_id": conversation_id, "model": model, "agent_id": agent_id}
        return JournalEntry(self._path(conversation_id), header)

    def orphans(self) -> list[Orphan]:
        found = []
        for path in sorted(self.folder.glob("*.jsonl")):
            try:
                found.append(_read(path))
            except (OSError, ValueError, KeyError):
                log.exception("Unreadable crash journal %s; kept aside", path)
                path.rename(path.with_suffix(".unreadable"))
        return found

    def forget(self, conversation_id: str) -> None:
        self._path(conversation_id).unlink(missing_ok=True)


def _read(path: Path) -> Orphan:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    text, reasoning = [], []
    for line in lines[1:]:
        try:
            record = json.loads(line)
        except ValueError:
            break  # the last line may be half-written when the process died
        text.append(record.get("t", ""))
        reasoning.append(record.get("r", ""))
    return Orphan(
        conversation_id=header["conversation_id"],
        model=header.get("model", ""),
        agent_id=header.get("agent_id"),
        text="".join(text),
        reasoning="".join(reasoning),
    )

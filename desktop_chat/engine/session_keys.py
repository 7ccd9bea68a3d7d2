"""Which agents' keys were kept for one session only: their names, never the keys.

A key kept in memory (no keyring works) is gone after a restart. Without a note of it,
the next request goes out with no key and the server answers "rejected the API key",
while Settings says no key is saved: two true statements that leave the user guessing.
With the key_ref noted in the data folder, the engine can say what happened instead.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class SessionKeyNotes:
    """A small set of key_ref names in a JSON file (in memory only without a path)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._refs: set[str] = set()
        self._this_session: set[str] = set()
        if path is not None:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self._refs = {ref for ref in loaded if isinstance(ref, str)}
            except FileNotFoundError:
                pass
            except (OSError, ValueError, TypeError):
                log.warning("Cannot read %s; starting without it", path)

    def kept_for_session(self, key_ref: str) -> None:
        self._this_session.add(key_ref)
        if key_ref not in self._refs:
            self._refs.add(key_ref)
            self._save()

    def kept_for_good(self, key_ref: str) -> None:
        """Stored in the keyring, or let go of: nothing to explain any more."""
        self._this_session.discard(key_ref)
        if key_ref in self._refs:
            self._refs.discard(key_ref)
            self._save()

    def lapsed(self, key_ref: str | None) -> bool:
        """Whether `key_ref`'s key was kept for an earlier session only (so is gone now)."""
        return bool(key_ref) and key_ref in self._refs and key_ref not in self._this_session

    def _save(self) -> None:
        if self._path is None:
            return
        try:
            tmp = self._path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(sorted(self._refs), file)
            os.replace(tmp, self._path)
        except OSError:
            log.warning("Cannot write %s; a lapsed session key will not be explained", self._path)

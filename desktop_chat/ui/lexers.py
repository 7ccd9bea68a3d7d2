"""Pygments lexers, compiled once each, off the GUI thread when the window asks.

The first lexer of a kind compiles its rules: pure Python that cannot be split (CSS about
30 ms, Python about 20 ms). Done on the GUI thread while a conversation opens or a reply
streams, that is a stall; so the window renders a code block whose lexer is not compiled
yet as plain code, a worker thread compiles it, and `compiled()` tells the window (its
signal is delivered on the GUI thread) to render the block again, now in colours.

While the window builds what it opens on, the worker waits (`hold`, `release`): compiling
then would take the interpreter from the GUI thread, and the code is shown plain either
way until its lexer is ready.
"""

from __future__ import annotations

import importlib
import queue
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from pygments.lexer import Lexer

_lexers: dict[str, Lexer | None] = {}  # by lower-case name; None: a name Pygments lacks


def lexer(language: str) -> Lexer | None:
    """The lexer for `language` (lower case), compiled now if it is not yet.

    None for a name Pygments does not know; its block is shown as plain code.
    """
    try:
        return _lexers[language]
    except KeyError:
        pass
    load_pygments()
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        found: Lexer | None = get_lexer_by_name(language)
    except ClassNotFound:
        found = None
    _lexers[language] = found  # a dict store is atomic: the worker may race us, harmlessly
    return found


def is_compiled(language: str) -> bool:
    return language in _lexers


class _Notifier(QObject):
    """Emitted from the worker; Qt queues the signal to the GUI thread's receivers."""

    compiled = Signal()


_notifier: _Notifier | None = None
_wanted: queue.SimpleQueue[str] = queue.SimpleQueue()
_worker: threading.Thread | None = None
_lock = threading.Lock()
_released = threading.Event()  # cleared while the worker must wait
_released.set()
_importing = threading.Lock()


def load_pygments() -> None:
    """Import the parts of Pygments the view uses, one thread at a time.

    They load with the first lexer, not at start-up; the GUI thread, this module's worker
    and the Markdown warm-up may all ask at once, and Pygments' formatters package makes
    its names on first access in a way two threads cannot share: one of them failed with
    an ImportError. After the first call these imports are look-ups.
    """
    with _importing:
        for module in ("pygments.formatters.html", "pygments.lexers", "pygments.util"):
            importlib.import_module(module)


def compiled() -> Signal:
    """The signal emitted once lexers asked for with `compile_soon` are ready."""
    global _notifier
    with _lock:
        if _notifier is None:
            _notifier = _Notifier()
    return _notifier.compiled


def compile_soon(languages: set[str]) -> None:
    """Compile `languages` on the worker thread; `compiled()` is emitted when done."""
    global _worker
    compiled()  # the notifier is made here, on the GUI thread, where its receivers live
    for language in languages:
        _wanted.put(language)
    with _lock:
        if _worker is None:
            _worker = threading.Thread(target=_work, name="lexer-compile", daemon=True)
            _worker.start()


def hold() -> None:
    """Keep the worker from compiling until `release()`; what is asked meanwhile waits."""
    _released.clear()


def release() -> None:
    _released.set()


def _work() -> None:
    while True:
        language = _wanted.get()
        _released.wait()
        lexer(language)
        if _wanted.empty() and _notifier is not None:
            _notifier.compiled.emit()

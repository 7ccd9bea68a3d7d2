"""A faster answer to the question PySide6 asks after every import.

Once PySide6 is loaded, it checks each newly imported module for the word "PySide6" in its
source (its `__feature__` switches apply only to modules that use it). It reads the source
through `inspect.getsource`, which first looks the module up among all the loaded ones:
a cost that grows with every import, about 45 ms of the window's start (430 imports
before the content shows) and more in the thread that loads the SDK. The same question
is answered here by reading the module's file, with the same answer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType


def install() -> None:
    """Replace PySide6's check with `_reads_the_file`; call once PySide6 is imported."""
    feature = sys.modules.get("shibokensupport.feature")
    original: Callable[[ModuleType], bool] | None = getattr(feature, "_mod_uses_pyside", None)
    if original is None or getattr(original, "reads_the_file", False):
        return  # another PySide6 version, without this check, or installed already

    def _reads_the_file(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return original(module)  # built in, compiled, or from an archive: as before
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            return original(module)

    _reads_the_file.reads_the_file = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = _reads_the_file  # type: ignore[union-attr]

"""PySide6's check of every new import reads the module's file, not every loaded module."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from types import ModuleType

import pytest

import desktop_chat.ui  # noqa: F401  (installs the check)


def test_new_modules_are_told_apart_by_their_source_without_inspect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feature = sys.modules["shibokensupport.feature"]
    (tmp_path / "window_like.py").write_text("from PySide6 import QtCore\n", encoding="utf-8")
    (tmp_path / "engine_like.py").write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    looked_up: list[object] = []
    getsource = inspect.getsource

    def counted(module: ModuleType) -> str:
        looked_up.append(module)
        return getsource(module)

    monkeypatch.setattr(inspect, "getsource", counted)
    # As an `import` statement does: PySide6 watches `__import__`, not importlib.
    window_like = __import__("window_like")
    engine_like = __import__("engine_like")
    answers = feature._mod_uses_pyside(window_like), feature._mod_uses_pyside(engine_like)
    monkeypatch.setattr(inspect, "getsource", getsource)

    assert looked_up == []  # inspect.getsource looks the module up among every loaded one
    assert answers == (True, False)
    # What PySide6 recorded at import: 0 = uses PySide6, -1 = leave it alone.
    assert feature.pyside_feature_dict["window_like"] == 0
    assert feature.pyside_feature_dict["engine_like"] == -1
    for name in ("window_like", "engine_like"):
        monkeypatch.delitem(sys.modules, name)


def test_modules_without_a_source_file_are_asked_as_pyside6_asks() -> None:
    feature = sys.modules["shibokensupport.feature"]
    assert feature._mod_uses_pyside(sys) is False  # built in

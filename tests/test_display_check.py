"""Without a display, or a library Qt's X11 plugin needs, one sentence says what is
missing instead of Qt's abort with its misleading "xcb-cursor0 is needed" (#17)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_chat.ui.display import display_problem, missing_library


def test_no_display_says_so_in_one_sentence(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["DESKTOP_CHAT_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "desktop_chat"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 4, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0]
    assert "xcb-cursor" not in done.stderr


def test_a_display_or_another_platform_is_fine():
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"QT_QPA_PLATFORM": "xcb"}) is not None  # and no DISPLAY


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to build a plugin")
def test_a_missing_x11_library_is_named_with_the_packages_to_install(tmp_path: Path):
    """A plugin linked against a library that is then taken away, as on a minimal Linux."""
    source = tmp_path / "empty.c"
    source.write_text("int nothing(void) { return 0; }\n")
    name = "libxcb-gone-for-this-test.so.4"
    stub = tmp_path / name
    subprocess.run(
        ["cc", "-shared", "-fPIC", f"-Wl,-soname,{name}", "-o", stub, source], check=True
    )
    plugin = tmp_path / "libqxcb.so"
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-Wl,--no-as-needed", "-o", plugin, source, stub],
        check=True,
    )
    stub.unlink()

    sentence = missing_library(plugin)
    assert sentence is not None
    assert name in sentence and "apt-get install libxcb-cursor0 libxcb-icccm4" in sentence
    assert display_problem({"DISPLAY": ":0"}, plugin) == sentence
    assert "\n" not in sentence

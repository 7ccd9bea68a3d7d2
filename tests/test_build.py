"""The bundle: build.spec builds a working app, and the Linux desktop files are sound.

The build itself takes half a minute and needs PyInstaller, so it is marked slow (run it
with `pytest -m slow tests/test_build.py`); the desktop-file checks are quick and always run.
"""

from __future__ import annotations

import configparser
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_chat import __version__

REPO = Path(__file__).resolve().parents[1]
DESKTOP = REPO / "resources" / "desktop"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header, so this check needs no image library."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


# Desktop integration ----------------------------------------------------------------------


def test_the_desktop_entry_names_the_command_and_the_icon() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys are case-sensitive
    parser.read(DESKTOP / "desktop_chat.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]

    assert entry["Type"] == "Application"
    assert entry["Name"] == "Desktop Chat"
    assert entry["Exec"].split()[0] == "desktop-chat"
    assert entry["Icon"] == "desktop_chat"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")
    # Qt sets the X11 class to the application name; a menu matches windows by it.
    assert entry["StartupWMClass"] == "desktop_chat"


def test_every_icon_size_is_rendered_at_its_size() -> None:
    for size in ICON_SIZES:
        path = DESKTOP / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "desktop_chat.png"
        assert path.is_file(), f"{path} is missing: run resources/desktop/render_icons.py"
        assert png_size(path) == (size, size)
    scalable = DESKTOP / "icons" / "hicolor" / "scalable" / "apps" / "desktop_chat.svg"
    source = REPO / "resources" / "icons" / "desktop_chat.svg"
    assert scalable.read_bytes() == source.read_bytes(), (
        "the desktop icons are older than resources/icons/desktop_chat.svg: "
        "run resources/desktop/render_icons.py"
    )
    assert (DESKTOP / "desktop_chat.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"


# The bundle ----------------------------------------------------------------------------------


def bundle_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(
        DESKTOP_CHAT_HOME=str(home),
        QT_QPA_PLATFORM="offscreen",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",  # never the machine's keyring
    )
    return env


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_bundle_builds_and_runs(tmp_path: Path, home: Path) -> None:
    pytest.importorskip(
        "PyInstaller", reason="PyInstaller is not installed (pip install pyinstaller)"
    )
    dist, work = tmp_path / "dist", tmp_path / "work"
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", str(REPO / "build.spec"), "--noconfirm",
         "--distpath", str(dist), "--workpath", str(work), "--log-level", "WARN"],
        capture_output=True, text=True, cwd=tmp_path, timeout=840,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-4000:]
    name = "desktop-chat.exe" if sys.platform == "win32" else "desktop-chat"
    exe = dist / "desktop-chat" / name
    assert exe.is_file()
    resources = dist / "desktop-chat" / "_internal" / "resources"
    for relative in (
        "icons/desktop_chat.svg",
        "translations/desktop_chat_zh_CN.qm",
        "web/index.html",
        "desktop/desktop_chat.desktop",
    ):
        assert (resources / relative).is_file(), f"{relative} is not in the bundle"
    assert not list(resources.rglob("*.ts")), "translation sources were bundled"
    env = bundle_env(home)

    version = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"desktop_chat {__version__}"

    checked = subprocess.run(
        [str(exe), "--self-test"], capture_output=True, text=True, env=env, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "self-test (bundle," in checked.stdout
    assert checked.stdout.rstrip().endswith("self-test passed")

    window = subprocess.Popen(
        [str(exe)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and window.poll() is None:
            time.sleep(0.1)  # the window must simply stay up for a while
        assert window.poll() is None, f"the window exited: {window.communicate()}"
    finally:
        if window.poll() is None:
            window.send_signal(signal.SIGTERM)
        _, stderr = window.communicate(timeout=30)
    assert "Traceback" not in stderr, stderr

"""Can a window open here? Asked before Qt starts, which aborts with a misleading hint.

Without a display, or with a library of Qt's X11 plugin missing, Qt prints "xcb-cursor0
is needed" (whatever is missing) and aborts the process. We check first and say in one
sentence what is missing and how to get it. Qt is not imported here: a failed check
must not load it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

# The X11 plugin's libraries a minimal Linux lacks most often, by Debian/Ubuntu package.
XCB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
ALL_PACKAGES = "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0"
_MISSING = re.compile(r"([\w.+-]+\.so[\w.]*): cannot open shared object file")


def xcb_plugin() -> Path:
    import PySide6  # the package alone: no Qt library is loaded by it

    return Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def display_problem(env: Mapping[str, str] | None = None, plugin: Path | None = None) -> str | None:
    """One sentence saying why no window can open here, or None when one can."""
    if not sys.platform.startswith("linux"):
        return None
    env = os.environ if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None  # offscreen, wayland, vnc…: Qt says itself what it lacks
    if not platform and env.get("WAYLAND_DISPLAY"):
        return None
    if not env.get("DISPLAY"):
        return (
            "desktop-chat cannot open its window: there is no display (neither DISPLAY "
            "nor WAYLAND_DISPLAY is set). Start it inside a desktop session, or use the "
            "command line (desktop-chat --help)."
        )
    return missing_library(plugin or xcb_plugin())


def missing_library(plugin: Path) -> str | None:
    """Load the X11 plugin as Qt would; name the library it cannot find, if any."""
    if not plugin.exists():
        return None  # a build without it (a bundle lays it out elsewhere): let Qt decide
    import ctypes  # only where Qt would load the plugin: an offscreen start needs none

    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = _MISSING.search(str(exc))
        library = found.group(1) if found else str(exc)
        package = XCB_PACKAGES.get(library)
        install = f"apt-get install {package}" if package else f"apt-get install {ALL_PACKAGES}"
        return (
            f"desktop-chat cannot open its window: the system library {library} that Qt "
            f"needs for X11 is missing (on Debian or Ubuntu: {install})."
        )
    return None

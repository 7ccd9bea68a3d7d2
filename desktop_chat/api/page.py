"""The small web page at `/`: plain files from resources/web, served as they are.

No build step and no templates: the page is static and asks for its token itself. The
folder is found the way the window finds its resources, without importing the window.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def web_dir() -> Path:
    """resources/web in a frozen bundle, an installed package or a source tree."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources" / "web"
    here = Path(__file__).resolve().parent
    packaged = here.parent / "resources" / "web"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "resources" / "web"


async def index(request: web.Request) -> web.StreamResponse:
    page = web_dir() / "index.html"
    if not page.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(page, headers={"Cache-Control": "no-cache"})


async def asset(request: web.Request) -> web.StreamResponse:
    """A file of the page; only plain names inside the folder, never a path out of it."""
    name = request.match_info["filename"]
    if "/" in name or "\\" in name or name.startswith("."):
        raise web.HTTPNotFound()
    root = web_dir().resolve()
    try:
        path = (root / name).resolve()
        found = path.parent == root and path.is_file()
    except (ValueError, OSError):  # a NUL in the name, a name too long for the system
        found = False
    if not found:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

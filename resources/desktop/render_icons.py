"""Render the app icon (resources/icons/desktop_chat.svg) into the files desktops want.

Linux menus look icons up by name in the hicolor theme, at fixed pixel sizes; Windows
wants one .ico holding several sizes. Qt's own SVG renderer draws them, so they match what
the window shows. Run it again after changing the SVG:

    QT_QPA_PLATFORM=offscreen python resources/desktop/render_icons.py

The .ico needs ImageMagick's `convert`; without it only the PNGs are refreshed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "icons" / "desktop_chat.svg"
NAME = "desktop_chat"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # 256 is the largest an .ico entry may be


def png_path(size: int) -> Path:
    return HERE / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # read when the application starts
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        print(f"cannot read {SOURCE}", file=sys.stderr)
        return 1
    for size in SIZES:
        path = png_path(size)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not render(renderer, size).save(str(path), "PNG"):
            print(f"cannot write {path}", file=sys.stderr)
            return 1
    scalable = HERE / "icons" / "hicolor" / "scalable" / "apps" / f"{NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, scalable)
    convert = shutil.which("convert") or shutil.which("magick")
    if convert:
        sources = [str(png_path(size)) for size in ICO_SIZES]
        subprocess.run([convert, *sources, str(HERE / f"{NAME}.ico")], check=True)
    else:
        print("ImageMagick not found: the .ico was not refreshed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

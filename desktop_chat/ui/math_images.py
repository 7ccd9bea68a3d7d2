"""Formulas as images, drawn off the event loop and kept.

ziamath lays a formula out in pure Python (LaTeX → MathML → SVG with its own STIX
font): 5 to 30 ms each, too long for the event loop when a reply holds a dozen. So a text
view that meets a formula gets a blank of about its size at once, ziamath runs on a
worker thread, and QtSvg draws the SVG into an image on the GUI thread (about a
millisecond); then the view shows it. Images are kept per formula, colour and size, so a
formula seen before (scrolling back, the same reply once stored) is drawn at once.

A formula ziamath cannot read is shown as its source, in the text's colour: nothing the
model wrote is hidden.
"""

from __future__ import annotations

import logging
import sys
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import unquote

from PySide6.QtCore import QByteArray, QObject, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

log = logging.getLogger(__name__)

SCHEMES = {"math": False, "mathblock": True}  # scheme → displayed
KEPT = 512  # images kept, least recently used dropped first
SWITCH_INTERVAL_S = 0.001

Key = tuple[str, bool, str, float, float]  # latex, displayed, colour, pixel size, ratio


def formula_svg(latex: str, displayed: bool, color: str, pixels: float) -> str | None:
    """The formula as SVG, or None when ziamath cannot read it (runs on a worker)."""
    import ziamath  # 0.25 s to import: on the worker, the first time a formula appears

    # SVG 1.1: glyphs as paths, not <symbol>s that QtSvg (SVG Tiny) does not draw.
    ziamath.config.svg2 = False
    try:
        return str(ziamath.Latex(latex, size=pixels, color=color, inline=not displayed).svg())
    except Exception as exc:  # a parser of arbitrary model output: any failure is "unreadable"
        log.info("A formula could not be drawn (%s): shown as its source", type(exc).__name__)
        return None


class MathImages(QObject):
    """The images of formulas, one worker thread drawing those not seen yet."""

    ready = Signal(str, bool)  # (latex, displayed) of a formula whose image is now kept
    _drawn = Signal(object, object)  # (key, svg or None), from the worker

    def __init__(self) -> None:
        super().__init__()
        self._images: OrderedDict[Key, QImage] = OrderedDict()
        self._pending: set[Key] = set()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="math")
        # ziamath is pure Python: while it works, the GUI thread waits for the interpreter
        # lock up to the switch interval at every step (5 ms by default), and a streaming
        # reply stalled more than 200 times per 10 s over 16 ms (about 70 at 1 ms).
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        # Queued even from this thread: a formula drawn before `image()` has returned
        # (its future already done) must not be announced before the caller listens.
        self._drawn.connect(self._keep, Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def is_formula(url: QUrl) -> bool:
        return url.scheme() in SCHEMES

    def image(self, url: QUrl, color: QColor, pixels: float, ratio: float) -> QImage | None:
        """The image if it is kept; otherwise None, and it is drawn (`ready` tells when)."""
        key = (*formula_of(url), color.name(), pixels, ratio)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        if key not in self._pending:
            self._pending.add(key)

            def done(future: Future[str | None], key: Key = key) -> None:
                self._drawn.emit(key, future.result())  # queued to the GUI thread

            self._worker.submit(formula_svg, *key[:4]).add_done_callback(done)
        return None

    def _keep(self, key: Key, svg: str | None) -> None:
        self._pending.discard(key)
        latex, displayed, color, pixels, ratio = key
        image = _draw_svg(svg, ratio) if svg else None
        if image is None:
            image = _draw_source(latex, displayed, QColor(color), pixels, ratio)
        self._images[key] = image
        while len(self._images) > KEPT:
            self._images.popitem(last=False)
        self.ready.emit(latex, displayed)


def formula_of(url: QUrl) -> tuple[str, bool]:
    """The LaTeX source and whether it is displayed, from a formula image's address."""
    return unquote(url.path()), SCHEMES[url.scheme()]


def placeholder(url: QUrl, pixels: float) -> QImage:
    """A blank about the formula's size, so the text moves little when it is drawn."""
    size = QSize(int(min(len(unquote(url.path())), 40) * pixels * 0.45) + 4, int(pixels * 1.4))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    return image


def _draw_svg(svg: str, ratio: float) -> QImage | None:
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        return None
    size = renderer.defaultSize()
    image = QImage(size * ratio, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    image.setDevicePixelRatio(ratio)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size.width(), size.height()))
    painter.end()
    return image


def _draw_source(latex: str, displayed: bool, color: QColor, pixels: float, ratio: float) -> QImage:
    text = f"$${latex}$$" if displayed else f"${latex}$"
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPixelSize(max(int(pixels * 0.9), 6))
    metrics = QFontMetrics(font)
    size = QSize(metrics.horizontalAdvance(text) + 4, metrics.height() + 2)
    image = QImage(size * ratio, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    image.setDevicePixelRatio(ratio)
    painter = QPainter(image)
    painter.setFont(font)
    painter.setPen(color)
    painter.drawText(QRectF(0, 0, size.width(), size.height()), text)
    painter.end()
    return image


_shared: MathImages | None = None


def math_images() -> MathImages:
    """The application's one store of formula images (made on first use)."""
    global _shared
    if _shared is None:
        _shared = MathImages()
    return _shared

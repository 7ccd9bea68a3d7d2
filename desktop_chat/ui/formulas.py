"""The formulas of one text view: drawn images where they are known, and what to wait for.

A reply that streams asks `ready(html)` before it puts a finished piece in: a piece
whose formulas are all drawn goes in with its images, so nothing is laid out twice;
until then it stays plain text and `drawn` says when to try again. A whole message set
at once (`loadResource`) gets a blank of about each missing formula's size, replaced
when it is drawn, and only the lines holding it are laid out again.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QTextEdit

from desktop_chat.ui.math_images import MathImages, formula_of, math_images, placeholder

_SOURCES = re.compile(r'<img src="(math(?:block)?:[^"]*)"')
Formula = tuple[str, bool]  # latex, displayed
FRAME_MS = 16


class Formulas(QObject):
    drawn = Signal()  # a formula a `ready()` call waited for is drawn now

    def __init__(self, view: QTextEdit) -> None:
        super().__init__(view)
        self.view = view
        self._shown: dict[Formula, QUrl] = {}  # blanks in the document
        self._asked: set[Formula] = set()  # for pieces not put in yet
        self._arrived: list[Formula] = []  # drawn, for blanks: put in at the next frame
        self._listening = False

    @property
    def waiting(self) -> bool:
        return bool(self._shown or self._asked)

    def ready(self, html: str) -> bool:
        """Whether every formula in `html` is drawn; those that are not are asked for."""
        missing = False
        for source in _SOURCES.findall(html):
            url = QUrl(source)
            if self._image(url) is None:
                self._asked.add(formula_of(url))
                missing = True
        self._listen()
        return not missing

    def load(self, url: QUrl) -> QImage:
        """For the document: the formula's image, or a blank of about its size."""
        image = self._image(url)
        if image is not None:
            return image
        self._shown[formula_of(url)] = url
        self._listen()
        return placeholder(url, self._pixels(url))

    @staticmethod
    def is_formula(url: QUrl) -> bool:
        return MathImages.is_formula(url)

    def _image(self, url: QUrl) -> QImage | None:
        palette = self.view.palette()
        ratio = self.view.devicePixelRatioF()
        return math_images().image(url, palette.text().color(), self._pixels(url), ratio)

    def _pixels(self, url: QUrl) -> float:
        font = self.view.font()
        pixels = font.pixelSize() if font.pixelSize() > 0 else font.pointSizeF() * 96 / 72
        return round(pixels * (1.4 if formula_of(url)[1] else 1.25), 1)

    def _listen(self) -> None:
        listen = self.waiting
        if listen != self._listening:
            self._listening = listen
            if listen:
                math_images().ready.connect(self._on_drawn)
            else:
                math_images().ready.disconnect(self._on_drawn)

    def _on_drawn(self, latex: str, displayed: bool) -> None:
        formula = (latex, displayed)
        if formula in self._asked:
            self._asked.discard(formula)
            if not self._asked:
                self.drawn.emit()
        if formula in self._shown:
            if not self._arrived:
                QTimer.singleShot(FRAME_MS, self._put_in)
            self._arrived.append(formula)
        self._listen()

    def _put_in(self) -> None:
        """Replace the blanks with the drawn images; lay out only their lines again."""
        document = self.view.document()
        placed: set[Formula] = set()
        for formula in self._arrived:
            url = self._shown.get(formula)
            image = self._image(url) if url is not None else None
            if url is None or image is None:
                continue  # drawn for another colour or size: this one is on its way
            del self._shown[formula]
            document.addResource(QTextDocument.ResourceType.ImageResource, url, image)
            placed.add(formula)
        self._arrived = []
        self._listen()
        block = document.lastBlock()
        while placed and block.isValid():
            for fragment in (position.fragment() for position in block):
                if not fragment.charFormat().isImageFormat():
                    continue
                url = QUrl(fragment.charFormat().toImageFormat().name())
                if self.is_formula(url) and formula_of(url) in placed:
                    placed.discard(formula_of(url))
                    document.markContentsDirty(fragment.position(), fragment.length())
            block = block.previous()

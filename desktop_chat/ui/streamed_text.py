"""A reply's text in a QTextDocument while it streams, at a cost that does not grow with it.

Finished Markdown blocks are rendered once and appended; the block still being written
(the tail) is shown as it grows and only its new characters are added. A tail that is an
open code fence is shown as code from its first line, in a framed block like the one it
becomes, rather than as raw text with its backticks.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import (
    QColor,
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFrame,
    QTextFrameFormat,
)

from desktop_chat.ui.markdown import (
    DARK,
    LIGHT,
    finished_points,
    open_code,
    render_markdown_soon,
)


class StreamedText:
    def __init__(
        self, document: QTextDocument, dark: bool, formulas_ready: Callable[[str], bool]
    ) -> None:
        """`formulas_ready(html)`: whether a piece's formulas are drawn (ui/formulas.py).

        A finished piece waits, shown as plain text, until they are: put in with its
        images, it is laid out once.
        """
        self.document = document
        self._formulas_ready = formulas_ready
        self.text = ""  # the reply so far
        self.palette = DARK if dark else LIGHT
        self.dark = dark
        self.code_blocks: list[str] = []  # of the finished blocks, for their Copy links
        self.rendered_upto = 0  # characters of the reply rendered as Markdown
        self.rendered_text = ""  # the reply's text up to rendered_upto
        self._tail_position = 0  # where the tail starts in the document
        self._tail = ""  # the text shown after it
        self._code: QTextFrame | None = None  # the tail's open code block, if it is one
        document.clear()

    def update(self, text: str) -> None:
        """Show `text`, the reply so far.

        The finished blocks go in together, as one piece, when they hold no formula
        (most do not); otherwise one by one, as far as their formulas are drawn, and the
        rest is shown as plain text meanwhile. (Rendering the whole held-back text again
        at every frame made a math-heavy reply stall.)
        """
        self.text = text
        points = finished_points(text, self.rendered_upto)
        if points and not _may_hold_math(text[self.rendered_upto : points[-1]]):
            points = points[-1:]
        for point in points:
            if not self._put_in(point):
                break
        done = self.rendered_upto
        tail = text[done:]
        code = open_code(text, done)
        if tail.startswith(self._tail) and (code is not None) == (self._code is not None):
            added = tail[len(self._tail) :]
            if added:
                self._append(added)
        else:  # a new tail, or one that turned out to be a code fence
            cursor = self._clear_tail()
            if code is None:
                cursor.insertText(tail, QTextCharFormat())
            else:
                self._open_code_block(cursor, code[0], text[code[1] :])
        self._tail = tail

    def _put_in(self, point: int) -> bool:
        """Render the text up to `point` into the document, if its formulas are drawn.

        And if its code's lexers are compiled: compiling one here would stall the window
        (tens of ms); the worker compiles it meanwhile (ui/lexers.py).
        """
        piece = render_markdown_soon(
            self.text[self.rendered_upto : point], self.dark, len(self.code_blocks)
        )
        if piece.waiting or not self._formulas_ready(piece.html):
            return False
        cursor = self._take_from_tail(point - self.rendered_upto)
        cursor.insertHtml(piece.html)
        if cursor.block().text() or cursor.block().textList() is not None:
            # A piece ending in a list or a table leaves an empty block of its own
            # behind; one more would add a blank line the stored message has not.
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        self.code_blocks.extend(piece.code_blocks)
        self.rendered_upto, self.rendered_text = point, self.text[:point]
        self._tail_position = cursor.position()
        return True

    @property
    def caught_up(self) -> bool:
        """Everything shown is rendered: no piece waits for its formulas."""
        return self.rendered_upto == len(self.text)

    def _take_from_tail(self, length: int) -> QTextCursor:
        """Remove the first `length` characters of a plain tail (a piece now rendered).

        The rest stays where it is: re-inserting a long tail (text held back while its
        formulas are drawn) for every piece that goes in cost a stall per piece.
        """
        piece = self.text[self.rendered_upto : self.rendered_upto + length]
        if self._code is not None or not self._tail.startswith(piece):
            return self._clear_tail()  # not all of it shown yet, or shown as code
        cursor = QTextCursor(self.document)
        cursor.setPosition(self._tail_position)
        cursor.setPosition(self._tail_position + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._tail = self._tail[length:]
        return cursor

    def _clear_tail(self) -> QTextCursor:
        cursor = QTextCursor(self.document)
        cursor.setPosition(self._tail_position)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._code, self._tail = None, ""
        return cursor

    def _append(self, added: str) -> None:
        cursor = QTextCursor(self.document)
        if self._code is not None:
            cursor.setPosition(self._code.lastPosition())
            cursor.insertText(added, self._code_format())
        else:
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(added, QTextCharFormat())

    def _open_code_block(self, cursor: QTextCursor, language: str, code: str) -> None:
        frame_format = QTextFrameFormat()
        frame_format.setBackground(QColor(self.palette.code_background))
        frame_format.setPadding(8)
        frame_format.setTopMargin(6)
        frame_format.setBottomMargin(6)
        frame_format.setBorder(0)
        self._code = cursor.insertFrame(frame_format)
        label = QTextCharFormat()
        label.setForeground(QColor(self.palette.code_header))
        label.setFontPointSize(max(self.document.defaultFont().pointSizeF() * 0.85, 6))
        cursor.insertText(language or "code", label)
        cursor.insertBlock(QTextBlockFormat(), self._code_format())
        cursor.insertText(code, self._code_format())

    @staticmethod
    def _code_format() -> QTextCharFormat:
        code = QTextCharFormat()
        code.setFontFamilies(["monospace"])
        code.setFontStyleHint(QFont.StyleHint.Monospace)
        return code


def _may_hold_math(text: str) -> bool:
    return "$" in text or "\\(" in text or "\\[" in text

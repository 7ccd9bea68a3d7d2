"""Math in replies: found by the usual rules, drawn off the event loop, kept, and shown as
its source when it cannot be drawn (#17)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument

from desktop_chat.schemas import Message
from desktop_chat.ui.markdown import render_markdown
from desktop_chat.ui.math_images import formula_svg
from desktop_chat.ui.message_widget import MessageWidget


def _formulas(text: str) -> list[str]:
    html = render_markdown(text).html
    return [part.split('"', 1)[0] for part in html.split('<img src="')[1:]]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("It costs $5 and $10 today.", []),
        ("Euler: $e^{i\\pi}+1=0$.", ["math:e%5E%7Bi%5Cpi%7D%2B1%3D0"]),
        ("Inline \\(a^2\\) here", ["math:a%5E2"]),
        ("$$\\int_0^1 x\\,dx$$", ["mathblock:%5Cint_0%5E1%20x%5C%2Cdx"]),
        ("\\[x = 1\\]", ["mathblock:x%20%3D%201"]),
        ("$$\nx^2\n$$", ["mathblock:x%5E2"]),
        ("`$x$` is code", []),
        ("```\n$x$\n```", []),
        ("$ x$ has a space after the opening", []),
        ("$x $ has one before the closing", []),
        ("$x$5 is followed by a digit", []),
        ("Escaped \\$x\\$ is text", []),
    ],
)
def test_formulas_are_found_by_the_usual_rules(text, found):
    assert _formulas(text) == found


def test_an_unreadable_formula_has_no_svg():
    assert formula_svg("\\frac{a}{", False, "#000000", 16) is None
    assert formula_svg("\\frac{a}{b}", False, "#000000", 16).startswith("<svg")


def _image(widget: MessageWidget, url: str) -> QImage:
    return widget.body.document().resource(QTextDocument.ResourceType.ImageResource, QUrl(url))


def test_a_reply_draws_its_formulas_and_their_source_when_unreadable(qtbot):
    text = "Area $\\pi r^2$ and a typo $\\frac{a}{$ here.\n\n$$\\sum_{n=1}^{\\infty} n$$"
    widget = MessageWidget(Message(id=1, role="assistant", content=text), dark=False)
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    qtbot.waitUntil(lambda: not widget.body.formulas.waiting, timeout=10_000)
    drawn = [_image(widget, u) for u in _formulas(text)]
    assert len(drawn) == 3 and all(isinstance(i, QImage) and not i.isNull() for i in drawn)
    inline, _source, displayed = drawn  # the typo is drawn as its source
    assert displayed.height() > inline.height(), "a displayed sum is taller"
    # The text the model wrote stays: copying the message gives the source.
    assert widget.plain_text() == text

    again = MessageWidget(Message(id=2, role="assistant", content="Area $\\pi r^2$."), dark=False)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(again.isVisible)
    assert not again.body.formulas.waiting, "a formula seen before is drawn at once, from the cache"


def test_a_streamed_piece_goes_in_with_its_formulas_drawn(qtbot):
    widget = MessageWidget(None, dark=False)
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    widget.stream_update("Energy $E = m c^{7}$ is kept.\n\nNext", "")
    # Until it is drawn the piece is plain text, never a blank that jumps later.
    qtbot.waitUntil(lambda: "$" not in widget.body.toPlainText(), timeout=10_000)
    shown = widget.body.toPlainText()
    assert shown.startswith("Energy \ufffc is kept.") and shown.rstrip().endswith("Next")
    image = _image(widget, "math:E%20%3D%20m%20c%5E%7B7%7D")
    assert isinstance(image, QImage) and image.width() > 20

"""Math in Markdown: `$…$` and `\\(…\\)` inline, `$$…$$` and `\\[…\\]` displayed.

The parser marks each formula as an image whose address carries its LaTeX source
(`math:` inline, `mathblock:` displayed); the chat's text views draw those images
(ui/math_images.py). A formula is found by the usual rules, so that prices are not
math: no space right after the opening `$`, none right before the closing one, and a
closing `$` not followed by a digit ("$5 and $10" stays text). Code spans and blocks
are parsed before, so a `$` in code is never math.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

# (opening, closing, displayed), longest openings first.
DELIMITERS = (("$$", "$$", True), ("\\[", "\\]", True), ("\\(", "\\)", False), ("$", "$", False))


def _closing_dollar(src: str, start: int) -> int:
    """Where the `$` closing an inline formula opened before `start` is, or -1."""
    end = start
    while True:
        end = src.find("$", end)
        if end < 0:
            return -1
        if src[end - 1] == "\\" or src[end - 1].isspace() or src[end + 1 : end + 2].isdigit():
            end += 1
            continue
        return end


def _math(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    found = next((d for d in DELIMITERS if src.startswith(d[0], pos)), None)
    if found is None:
        return False
    opening, closing, displayed = found
    start = pos + len(opening)
    if opening == "$":
        if start >= state.posMax or src[start].isspace():
            return False
        end = _closing_dollar(src, start)
    else:
        end = src.find(closing, start)
    if end < 0 or end + len(closing) > state.posMax or not src[start:end].strip():
        return False
    if not silent:
        token = state.push("math", "", 0)
        token.content = src[start:end].strip()
        token.markup = opening
        token.info = "display" if displayed else ""
    state.pos = end + len(closing)
    return True


def _render(_self: Any, tokens: list[Any], idx: int, _options: Any, _env: Any) -> str:
    token = tokens[idx]
    displayed = token.info == "display"
    closing = dict((o, c) for o, c, _ in DELIMITERS)[token.markup]
    source = html.escape(f"{token.markup}{token.content}{closing}")
    scheme = "mathblock" if displayed else "math"
    image = (
        f'<img src="{scheme}:{quote(token.content, safe="")}" alt="{source}" '
        'style="vertical-align: middle;" />'
    )
    return f"<center>{image}</center>" if displayed else image


def math_plugin(md: MarkdownIt) -> None:
    # Before the escape rule, which would turn "\(" into "(" first.
    md.inline.ruler.before("escape", "math", _math)
    md.add_render_rule("math", _render)

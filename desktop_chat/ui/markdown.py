"""Markdown to the HTML subset QTextDocument renders, with highlighted code blocks.

markdown-it-py is a CommonMark parser that is fast and well kept; Qt's own markdown
support cannot highlight code or give a code block a Copy link. Each fenced block gets a
header with its language and a `copy:N` link; the view copies block N when clicked.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt

from desktop_chat.ui import lexers
from desktop_chat.ui.i18n import t
from desktop_chat.ui.markdown_math import math_plugin

if TYPE_CHECKING:
    from pygments.formatters.html import HtmlFormatter


@dataclass(frozen=True)
class Palette:
    code_background: str
    code_header_background: str
    code_header: str
    code_style: str
    link: str


LIGHT = Palette("#f6f8fa", "#e8ecf0", "#57606a", "friendly", "#0969da")
DARK = Palette("#161b22", "#262c36", "#8b949e", "monokai", "#58a6ff")


@dataclass
class Rendered:
    html: str
    code_blocks: list[str] = field(default_factory=list)
    # The languages of code shown plain until their lexers compile (render_markdown_soon).
    waiting: frozenset[str] = frozenset()


# The languages models label their code blocks with most; warm_up() prepares them.
COMMON_LANGUAGES = (
    "python", "bash", "shell", "console", "json", "javascript", "typescript", "html",
    "css", "sql", "yaml", "toml", "rust", "go", "java", "c", "cpp", "diff",
)  # fmt: skip


@lru_cache(maxsize=4)
def _formatter(style: str) -> HtmlFormatter:
    lexers.load_pygments()
    from pygments.formatters.html import HtmlFormatter

    return HtmlFormatter(nowrap=True, noclasses=True, style=style)


def _highlight(code: str, language: str, palette: Palette) -> str:
    """A labelled block in colours; an unlabelled one plain.

    Guessing a lexer tries every one Pygments has (tens of milliseconds: a stall on the
    event loop), and often guesses wrong. Pygments is imported here, with the first
    compiled lexer: the first screen shows its code plain (ui/lexers.py).
    """
    lexer = lexers.lexer(language.lower()) if language else None
    if lexer is None:
        return html.escape(code, quote=False)
    from pygments import highlight  # loaded by lexers.lexer()

    return highlight(code, lexer, _formatter(palette.code_style))


def warm_up() -> None:
    """Compile the common lexers and both themes' formatters before the first code block."""
    for palette in (LIGHT, DARK):
        for language in COMMON_LANGUAGES:
            _highlight("x", language, palette)


_warm_up_lock = threading.Lock()
_warm_up_thread: threading.Thread | None = None


def warm_up_in_background() -> threading.Thread:
    """Run warm_up() once per process, on a worker thread.

    Compiling one lexer's rules is pure Python that cannot be split (CSS about 30 ms,
    Python about 20 ms), so on the GUI thread it would itself be a stall; on a worker it
    only shares the interpreter lock, which the GUI thread gets back within 5 ms.
    """
    global _warm_up_thread
    with _warm_up_lock:
        if _warm_up_thread is None:
            _warm_up_thread = threading.Thread(target=warm_up, name="lexer-warm-up", daemon=True)
            _warm_up_thread.start()
        return _warm_up_thread


@lru_cache(maxsize=2)
def _parser(palette: Palette) -> MarkdownIt:
    """One parser per theme (building one costs as much as rendering a short message).

    A render's `env` carries its own list of code blocks and the number of the first.
    """
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(
        ["table", "strikethrough"]
    )

    def fence(_self: Any, tokens: list[Any], idx: int, _options: Any, env: Any) -> str:
        token = tokens[idx]
        language = (token.info or "").strip().split(" ")[0]
        code = token.content.rstrip("\n")
        blocks: list[str] = env["blocks"]
        blocks.append(code)
        number = env["first_block"] + len(blocks) - 1
        waiting: set[str] | None = env.get("waiting")
        if waiting is not None and language and not lexers.is_compiled(language.lower()):
            waiting.add(language.lower())
            body = html.escape(code, quote=False)
        else:
            body = _highlight(code, language, palette).rstrip("\n")
        label = html.escape(language or t("code"))
        return (
            f'<table width="100%" border="0" cellspacing="0" cellpadding="8" '
            f'style="margin: 6px 0;">'
            f'<tr><td bgcolor="{palette.code_header_background}" '
            f'style="color:{palette.code_header}; font-size: small;">{label}</td>'
            f'<td bgcolor="{palette.code_header_background}" align="right" '
            f'style="font-size: small;"><a href="copy:{number}" '
            f'style="color:{palette.link}; text-decoration:none;">{t("Copy")}</a></td></tr>'
            f'<tr><td colspan="2" bgcolor="{palette.code_background}">'
            f'<pre style="font-family: monospace; margin:0; white-space: pre-wrap;">'
            f"{body}</pre></td></tr></table>"
        )

    def code_inline(_self: Any, tokens: list[Any], idx: int, _options: Any, _env: Any) -> str:
        content = html.escape(tokens[idx].content)
        return (
            f'<code style="font-family: monospace; background-color:'
            f'{palette.code_background};">&nbsp;{content}&nbsp;</code>'
        )

    math_plugin(md)
    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", fence)
    md.add_render_rule("code_inline", code_inline)
    return md


@lru_cache(maxsize=1024)
def render_markdown(text: str, dark: bool = False, first_block: int = 0) -> Rendered:
    """Render once per (text, theme); stored messages never change, so the cache hits.

    `first_block` numbers the Copy links of a piece rendered after others (streaming).
    """
    return _render(text, dark, first_block, None)


def render_markdown_soon(text: str, dark: bool = False, first_block: int = 0) -> Rendered:
    """As render_markdown, without compiling a lexer on this (the GUI) thread.

    Code whose lexer is not compiled yet is shown plain (`waiting` is set): the lexers
    compile on a worker thread and `lexers.compiled()` says when to render again. Only
    the complete rendering is cached.
    """
    missing = {m.lower() for m in _LANGUAGE.findall(text)}
    missing = {language for language in missing if not lexers.is_compiled(language)}
    if not missing:
        return render_markdown(text, dark, first_block)
    waiting: set[str] = set()
    rendered = _render(text, dark, first_block, waiting)
    lexers.compile_soon(missing | waiting)  # so that the next render is the cached one
    rendered.waiting = frozenset(waiting)
    return rendered


def _render(text: str, dark: bool, first_block: int, waiting: set[str] | None) -> Rendered:
    blocks: list[str] = []
    env = {"blocks": blocks, "first_block": first_block, "waiting": waiting}
    body = _parser(DARK if dark else LIGHT).render(text, env)
    body = body.replace("<table>", '<table border="1" cellspacing="0" cellpadding="4">')
    return Rendered(html=body, code_blocks=blocks)


# The label of every fence (the parser's own rule may find a few more: those compile
# on the worker too, found while rendering).
_LANGUAGE = re.compile(r"^[ \t>*+\-\d.]*(?:```|~~~)[`~]*[ \t]*([^\s`]+)", re.MULTILINE)


_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_OPENING = re.compile(r"(?:```|~~~)[`~]*[ \t]*([^\s`]*)[^\n`]*\n")


def finished_prefix(text: str, start: int) -> int:
    """Where the Markdown blocks that can no longer change end, at or after `start`.

    A block is finished once a blank line follows it outside a code fence; a fence at
    the margin also ends what comes before it (a fence interrupts a paragraph) and is
    itself finished at its closing line. Text after that point may still change meaning
    (an open list, table or fence) and is shown as it grows (`open_code` tells a fence).
    `start` must itself be such a point (or 0).
    """
    points = finished_points(text, start)
    return points[-1] if points else start


def finished_points(text: str, start: int) -> list[int]:
    """Every point after `start` where finished blocks end (see `finished_prefix`)."""
    points: list[int] = []
    in_fence = False
    at_margin = False  # the open fence starts at the margin, not inside a list
    position = start
    for line in text[start:].splitlines(keepends=True):
        line_start = position
        position += len(line)
        if not line.endswith("\n"):
            break  # the last line is still being written
        if _FENCE.match(line):
            in_fence = not in_fence
            if in_fence:
                at_margin = line[0] in "`~"
                if at_margin and line_start > start:
                    points.append(line_start)
            elif at_margin:
                points.append(position)
        elif not in_fence and not line.strip():
            points.append(position)
    return points


def open_code(text: str, start: int) -> tuple[str, int] | None:
    """The language and where the code starts, when `text[start:]` is an open fence.

    `start` is a point `finished_prefix` returned: an open fence at the margin begins
    there, once its opening line is complete.
    """
    match = _OPENING.match(text, start)
    return (match.group(1), match.end()) if match else None

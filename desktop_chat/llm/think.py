"""`<think>…</think>` at the start of a reply's text is reasoning, not answer.

DeepSeek-R1's distills and many local models (through Ollama, llama.cpp, LM Studio)
stream their reasoning inside the content, wrapped in these tags, instead of in a field
of its own. Split here, where the stream is read, the API, the command line and the
window all see the same thing: `content` without it (so it is never sent back to the
model), `reasoning` with it.

Only a block that opens the reply counts: a reply that talks *about* the tag later on is
left alone. Tags may arrive split across chunks ("<thi", "nk>"), so a piece that could
be the start of a tag is held back until the next chunk tells.
"""

from __future__ import annotations

from enum import Enum

OPEN, CLOSE = "<think>", "</think>"


class _State(Enum):
    START = 1  # nothing but whitespace yet: a <think> may still come
    THINKING = 2
    AFTER = 3  # the block just closed: the whitespace before the answer is dropped
    TEXT = 4


def _partial_tag(text: str, tag: str) -> int:
    """How many characters at the end of `text` could begin `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """Feed it the streamed text piece by piece; it answers (text, reasoning) pieces."""

    def __init__(self) -> None:
        self._state = _State.START
        self._held = ""

    def feed(self, piece: str) -> tuple[str, str]:
        if self._state is _State.TEXT:  # past any think block: nearly every piece
            return piece, ""
        data, self._held = self._held + piece, ""
        if self._state is _State.START:
            stripped = data.lstrip()
            if stripped.startswith(OPEN):
                self._state, data = _State.THINKING, stripped[len(OPEN) :]
            elif OPEN.startswith(stripped):  # only whitespace, or the tag's beginning
                self._held = data
                return "", ""
            else:
                self._state = _State.TEXT
                return data, ""
        reasoning = ""
        if self._state is _State.THINKING:
            end = data.find(CLOSE)
            if end < 0:
                keep = _partial_tag(data, CLOSE)
                self._held = data[len(data) - keep :]
                return "", data[: len(data) - keep]
            reasoning, data = data[:end], data[end + len(CLOSE) :]
            self._state = _State.AFTER
        if self._state is _State.AFTER:
            data = data.lstrip()
            if data:
                self._state = _State.TEXT
        return data, reasoning

    def flush(self) -> tuple[str, str]:
        """The stream ended: what was held back is what it looked like."""
        held, self._held = self._held, ""
        if self._state is _State.THINKING:
            return "", held
        return (held, "") if held.strip() else ("", "")


def strip_think(text: str) -> str:
    """A whole answer without its leading reasoning block (titles, short answers)."""
    splitter = ThinkSplitter()
    answer, _ = splitter.feed(text)
    rest, _ = splitter.flush()
    return answer + rest

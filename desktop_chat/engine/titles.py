"""Conversation titles: a snippet at once, a model-written one after the first reply."""

from __future__ import annotations

import re

from desktop_chat.schemas import ChatMessage

MAX_TITLE = 60
TITLE_PROMPT = (
    "Write a short title (at most six words) for a conversation that starts with the "
    "message below. Answer with the title only, in the message's language, no quotes."
)


def snippet_title(text: str) -> str:
    """The first line of the user's text, cut at a word boundary."""
    line = " ".join(text.strip().split())
    if len(line) <= MAX_TITLE:
        return line
    cut = line[:MAX_TITLE].rsplit(" ", 1)[0] or line[:MAX_TITLE]
    return cut + "…"


def fork_title(title: str) -> str:
    """The title of a fork: the original's, marked, so the two tell apart in the list."""
    return f"{title or 'Untitled'} ⑂"[:200]


def title_request(first_user_text: str) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=TITLE_PROMPT),
        ChatMessage(role="user", content=first_user_text[:2000]),
    ]


def clean_title(raw: str) -> str:
    text = re.sub(r"<think>.*?</think>", "", raw, flags=re.DOTALL)
    text = text.strip().splitlines()[0] if text.strip() else ""
    text = re.sub(r"[*_`]+", "", text)
    text = text.strip().strip("\"'“”‘’#").strip()
    text = re.sub(r"^(title|标题)\s*[:：]\s*", "", text, flags=re.IGNORECASE)
    return text[:MAX_TITLE].strip()

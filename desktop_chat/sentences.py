"""Sentences for the user, written in English and marked for translation, without Qt.

The core (store, llm, engine, secrets) words its failures in English: the command line
and the local API show them as they are. The window shows them in the user's language:
each sentence is a template marked with `N_` at module level, so that the translation
tool collects it and the window can recognise a finished sentence as its template with
the parameters filled in (ui/i18n.py `say`), including sentences already stored with a
message. Parameters are named; no template uses one name twice.
"""

from __future__ import annotations

_templates: dict[str, None] = {}


def N_(text: str) -> str:
    """Mark `text` as a sentence to translate where it is shown; returns it unchanged."""
    _templates.setdefault(text, None)
    return text


def templates() -> list[str]:
    """Every sentence marked so far (the core's modules mark theirs when imported)."""
    return list(_templates)

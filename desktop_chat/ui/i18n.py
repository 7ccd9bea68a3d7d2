"""Translation of the window's words (English and Simplified Chinese).

Every user-visible string goes through `t()`, one translation context for the whole
window; `resources/translations/*.ts` are the sources and the `.qm` files next to them
are what Qt loads.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

CONTEXT = "desktop_chat"
LANGUAGES = {"system": "System language", "en": "English", "zh_CN": "简体中文"}


def N_(text: str) -> str:
    """Marks a string for extraction where it is defined; `t()` translates it when shown."""
    return text


def t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def say(sentence: str) -> str:
    """A sentence from the core (desktop_chat/sentences.py), in the window's language.

    The core words its failures in English; this finds the template a sentence was made
    from, translates it and fills the translated parameters back in (a parameter may
    itself be a sentence, or a word such as "conversation"). Sentences stored with a
    message long ago are translated the same way; one that matches no template (a
    server's own words) is shown as it is.
    """
    if not sentence:
        return sentence
    translated = t(sentence)
    if translated != sentence:
        return translated
    for template, pattern in _patterns(len(_core_templates())):
        found = pattern.fullmatch(sentence)
        if found is not None:
            values = {name: say(value) for name, value in found.groupdict().items()}
            return t(template).format(**values)
    return sentence


def _core_templates() -> list[str]:
    from desktop_chat.sentences import templates

    return templates()


@cache
def _patterns(_count: int) -> list[tuple[str, re.Pattern[str]]]:
    """A pattern per template with parameters; made again when more are marked."""
    patterns = []
    for template in _core_templates():
        parts = re.split(r"\{(\w+)\}", template)
        if len(parts) == 1:
            continue  # no parameter: t() alone finds it
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
        patterns.append((template, re.compile(regex, re.DOTALL)))
    return patterns


def translations_dir() -> Path:
    from desktop_chat.ui.resources import resource_dir

    return resource_dir() / "translations"


def install_translator(app: QCoreApplication, language: str) -> list[QTranslator]:
    """Load the `.qm` files for `language` ('system' follows the OS); none means English.

    Qt's own words (Yes, Cancel, the file dialog) come from Qt's `qtbase` catalogue, which
    ships with PySide6; without it a Chinese window asks its questions with English buttons.
    """
    code = QLocale.system().name() if language == "system" else language
    if not code.startswith("zh"):
        return []
    catalogues = [
        translations_dir() / "desktop_chat_zh_CN.qm",
        Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)) / "qtbase_zh_CN.qm",
    ]
    installed = []
    for catalogue in catalogues:
        translator = QTranslator(app)
        if translator.load(str(catalogue)):
            app.installTranslator(translator)
            installed.append(translator)
    return installed

"""Translation of the window's words (English and Simplified Chinese).

Every user-visible string goes through `t()`, one translation context for the whole
window; `resources/translations/*.ts` are the sources and the `.qm` files next to them
are what Qt loads.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

CONTEXT = "desktop_chat"
LANGUAGES = {"system": "System language", "en": "English", "zh_CN": "简体中文"}


def N_(text: str) -> str:
    """Marks a string for extraction where it is defined; `t()` translates it when shown."""
    return text


def t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def translations_dir() -> Path:
    from desktop_chat.ui.resources import resource_dir

    return resource_dir() / "translations"


def install_translator(app: QCoreApplication, language: str) -> QTranslator | None:
    """Load the `.qm` for `language` ('system' follows the OS); None means English."""
    code = QLocale.system().name() if language == "system" else language
    if not code.startswith("zh"):
        return None
    translator = QTranslator(app)
    if translator.load(str(translations_dir() / "desktop_chat_zh_CN.qm")):
        app.installTranslator(translator)
        return translator
    return None

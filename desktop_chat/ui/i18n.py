"""Translation of the window's words (English and Simplified Chinese).

Every user-visible string goes through `t()`, one translation context for the whole
window; `resources/translations/*.ts` are the sources and the `.qm` files next to them
are what Qt loads.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

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

"""The window speaks Simplified Chinese when asked, and no string is left untranslated."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox

from desktop_chat.ui.i18n import install_translator, t, translations_dir


def _extractor():
    path = translations_dir() / "update_translations.py"
    spec = importlib.util.spec_from_file_location("update_translations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_visible_string_has_a_chinese_translation():
    ts = translations_dir() / "desktop_chat_zh_CN.ts"
    translated = {
        m.findtext("source")
        for m in ET.parse(ts).getroot().iter("message")
        if m.find("translation").get("type") != "unfinished" and m.findtext("translation")
    }
    missing = [s for s in _extractor().collect() if s not in translated]
    assert missing == [], "run resources/translations/update_translations.py and translate"


def test_chinese_is_loaded_and_english_is_the_default(qapp):
    assert t("Send") == "Send"
    translators = install_translator(qapp, "zh_CN")
    assert len(translators) == 2, "a compiled .qm file is missing"
    try:
        assert t("Send") == "发送"
        assert t("New chat") == "新对话"
        # Qt's own buttons, as in the "Discard the changes?" question.
        yes = QMessageBox(QMessageBox.Icon.Question, "", "", QMessageBox.StandardButton.Yes)
        assert yes.button(QMessageBox.StandardButton.Yes).text() not in ("&Yes", "Yes")
    finally:
        for translator in translators:
            QCoreApplication.removeTranslator(translator)
    assert t("Send") == "Send"
    assert install_translator(qapp, "en") == []

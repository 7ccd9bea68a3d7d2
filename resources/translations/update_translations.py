"""Refresh the window's translation files from the source, then compile them.

Run from the repository root after changing user-visible text:

    python resources/translations/update_translations.py

It collects every string literal passed to `t()` or `N_()` under desktop_chat (the window's
words in ui/, the core's sentences marked with desktop_chat.sentences.N_), keeps the
translations already in `desktop_chat_zh_CN.ts`, marks new strings unfinished, drops
strings no longer used, and compiles the `.qm` file Qt loads (with pyside6-lrelease).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "desktop_chat"
TS_FILE = Path(__file__).resolve().parent / "desktop_chat_zh_CN.ts"
CONTEXT = "desktop_chat"


def collect() -> list[str]:
    found: dict[str, None] = {}
    for path in sorted(SOURCES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("t", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, None)
    return list(found)


def existing() -> dict[str, str]:
    if not TS_FILE.exists():
        return {}
    translations = {}
    for message in ET.parse(TS_FILE).getroot().iter("message"):
        source = message.findtext("source") or ""
        element = message.find("translation")
        if element is not None and element.text and element.get("type") != "unfinished":
            translations[source] = element.text
    return translations


def write(strings: list[str], translations: dict[str, str]) -> int:
    root = ET.Element("TS", version="2.1", language="zh_CN")
    context = ET.SubElement(root, "context")
    ET.SubElement(context, "name").text = CONTEXT
    missing = 0
    for source in strings:
        message = ET.SubElement(context, "message")
        ET.SubElement(message, "source").text = source
        translation = ET.SubElement(message, "translation")
        if source in translations:
            translation.text = translations[source]
        else:
            translation.set("type", "unfinished")
            missing += 1
    ET.indent(root)
    TS_FILE.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n'
        + ET.tostring(root, encoding="unicode")
        + "\n",
        encoding="utf-8",
    )
    return missing


def compile_qm() -> None:
    lrelease = shutil.which("pyside6-lrelease") or shutil.which(
        "pyside6-lrelease", path=str(Path(sys.executable).parent)
    )
    if lrelease is None:
        sys.exit("pyside6-lrelease not found: install the project first (pip install -e .)")
    subprocess.run([lrelease, str(TS_FILE), "-qm", str(TS_FILE.with_suffix(".qm"))], check=True)


if __name__ == "__main__":
    strings = collect()
    missing = write(strings, existing())
    compile_qm()
    print(f"{len(strings)} strings, {missing} without a translation")

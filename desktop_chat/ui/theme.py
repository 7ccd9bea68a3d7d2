"""Light and dark themes: Qt's Fusion style, a palette and one small style sheet."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

COLORS = {
    "light": {
        "window": "#ffffff",
        "sidebar": "#f4f5f7",
        "text": "#1f2328",
        "muted": "#656d76",
        "border": "#d8dee4",
        "user": "#eef4ff",
        "assistant": "#ffffff",
        "accent": "#2563eb",
        "accent_text": "#ffffff",
        "error": "#b42318",
        "error_bg": "#fef3f2",
        "chip": "#f1f5f9",
        "selection": "#dbe7ff",
    },
    "dark": {
        "window": "#1e1f22",
        "sidebar": "#17181a",
        "text": "#e6e6e6",
        "muted": "#9aa0a6",
        "border": "#33363b",
        "user": "#25324a",
        "assistant": "#1e1f22",
        "accent": "#3b82f6",
        "accent_text": "#ffffff",
        "error": "#f97066",
        "error_bg": "#3b1d1b",
        "chip": "#2a2c30",
        "selection": "#2f3d57",
    },
}

STYLE = """
QWidget#sidebar {{ background: {sidebar}; }}
QListView#conversationList {{ background: {sidebar}; border: none; outline: none; }}
QListView#conversationList::item {{ padding: 4px 8px; border-radius: 6px; color: {text}; }}
QListView#conversationList::item:selected {{ background: {selection}; color: {text}; }}
QListView#conversationList::item:hover:!selected {{ background: {chip}; }}
QLineEdit#searchBox {{ padding: 6px 8px; border: 1px solid {border}; border-radius: 6px;
    background: {window}; }}
QPushButton#newChatButton, QPushButton#sendButton, QPushButton#primaryButton {{
    background: {accent}; color: {accent_text}; border: none; border-radius: 6px;
    padding: 7px 16px; font-weight: 600; }}
QPushButton#newChatButton:hover, QPushButton#sendButton:hover {{ background: {accent}; }}
QWidget#chatContainer {{ background: {window}; }}
QFrame#message_user {{ background: {user}; border-radius: 10px; }}
QFrame#message_assistant {{ background: {assistant}; border: 1px solid {border};
    border-radius: 10px; }}
QLabel#roleLabel {{ color: {muted}; font-weight: 600; }}
QLabel#statusBadge {{ color: {error}; font-size: 11px; }}
QLabel#errorLabel {{ color: {error}; }}
QFrame#errorBanner {{ background: {error_bg}; border: 1px solid {error}; border-radius: 8px; }}
QFrame#errorBanner QLabel {{ color: {error}; }}
QPushButton#suggestion {{ background: {chip}; border: 1px solid {border}; border-radius: 14px;
    padding: 5px 12px; color: {text}; text-align: left; }}
QPlainTextEdit#composerEdit {{ border: 1px solid {border}; border-radius: 8px; padding: 6px;
    background: {window}; }}
QLabel#chatTitle {{ font-size: 15px; font-weight: 600; }}
QLabel#mutedLabel {{ color: {muted}; }}
QToolButton#messageAction {{ color: {muted}; border: none; padding: 2px 6px; }}
QToolButton#messageAction:hover {{ color: {text}; background: {chip}; border-radius: 4px; }}
"""


def is_dark(theme: str) -> bool:
    if theme == "dark":
        return True
    if theme == "light":
        return False
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str, font_size: int = 0) -> bool:
    """Apply the theme to the whole app; returns whether it is dark."""
    dark = is_dark(theme)
    colors = COLORS["dark" if dark else "light"]
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(colors["window"]))
    palette.setColor(QPalette.ColorRole.Base, QColor(colors["window"]))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor(colors["sidebar"]))
    palette.setColor(QPalette.ColorRole.Text, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.Button, QColor(colors["chip"]))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(colors["accent"]))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(colors["accent_text"]))
    palette.setColor(QPalette.ColorRole.Link, QColor(colors["accent"]))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(colors["muted"]))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(colors["sidebar"]))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(colors["text"]))
    app.setPalette(palette)
    app.setStyleSheet(STYLE.format(**colors))
    if font_size:
        font = QFont(app.font())
        font.setPointSize(font_size)
        app.setFont(font)
    return dark

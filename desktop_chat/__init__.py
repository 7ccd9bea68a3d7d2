"""desktop_chat: a desktop chat client for OpenAI and every OpenAI-compatible endpoint."""

from importlib.metadata import PackageNotFoundError, version

APP_NAME = "desktop_chat"
APP_DISPLAY_NAME = "Desktop Chat"
ORGANIZATION = "desktop_chat"

try:
    __version__ = version("desktop_chat")
except PackageNotFoundError:  # running from a source tree or a frozen bundle
    __version__ = "0.1.0"

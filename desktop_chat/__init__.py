"""desktop_chat: a desktop chat client for OpenAI and every OpenAI-compatible endpoint."""

# The one place the version is written (pyproject.toml reads it): a literal, because asking
# importlib.metadata costs 20 ms of start-up and fails in a frozen bundle.
__version__ = "0.1.0"

APP_NAME = "desktop_chat"
APP_DISPLAY_NAME = "Desktop Chat"
ORGANIZATION = "desktop_chat"

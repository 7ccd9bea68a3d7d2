"""The Manage window (conversations, providers, statistics, live activity)."""

from desktop_chat.ui.manage.window import MANAGE_ACTION, ManageWindow, open_manage_window

__all__ = ["MANAGE_ACTION", "ManageWindow", "open_manage_window"]

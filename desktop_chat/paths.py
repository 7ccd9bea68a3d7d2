"""Where the app keeps its files.

Everything lives under the platform's user directories, unless `DESKTOP_CHAT_HOME`
names one folder that holds all of it: tests point it at a temporary directory and a
portable install points it next to the executable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from desktop_chat import APP_NAME

HOME_ENV = "DESKTOP_CHAT_HOME"


@dataclass(frozen=True)
class AppPaths:
    """The folders of one installation; created on first use with owner-only access."""

    data: Path
    config: Path
    logs: Path

    @property
    def database(self) -> Path:
        return self.data / "conversations.sqlite3"

    @property
    def journal(self) -> Path:
        return self.data / "journal"

    @property
    def session_keys(self) -> Path:
        """The names (never the keys) of keys kept for one session only: engine.session_keys."""
        return self.data / "session_keys.json"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def log_file(self) -> Path:
        return self.logs / "desktop_chat.log"

    def ensure(self) -> AppPaths:
        for folder in (self.data, self.config, self.logs, self.journal):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def default_paths() -> AppPaths:
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return AppPaths(data=root / "data", config=root / "config", logs=root / "logs")
    return AppPaths(
        data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )

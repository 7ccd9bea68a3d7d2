"""Where the app keeps its files.

Everything lives under the platform's user directories, unless `DESKTOP_CHAT_HOME`
names one folder that holds all of it: tests point it at a temporary directory and a
portable install points it next to the executable. A data folder the user moved elsewhere
(Settings, store/relocation.py) is remembered in the config folder, which never moves.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from desktop_chat import APP_NAME

HOME_ENV = "DESKTOP_CHAT_HOME"
LOCATION_FILE = "data_folder.json"

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class DataLocation:
    """Where the data folder was moved, and what a move left to decide.

    `data`: the folder in use when the user moved it (None: the default place);
    `previous`: the folder it was moved from, kept until the user deletes it;
    `planned`: where the next start moves it; `failure`: why the last planned move
    did not happen, told in Settings until the user plans again.
    """

    data: Path | None = None
    previous: Path | None = None
    planned: Path | None = None
    failure: str | None = None


def location_file(config: Path) -> Path:
    return config / LOCATION_FILE


def read_location(config: Path) -> DataLocation:
    """What the location file says; an unreadable one is logged and read as the default."""
    try:
        raw = json.loads(location_file(config).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DataLocation()
    except (OSError, ValueError) as exc:
        log.warning("Ignoring %s: %s", location_file(config), exc)
        return DataLocation()
    folders = {
        key: Path(raw[key]) if raw.get(key) else None for key in ("data", "previous", "planned")
    }
    failure = raw.get("failure")
    return DataLocation(**folders, failure=failure if isinstance(failure, str) else None)


def write_location(config: Path, location: DataLocation) -> None:
    """Replace the location file in one step, so a crash leaves the old or the new one."""
    config.mkdir(parents=True, exist_ok=True, mode=0o700)
    fields = {
        "data": location.data,
        "previous": location.previous,
        "planned": location.planned,
        "failure": location.failure,
    }
    text = json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in fields.items()})
    target = location_file(config)
    incoming = target.with_name(f".{target.name}.new")
    fd = os.open(incoming, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(incoming, target)


def default_paths() -> AppPaths:
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        paths = AppPaths(data=root / "data", config=root / "config", logs=root / "logs")
    else:
        paths = AppPaths(
            data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )
    moved = read_location(paths.config).data
    return replace(paths, data=moved) if moved else paths

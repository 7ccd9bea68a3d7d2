"""User settings: a small JSON file validated by pydantic.

A broken or hand-edited file must never stop the app from starting, so loading falls back
to defaults (keeping the bad file aside) rather than raising.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from desktop_chat.appearance import Theme

log = logging.getLogger(__name__)

# Replies streaming at once, over all conversations: the local API may serve a hundred
# conversations at a time; a local model server usually wants far fewer.
MAX_CONCURRENT_REQUESTS = 256


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    max_concurrent_requests: int = Field(default=4, ge=1, le=MAX_CONCURRENT_REQUESTS)
    request_timeout: float = Field(default=60.0, gt=0, le=3600)
    http_proxy: str | None = None
    auto_title: bool = True
    theme: Theme = "system"
    font_size: int = Field(default=0, ge=0, le=48)
    language: str = "system"
    default_agent_id: str | None = None
    api_enabled: bool = False
    api_port: int = Field(default=8765, ge=1024, le=65535)
    backup_every_hours: int = Field(default=24, ge=0, le=8760)  # 0: no scheduled backups
    backups_kept: int = Field(default=7, ge=1, le=1000)
    # Attachments: the most one file and one message may carry, and the longest side an
    # image is scaled down to before it is kept and sent.
    attachment_max_file_mb: int = Field(default=20, ge=1, le=1024)
    attachment_max_message_mb: int = Field(default=50, ge=1, le=4096)
    attachment_max_files: int = Field(default=10, ge=1, le=100)
    image_max_side: int = Field(default=2048, ge=64, le=16384)
    tool_rounds: int = Field(default=10, ge=1, le=100)  # tool rounds per reply at most
    tool_timeout: float = Field(default=60.0, gt=0, le=3600)  # seconds per tool call
    tools_always_allowed: list[str] = Field(default_factory=list)  # "server/tool" keys


def load_settings(path: Path) -> Settings:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError:
        log.exception("Cannot read settings from %s; using defaults", path)
        return Settings()
    try:
        return Settings.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        backup = path.with_suffix(".invalid.json")
        log.warning("Settings file %s is invalid; kept as %s, using defaults", path, backup)
        path.replace(backup)
        return Settings()


def save_settings(path: Path, settings: Settings) -> None:
    """Write atomically so that a crash mid-write never leaves half a file.

    Owner-only whatever the umask: the proxy setting can carry a user name and password.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(settings.model_dump_json(indent=2))
    os.replace(tmp, path)

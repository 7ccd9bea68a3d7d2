"""The theme setting, readable before pydantic loads.

The first frame of the window must be painted in the user's theme, and loading pydantic
(which `desktop_chat.settings` needs) takes about 70 ms: most of a start-up budget. So the
first frame reads only this one field here; the full settings load right after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args

Theme = Literal["system", "light", "dark"]


def read_theme(settings_file: Path) -> Theme:
    """The theme the settings file asks for; "system" when it is missing or unreadable.

    A broken file is not reported here: `load_settings` does that a moment later.
    """
    try:
        value = json.loads(settings_file.read_text(encoding="utf-8")).get("theme")
    except (OSError, ValueError, AttributeError):
        return "system"
    return value if value in get_args(Theme) else "system"

"""How the Manage window writes numbers, times and owners: one place, so tabs agree."""

from __future__ import annotations

from datetime import UTC, datetime

from desktop_chat.engine.api_tokens import token_of
from desktop_chat.ui.i18n import t

DASH = "—"


def owner_label(owner: str) -> str:
    """'window' for the window's own conversations, else the API token that created them."""
    if owner == "local":
        return t("window")
    return token_of(owner)


def when(moment: datetime | None) -> str:
    """A stored time, in the user's time zone, to the minute."""
    if moment is None:
        return DASH
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def millis(value: float | None) -> str:
    """Milliseconds under a second, seconds with one decimal above."""
    if value is None:
        return DASH
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.1f} s"


def money(value: float | None) -> str:
    """Small sums keep four decimals: a day of a cheap model costs fractions of a cent."""
    if value is None:
        return DASH
    return f"{value:,.2f}" if value >= 100 else f"{value:,.4f}"


def compact(value: float) -> str:
    """Axis labels: 950, 1.2k, 3.4M."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            text = f"{value / limit:.1f}".removesuffix(".0")
            return text + suffix
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"

"""What the usage table says: one record per request upstream, and the figures over them.

Replies, titles and the gateway each write a record as they end; the Manage window and
`/api/stats` read them here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from desktop_chat.schemas import UsageRecord, UsageStats
from desktop_chat.store import Store


class UsageService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def stats(self, owner: str | None = None, days: int = 30) -> UsageStats:
        """Counts over all time; latency and per-day figures over the last `days` days."""
        from desktop_chat.engine import stats  # only the statistics page needs it

        now = datetime.now(UTC)
        since = stats.recent_period_start(days, now)
        totals, records = await self._store.run(
            lambda r: (r.usage.stats(owner), r.usage.list(since, owner))
        )
        # Medians sort every request of the period: keep that off the event loop.
        return await asyncio.to_thread(stats.with_recent, totals, records, days, now)

    async def records(self, since: datetime | None = None) -> list[UsageRecord]:
        """One record per request sent upstream, oldest first, for statistics."""
        return await self._store.run(lambda r: r.usage.list(since))

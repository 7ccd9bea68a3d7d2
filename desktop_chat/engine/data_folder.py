"""The data folder as Settings shows it: where it is, and moving it at the next start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from desktop_chat.paths import AppPaths, DataLocation, read_location
from desktop_chat.store.relocation import cancel_move, delete_previous, plan_move

__all__ = ["DataFolder", "DataLocation"]


class DataFolder:
    def __init__(self, paths: AppPaths) -> None:
        self.paths = paths

    @property
    def current(self) -> Path:
        return self.paths.data

    def location(self) -> DataLocation:
        """What is planned or left over from a move (one small file is read)."""
        return read_location(self.paths.config)

    async def plan_move(self, target: Path) -> Path:
        """Check the destination (it may be a slow disk) and plan the move."""
        return await asyncio.to_thread(plan_move, self.paths, target)

    def cancel_move(self) -> None:
        cancel_move(self.paths)

    async def delete_previous(self) -> Path | None:
        return await asyncio.to_thread(delete_previous, self.paths)

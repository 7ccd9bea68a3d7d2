"""Two programs opening one database at the same moment: both open it, neither is refused.

Processes, not threads: the race is in SQLite's file locks, where two starts (the window
and the command line, or two windows) meet. A database in the old journal mode (an old
release's file, a restored backup) is switched to write-ahead logging by whoever opens it
first; two starts switching at once deadlock, and SQLite fails one of them at once.
"""

from __future__ import annotations

import multiprocessing
import shutil
from multiprocessing.synchronize import Barrier
from pathlib import Path

from desktop_chat.store import migrations, open_repository

OLD_DATABASE = Path(__file__).parent / "fixtures" / "schema_v1.sqlite3"
ROUNDS = 12


def open_each_at_once(databases: list[str], barrier: Barrier) -> list[str]:
    """Open every database when the other process opens it too; what went wrong, in words."""
    problems = []
    for database in databases:
        barrier.wait(timeout=30)
        try:
            open_repository(Path(database)).db.close()
        except Exception as exc:  # reported to the test, which fails on it
            problems.append(f"{database}: {exc!r}")
    return problems


def test_two_programs_opening_an_old_database_at_once_both_open_it(tmp_path: Path) -> None:
    databases = []
    for round_number in range(ROUNDS):
        database = tmp_path / f"{round_number}" / "conversations.sqlite3"
        database.parent.mkdir()
        shutil.copyfile(OLD_DATABASE, database)
        databases.append(str(database))
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, spawn.Pool(2) as pool:
        barrier = manager.Barrier(2)
        results = [pool.apply_async(open_each_at_once, (databases, barrier)) for _ in range(2)]
        problems = [problem for result in results for problem in result.get(timeout=120)]
    assert problems == []
    for database in databases:
        assert open_repository(Path(database)).db.execute_sql(
            "SELECT MAX(version) FROM schema_version"
        ).fetchone() == (migrations.LATEST,)

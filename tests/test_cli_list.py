"""`desktop-chat list`: a page by default, the rest on request, streamed in batches."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_chat.commands.conversations import LIST_BATCH
from tests.test_cli import cli, with_core

DEFAULT = 50  # the page `desktop-chat list` shows without options


@pytest.fixture
def created(home: Path) -> list[str]:
    """More conversations than a batch of `list` reads, newest first as the list shows."""

    async def make(core) -> list[str]:
        made = [
            await core.service.create_conversation(title=f"Topic {i}")
            for i in range(LIST_BATCH + 7)
        ]
        listed = await core.service.list_conversations()
        assert {c.id for c in listed} == {c.id for c in made}
        return [c.id for c in listed]

    return with_core(make)


def ids(stdout: str) -> list[str]:
    return [line.split("\t")[0] for line in stdout.splitlines()]


def test_list_shows_the_newest_page_and_says_how_to_see_more(created: list[str]) -> None:
    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert ids(listed.stdout) == created[:DEFAULT]
    assert f"--offset {DEFAULT}" in listed.stderr and "--all" in listed.stderr


def test_limit_and_offset_page_through_without_gaps_or_repeats(created: list[str]) -> None:
    first = cli("list", "--limit", "3")
    second = cli("list", "--limit", "3", "--offset", "3")
    assert ids(first.stdout) == created[:3]
    assert ids(second.stdout) == created[3:6]
    assert "--offset 6" in second.stderr
    last = cli("list", "--limit", "10", "--offset", str(len(created) - 4))
    assert ids(last.stdout) == created[-4:]
    assert last.stderr == "", "the last page must not promise more"


def test_all_lists_every_conversation_across_batches(created: list[str]) -> None:
    listed = cli("list", "--all")
    assert listed.returncode == 0, listed.stderr
    assert ids(listed.stdout) == created  # more than one batch, in order, none twice
    assert listed.stderr == ""


def test_a_limit_larger_than_a_batch_is_read_in_batches(created: list[str]) -> None:
    listed = cli("list", "--limit", str(LIST_BATCH + 2))
    assert ids(listed.stdout) == created[: LIST_BATCH + 2]
    assert f"--offset {LIST_BATCH + 2}" in listed.stderr


@pytest.mark.parametrize("args", [["--limit", "-1"], ["--offset", "x"], ["--all", "--limit", "3"]])
def test_bad_paging_options_are_usage_errors(args: list[str]) -> None:
    listed = cli("list", *args)
    assert listed.returncode == 2
    assert listed.stdout == ""


def test_an_empty_database_lists_nothing_and_says_nothing(home: Path) -> None:
    listed = cli("list")
    assert (listed.returncode, listed.stdout, listed.stderr) == (0, "", "")

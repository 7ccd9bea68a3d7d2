"""Moving the data folder (#18): planned in Settings, made by the next start, checked, and
the old folder kept until the user deletes it; nothing lost however it ends.
"""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from desktop_chat.app import Core
from desktop_chat.paths import default_paths, read_location
from desktop_chat.secrets import SecretStore
from desktop_chat.store import StoreError
from desktop_chat.store.relocation import apply_planned_move, delete_previous, plan_move
from tests.fake_openai import FakeOpenAI, Scenario
from tests.gui_support import CoreOnLoop, click, wait_until
from tests.test_backups import exported
from tests.test_cli import add_agent, cli
from tests.test_gui_settings import DialogOnLoop, answer


def chat(fake: FakeOpenAI, question: str, tokens: list[str]) -> None:
    fake.scenario = Scenario(tokens=tokens)
    done = cli("ask", question)
    assert done.returncode == 0, done.stderr


def test_a_planned_move_happens_at_the_next_start_and_keeps_the_old_folder(
    home: Path, fake: FakeOpenAI, tmp_path: Path
) -> None:
    add_agent(fake.base_url)
    chat(fake, "Hello 你好", ["Bonjour ", "🍕"])
    before = exported()
    old = default_paths().data
    (old / "backups").mkdir(exist_ok=True)
    (old / "backups" / "note.bin").write_bytes(bytes(range(256)))
    target = tmp_path / "elsewhere" / "Chats"

    assert plan_move(default_paths(), target) == target
    assert default_paths().data == old  # nothing moves under a running app

    chat(fake, "Still here?", ["Yes."])  # this start makes the move, then asks
    assert default_paths().data == target
    assert (target / "conversations.sqlite3").exists()
    assert stat.S_IMODE((target / "conversations.sqlite3").stat().st_mode) == 0o600
    assert (target / "backups" / "note.bin").read_bytes() == bytes(range(256))
    after = json.loads(exported())["conversations"]
    for conversation in json.loads(before)["conversations"]:
        assert conversation in after  # byte for byte, as a person can see them
    assert "Still here?" in json.dumps(after, ensure_ascii=False)
    location = read_location(default_paths().config)
    assert (location.previous, location.planned, location.failure) == (old, None, None)
    assert (old / "conversations.sqlite3").exists()  # kept until the user deletes it

    assert delete_previous(default_paths()) == old
    assert not old.exists()
    assert read_location(default_paths().config).previous is None
    assert "Still here?" in exported()


@pytest.mark.parametrize(
    ("where", "words"),
    [
        (lambda data, tmp: Path("relative/folder"), "full folder path"),
        (lambda data, tmp: data, "is the data folder already"),
        (lambda data, tmp: data / "inside", "cannot be inside"),
        (lambda data, tmp: data.parent, "cannot be inside the current one, nor hold it"),
        (lambda data, tmp: Path(__file__), "not an empty folder"),
    ],
)
def test_a_destination_that_cannot_take_the_data_is_refused_in_words(
    paths, tmp_path: Path, where, words: str
) -> None:
    with pytest.raises(StoreError) as refused:
        plan_move(paths, where(paths.data, tmp_path))
    assert words in refused.value.user_message
    assert read_location(paths.config).planned is None


def test_a_move_waits_while_another_process_has_the_data_open(paths, tmp_path: Path) -> None:
    async def scenario() -> None:
        core = await Core.open(paths, SecretStore(use_keyring=False))
        try:
            plan_move(paths, tmp_path / "new")
            assert apply_planned_move(paths) == paths  # the open store holds it
            assert read_location(paths.config).planned == tmp_path / "new"
            assert not (tmp_path / "new").exists()
        finally:
            await core.aclose()

    asyncio.run(scenario())
    assert apply_planned_move(paths).data == tmp_path / "new"


def test_a_move_that_cannot_be_made_leaves_everything_and_says_why(paths, tmp_path: Path) -> None:
    target = tmp_path / "new"
    plan_move(paths, target)
    target.mkdir()
    (target / "mine.txt").write_text("the user's own file")  # put there after planning

    assert apply_planned_move(paths) == paths

    assert (target / "mine.txt").read_text() == "the user's own file"  # never removed
    location = read_location(paths.config)
    assert location.planned is None and location.data is None
    assert location.failure is not None
    assert "was not moved" in location.failure and str(paths.data) in location.failure
    assert default_paths().data == paths.data


def picker() -> QFileDialog | None:
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog)]
    return next((d for d in dialogs if d.isVisible()), None)


@pytest.mark.asyncio
async def test_the_data_tab_plans_cancels_and_cleans_up_a_move(
    qapp, paths, secrets, agent, tmp_path: Path
):
    target = tmp_path / "Chats"
    target.mkdir()  # made with the picker's New Folder button, say: empty, so accepted
    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        bar = dialog.tabs.tabBar()
        QTest.mouseClick(
            bar,
            Qt.MouseButton.LeftButton,
            pos=bar.tabRect(dialog.tabs.indexOf(dialog.data_tab)).center(),
        )
        page = dialog.data_tab
        assert dialog.tabs.currentWidget() is page
        assert str(paths.data) in page.where.text()
        assert not page.cancel_button.isVisibleTo(page)

        click(page.move_button)
        await wait_until(picker, what="the folder picker")
        box = picker()
        assert box is not None
        box.selectFile(str(target))
        box.accept()
        await wait_until(lambda: page.cancel_button.isVisibleTo(page), what="the plan")
        assert str(target) in page.plan.text()
        assert read_location(paths.config).planned == target

        click(page.cancel_button)
        assert read_location(paths.config).planned is None
        assert page.plan.text() == ""

        page.plan_move(str(paths.data / "inside"))
        await wait_until(lambda: page.error.text(), what="the refusal")
        assert "cannot be inside" in page.error.text()

    plan_move(paths, target)
    moved = apply_planned_move(paths)
    async with CoreOnLoop(moved, secrets, None) as core, DialogOnLoop(core) as dialog:
        page = dialog.data_tab
        assert str(paths.data) in page.previous.text()
        click(page.delete_button)
        await answer("Delete")
        await wait_until(lambda: not paths.data.exists(), what="the old folder deleted")
        await wait_until(lambda: not page.delete_button.isVisibleTo(page), what="refreshed")

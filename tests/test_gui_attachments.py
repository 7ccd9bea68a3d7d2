"""Attachments in the window: a drop on the window, a paste in the composer, the chips,
Enter sending them, thumbnails in the chat, and the Vision checkbox."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from desktop_chat.engine.attachments import from_bytes
from tests.attachment_files import png
from tests.gui_support import CoreOnLoop, WindowOnLoop, click, press, type_text, wait_until
from tests.helpers import EventLog
from tests.test_gui_context_editor import loaded, open_editor, replace_text
from tests.test_gui_settings import DialogOnLoop


def _drop(window, mime: QMimeData) -> bool:
    """Drag `mime` over the window and drop it, as the platform delivers a real drop."""
    point = QPoint(window.width() // 2, window.height() // 2)
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(
        QPointF(point), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, drop)
    return drop.isAccepted()


@pytest.mark.asyncio
async def test_drop_files_on_the_window_and_send_them_with_enter(
    qapp, paths, secrets, agent, fake, tmp_path: Path
):
    image, notes = tmp_path / "dot.png", tmp_path / "notes.txt"
    image.write_bytes(png(200, 100))
    notes.write_text("shopping list", encoding="utf-8")
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None, what="a conversation opens")
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(image)), QUrl.fromLocalFile(str(notes))])

        assert _drop(window, mime)

        tray = window.composer.tray
        await wait_until(lambda: len(tray.chips()) == 2, what="both files are read")
        assert tray.isVisible()
        labels = [chip.label.text() for chip in tray.chips()]
        assert labels == [f"dot.png · {len(png(200, 100))} bytes", "notes.txt · 13 bytes"]
        assert tray.chips()[0].findChild(type(tray.chips()[0].label), "chipThumbnail") is not None
        click(tray.chips()[1].remove_button)  # removable
        await wait_until(lambda: len(tray.files()) == 1, what="the chip goes")

        type_text(window.composer.edit, "What is this?")
        press(window.composer.edit, Qt.Key.Key_Return)
        await wait_until(lambda: fake.requests, what="the request")
        await wait_until(lambda: not window.composer.busy, what="the reply ends")

        content = fake.requests[-1]["body"]["messages"][-1]["content"]
        assert content == [
            {"type": "text", "text": "What is this?"},
            {
                "type": "image_url",
                "image_url": {
                    "url": "data:image/png;base64," + base64.b64encode(png(200, 100)).decode()
                },
            },
        ]
        assert not tray.isVisible() and tray.files() == []
        shown = window.chat.message_widgets[0]
        assert shown.attachments is not None
        [button] = shown.attachments.buttons
        assert not button.picture.isNull()  # a thumbnail, not just a name


@pytest.mark.asyncio
async def test_paste_an_image_and_a_bad_file_says_why(qapp, paths, secrets, agent, fake, tmp_path):
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None, what="a conversation opens")
        image = QImage(30, 20, QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.green)
        QGuiApplication.clipboard().setImage(image)
        window.composer.edit.setFocus()

        press(window.composer.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)

        tray = window.composer.tray
        await wait_until(lambda: len(tray.files()) == 1, what="the pasted image")
        pasted = tray.files()[0].meta
        assert (pasted.name, pasted.kind, pasted.mime) == ("pasted image.png", "image", "image/png")
        assert window.composer.text() == ""  # the image is not pasted as text

        empty = tmp_path / "empty.txt"
        empty.write_bytes(b"")
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(empty))])
        _drop(window, mime)
        await wait_until(window.banner.isVisible, what="the refusal")
        assert "empty.txt cannot be attached: the file is empty." in window.banner.label.text()
        assert len(tray.files()) == 1


@pytest.mark.asyncio
async def test_the_agent_form_sets_vision(qapp, paths, secrets, agent):
    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        form = dialog.agents_tab.form
        assert form.current is not None and form.vision.isChecked()  # an OpenAI agent
        form.vision.click()  # the box is as wide as the form: its centre is not the box
        assert not form.vision.isChecked()
        click(form.save_button)
        await wait_until(lambda: form.status.text() or form.error.text(), what="the form answers")
        assert not (await core.service.get_agent(agent.agent_id)).vision


@pytest.mark.asyncio
async def test_the_context_editor_lists_files_and_keeps_them_on_apply(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        conv = await core.service.create_conversation()
        log = EventLog(core.service, conv.id)
        await core.service.send(conv.id, "See", attachments=[from_bytes("n.txt", b"x" * 40)])
        await log.done(conv.id)
        await loaded(editor, conv.id, 3)

        question = editor.entries[1]
        assert question.files_label is not None
        assert (
            question.files_label.text() == "Files: n.txt · about 16 tokens"
        )  # (22 + 40) / 4, rounded up
        assert editor.entries[2].files_label is None

        replace_text(question.edit, "See this")
        applied: list[bool] = []
        editor.applied.connect(lambda: applied.append(True))
        click(editor.apply_button)
        await wait_until(lambda: applied, what="Apply finishes")
        [stored, _] = (await core.service.get_conversation(conv.id)).messages
        assert (stored.content, [a.name for a in stored.attachments]) == ("See this", ["n.txt"])


@pytest.mark.asyncio
async def test_the_image_side_is_a_setting_the_next_file_follows(
    qapp, paths, secrets, agent, tmp_path
):
    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        page = dialog.general_tab
        assert (page.max_file.value(), page.image_side.value()) == (20, 2048)
        replace_text(page.image_side, "100")
        click(page.save_button)
        await wait_until(lambda: core.settings.image_max_side == 100, what="applied")
        assert core.service.config.attachments.max_image_side == 100
        async with WindowOnLoop(core) as window:
            image = tmp_path / "big.png"
            image.write_bytes(png(400, 200))
            window.composer.tray.add_paths([image])
            await wait_until(lambda: window.composer.tray.files(), what="the file is read")
            scaled = QImage.fromData(window.composer.tray.files()[0].data)
            assert (scaled.width(), scaled.height()) == (100, 50)


@pytest.mark.asyncio
async def test_files_wait_in_the_conversation_they_were_added_in(
    qapp, paths, secrets, agent, fake, tmp_path
):
    notes = tmp_path / "notes.txt"
    notes.write_text("private", encoding="utf-8")
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None, what="a conversation opens")
        first = window.session.current_id
        tray = window.composer.tray
        tray.add_paths([notes])
        await wait_until(lambda: tray.files(), what="the file is read")

        window.new_conversation()
        await wait_until(lambda: window.session.current_id != first, what="a new conversation")
        assert tray.files() == [] and not tray.isVisible()

        window.open_conversation(first)
        await wait_until(lambda: tray.files(), what="the file is back")
        assert [f.meta.name for f in tray.files()] == ["notes.txt"]


@pytest.mark.asyncio
async def test_enter_sends_as_soon_as_the_file_shows(qapp, tmp_path: Path):
    """The chip shows in the last step of reading; the read is over from then, even in
    the loop pass before its task's callbacks run (Enter there used to do nothing)."""
    from desktop_chat.ui.composer import Composer

    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list", encoding="utf-8")
    composer = Composer()
    sent: list[str] = []
    composer.send.connect(sent.append)
    composer.show()
    type_text(composer.edit, "Buy these")
    composer.tray.add_paths([notes])
    deadline = asyncio.get_running_loop().time() + 10
    while not composer.tray.chips():  # each pass of the loop, where a key press may land
        assert asyncio.get_running_loop().time() < deadline, "the file was never read"
        await asyncio.sleep(0)

    press(composer.edit, Qt.Key.Key_Return)

    assert sent == ["Buy these"]

"""Attachments: reading files into what a message carries, and keeping them in the store."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from desktop_chat.engine.attachments import (
    AttachmentError,
    Limits,
    check_message,
    from_bytes,
    read_file,
)
from desktop_chat.schemas import Conversation, Message
from desktop_chat.store import Store
from desktop_chat.store.database import repair_search_index
from tests.attachment_files import bmp, gif, jpeg, pdf, png


def _refusal(make: object) -> str:
    with pytest.raises(AttachmentError) as caught:
        make()  # type: ignore[operator]
    return caught.value.user_message


def test_images_keep_their_kind_and_are_scaled_to_the_longest_side() -> None:
    small = from_bytes("photo.jpg", jpeg())
    assert (small.meta.kind, small.meta.mime) == ("image", "image/jpeg")
    assert small.data == jpeg()  # small enough: the bytes as they came

    big = from_bytes("wide.png", png(3000, 1000), Limits(max_image_side=600))
    with Image.open(io.BytesIO(big.data)) as scaled:
        assert scaled.size == (600, 200)
    assert big.meta.sha256 == hashlib.sha256(big.data).hexdigest()
    assert big.meta.size == len(big.data)


def test_a_gif_is_sent_as_the_png_of_its_first_frame() -> None:
    made = from_bytes("anim.gif", gif())
    assert (made.meta.name, made.meta.mime) == ("anim.png", "image/png")
    with Image.open(io.BytesIO(made.data)) as first:
        assert first.format == "PNG" and getattr(first, "n_frames", 1) == 1


def test_text_and_pdf_become_their_text() -> None:
    text = from_bytes("notes.md", "# Titre\nété ✓\n".encode())
    assert (text.meta.kind, text.meta.text) == ("text", "# Titre\nété ✓\n")
    bom16 = from_bytes("w.txt", "hello".encode("utf-16"))
    assert bom16.meta.text == "hello"
    document = from_bytes("report.pdf", pdf("Quarterly numbers"))
    assert (document.meta.kind, document.meta.mime) == ("pdf", "application/pdf")
    assert document.meta.text == "Quarterly numbers"


def test_bad_files_are_refused_with_a_sentence_naming_them(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2048)
    locked = tmp_path / "locked.txt"
    locked.write_text("secret")
    locked.chmod(0)
    sentences = {
        "missing": _refusal(lambda: read_file(tmp_path / "gone.txt")),
        "folder": _refusal(lambda: read_file(tmp_path)),
        "empty": _refusal(lambda: read_file(empty)),
        "large": _refusal(lambda: read_file(big, Limits(max_file_bytes=1024))),
        "corrupt": _refusal(lambda: from_bytes("cat.png", png()[:40])),
        "bmp": _refusal(lambda: from_bytes("old.bmp", bmp())),
        "latin1": _refusal(lambda: from_bytes("old.txt", "café".encode("latin-1"))),
        "binary": _refusal(lambda: from_bytes("tool.exe", b"MZ\0\0\x90" * 20)),
        "pdf": _refusal(lambda: from_bytes("broken.pdf", b"%PDF-1.4 nothing else")),
    }
    assert "gone.txt" in sentences["missing"] and "no such file" in sentences["missing"]
    assert "is a folder" in sentences["folder"]
    assert "empty.txt" in sentences["empty"] and "empty" in sentences["empty"]
    assert "2 KB" in sentences["large"] and "1 KB" in sentences["large"]
    assert "cat.png" in sentences["corrupt"] and "damaged" in sentences["corrupt"]
    assert "BMP images are not supported" in sentences["bmp"]
    assert "not UTF-8" in sentences["latin1"]
    assert "tool.exe" in sentences["binary"] and "PDFs" in sentences["binary"]
    assert "broken.pdf" in sentences["pdf"]
    if os.geteuid() != 0:  # root reads any file
        assert "cannot be read" in _refusal(lambda: read_file(locked))


def test_a_message_has_limits_in_count_and_size() -> None:
    files = [from_bytes(f"{i}.txt", b"x" * 600) for i in range(3)]
    check_message(files, Limits())
    assert "at most 2 files" in _refusal(lambda: check_message(files, Limits(max_files=2)))
    too_big = _refusal(lambda: check_message(files, Limits(max_message_bytes=1024)))
    assert "2 KB together" in too_big


@pytest.mark.asyncio
async def test_files_are_kept_once_owner_only_and_go_with_the_last_message(
    store: Store,
) -> None:
    made = from_bytes("notes.txt", b"zebra crossing manual")
    blob = {made.meta.sha256: made.data}
    convs = [
        await store.run(lambda r, t=t: r.conversations.create(Conversation(title=t)))
        for t in ("a", "b")
    ]
    written = []
    for conv in convs:
        message = Message(role="user", content="see file", attachments=[made.meta])
        written.append(
            await store.run(lambda r, c=conv, m=message: r.messages.append(c.id, m, blobs=blob))
        )
    folder = store.path.parent / "files"
    path = folder / made.meta.sha256
    assert path.read_bytes() == made.data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [f.name for f in folder.iterdir()] == [made.meta.sha256]  # one copy

    again = await store.run(lambda r: r.messages.list(convs[0].id))
    assert again[0].attachments == [made.meta]
    assert again[0].attachments[0].text == "zebra crossing manual"
    found = await store.run(lambda r: r.conversations.list(query="zebra"))
    assert {c.id for c in found} == {convs[0].id, convs[1].id}

    await store.run(lambda r: r.messages.delete(convs[0].id, written[0].id))
    assert path.exists()  # the other conversation still uses it
    await store.run(lambda r: r.conversations.delete(convs[1].id))
    assert not path.exists()


@pytest.mark.asyncio
async def test_a_repaired_search_index_still_finds_attached_text(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    made = from_bytes("notes.txt", b"zebra crossing manual")
    store = await Store.open(path)
    try:
        conv = await store.run(lambda r: r.conversations.create(Conversation(title="t")))
        message = Message(role="user", content="see file", attachments=[made.meta])
        await store.run(
            lambda r: r.messages.append(conv.id, message, blobs={made.meta.sha256: made.data})
        )
    finally:
        await store.close()

    assert repair_search_index(path) == 1

    store = await Store.open(path)
    try:
        found = await store.run(lambda r: r.conversations.list(query="zebra"))
    finally:
        await store.close()
    assert [c.id for c in found] == [conv.id]

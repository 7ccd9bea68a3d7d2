"""`desktop-chat ask --attach` and `agents add|edit --vision` as subprocesses."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from desktop_chat.schemas import Agent
from desktop_chat.transfer import export_json
from tests.attachment_files import png
from tests.fake_openai import FakeOpenAI
from tests.test_cli import add_agent, cli, conversations, with_core


def test_ask_attaches_files_and_stores_them(tmp_path: Path, fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    image, notes = tmp_path / "dot.png", tmp_path / "notes.txt"
    image.write_bytes(png())
    notes.write_text("shopping list", encoding="utf-8")

    result = cli("ask", "--attach", str(image), "--attach", str(notes), "What is this?")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello, world!"
    [chat] = [r["body"] for r in fake.requests if r["body"].get("stream")]  # not the title's
    content = chat["messages"][-1]["content"]
    assert content == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(png()).decode()},
        },
        {"type": "text", "text": "Attached file notes.txt:\n\nshopping list"},
    ]
    [stored] = conversations()
    assert [a.name for a in stored.messages[0].attachments] == ["dot.png", "notes.txt"]


def test_bad_files_and_blind_agents_exit_2_with_a_sentence(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    folder_result = cli("ask", "--attach", str(tmp_path), "Hi")
    missing_result = cli("ask", "--attach", str(tmp_path / "nope.txt"), "Hi")
    image = tmp_path / "dot.png"
    image.write_bytes(png())
    blind = cli("agents", "edit", "Fake", "--no-vision")
    assert blind.returncode == 0, blind.stderr
    blind_result = cli("ask", "--attach", str(image), "Hi")

    for result, words in (
        (folder_result, "is a folder"),
        (missing_result, "nope.txt cannot be attached: there is no such file."),
        (blind_result, "Fake does not read images"),
    ):
        assert result.returncode == 2, result.stderr
        assert words in result.stderr
        assert "Traceback" not in result.stderr
    assert fake.requests == []
    assert conversations() == []


def test_agents_add_and_edit_set_vision(fake: FakeOpenAI) -> None:
    added = cli(
        "agents",
        "add",
        "--name",
        "Llava",
        "--base-url",
        fake.base_url,
        "--model",
        "llava",
        "--provider",
        "ollama",
    )
    assert added.returncode == 0, added.stderr

    def vision() -> bool:
        agent: Agent = with_core(lambda core: core.service.get_agent("Llava"))
        return agent.vision

    assert vision() is False  # guessed from the provider
    assert cli("agents", "edit", "Llava", "--vision").returncode == 0
    assert vision() is True
    assert cli("agents", "edit", "Llava", "--model", "llava:13b").returncode == 0
    assert vision() is True  # kept when something else changes


def test_a_backup_keeps_the_files_and_a_restore_puts_them_back(
    home: Path, tmp_path: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    image = tmp_path / "dot.png"
    image.write_bytes(png())
    assert cli("ask", "--attach", str(image), "Look").returncode == 0
    before = export_json(with_core(lambda core: core.service.export()))
    made = cli("backup")
    assert made.returncode == 0, made.stderr
    stored = home / "data" / "files" / hashlib.sha256(png()).hexdigest()
    assert stored.exists()

    [conversation] = conversations()
    with_core(lambda core: core.service.delete_conversation(conversation.id))
    assert not stored.exists()  # its last message went
    restored = cli("restore", Path(made.stdout.strip()).name)

    assert restored.returncode == 0, restored.stderr
    assert stored.read_bytes() == png()
    assert export_json(with_core(lambda core: core.service.export())) == before

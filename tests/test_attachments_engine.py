"""Attachments through the engine to the fake server via the real SDK: the request shape,
vision, limits, and the crash journal."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from desktop_chat.app import Core
from desktop_chat.engine.attachments import AttachmentError, Limits, from_bytes
from desktop_chat.engine.events import ReplyDelta
from desktop_chat.engine.replies import request_history
from desktop_chat.schemas import Agent, Attachment, Message, MessageStatus, ToolCall, ToolFunction
from desktop_chat.tokens import estimate_tokens
from desktop_chat.transfer import ImportError_, export_json, parse_import, write_export
from tests.attachment_files import pdf, png
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog, wait_until

pytestmark = pytest.mark.asyncio


async def test_image_text_and_pdf_become_content_parts(core: Core, fake: FakeOpenAI) -> None:
    image = from_bytes("dot.png", png())
    notes = from_bytes("notes.txt", b"line one\nline two\n")
    report = from_bytes("report.pdf", pdf("Quarterly numbers"))
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    stored = await core.service.send(
        conv.id, "What is in these?", attachments=[image, notes, report]
    )
    await log.done(conv.id)

    assert [a.name for a in stored.attachments] == ["dot.png", "notes.txt", "report.pdf"]
    sent = fake.requests[-1]["body"]["messages"]
    assert sent[0] == {"role": "system", "content": "You are terse."}
    assert sent[1] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these?"},
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64," + base64.b64encode(png()).decode()},
            },
            {"type": "text", "text": "Attached file notes.txt:\n\nline one\nline two\n"},
            {"type": "text", "text": "Attached file report.pdf:\n\nQuarterly numbers"},
        ],
    }

    # The next request sends the files again, read back from the store.
    await core.service.send(conv.id, "And now?")
    await log.done(conv.id, count=2)
    again = fake.requests[-1]["body"]["messages"]
    assert again[1] == sent[1]
    assert again[2] == {"role": "assistant", "content": "Hello, world!"}
    assert again[3] == {"role": "user", "content": "And now?"}


async def test_a_model_without_vision_never_receives_an_image(
    core: Core, fake: FakeOpenAI, agent: Agent
) -> None:
    blind = await core.service.save_agent(
        agent.model_copy(update={"agent_id": "blind", "name": "Blind", "vision": False})
    )
    conv = await core.service.create_conversation(blind.agent_id)

    with pytest.raises(AttachmentError) as caught:
        await core.service.send(conv.id, "Look", attachments=[from_bytes("dot.png", png())])

    assert "Blind does not read images" in caught.value.user_message
    assert "--vision" in caught.value.user_message
    assert fake.requests == []
    assert (await core.service.get_conversation(conv.id)).messages == []
    # Text files are fine for it.
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Read", attachments=[from_bytes("a.txt", b"text")])
    await log.done(conv.id)
    assert fake.requests[-1]["body"]["messages"][-1]["content"][1]["type"] == "text"


async def test_vision_is_guessed_from_the_provider_and_stored(core: Core, agent: Agent) -> None:
    assert agent.vision is True  # an OpenAI agent
    local = Agent(name="Local", provider="ollama", base_url=agent.base_url, model="llava")
    assert local.vision is False
    saved = await core.service.save_agent(local.model_copy(update={"vision": True}))
    assert (await core.service.get_agent(saved.agent_id)).vision is True


async def test_message_limits_are_the_settings(core: Core, fake: FakeOpenAI) -> None:
    core.service.config.attachments = Limits(max_files=1)
    conv = await core.service.create_conversation()
    files = [from_bytes("a.txt", b"a"), from_bytes("b.txt", b"b")]
    with pytest.raises(AttachmentError, match="at most 1 files"):
        await core.service.send(conv.id, "two", attachments=files)
    assert fake.requests == []


async def test_a_message_of_files_alone_is_sent_and_titled_by_them(
    core: Core, fake: FakeOpenAI
) -> None:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "", attachments=[from_bytes("plan.md", b"# Plan")])
    await log.done(conv.id)
    assert fake.requests[-1]["body"]["messages"][-1]["content"] == [
        {"type": "text", "text": "Attached file plan.md:\n\n# Plan"}
    ]
    assert (await core.service.conversation_summary(conv.id)).title == "plan.md"
    context = await core.service.get_context(conv.id)
    assert len(context.history) == 2  # the message of files alone stays in the context


async def test_the_crash_journal_covers_a_reply_to_a_message_with_files(
    core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=["par", "tial"] + ["x"] * 50, stall_after=2)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    question = await core.service.send(
        conv.id, "Describe", attachments=[from_bytes("dot.png", png())]
    )
    await log.wait_for(lambda: len(log.of(ReplyDelta)) >= 2)
    journal = core.paths.journal / f"{conv.id}.jsonl"
    kept = journal.with_suffix(".kept")
    await wait_until(lambda: "tial" in journal.read_text(encoding="utf-8"), what="journal")
    shutil.copy(journal, kept)  # as the disk held it when the process died
    await core.service.stop(conv.id)
    stopped = (await core.service.get_conversation(conv.id)).messages[-1]
    await core.service.delete_message(conv.id, stopped.id)  # type: ignore[arg-type]
    kept.rename(journal)

    assert await core.service.recover() == 1

    messages = (await core.service.get_conversation(conv.id)).messages
    assert [m.id for m in messages[:1]] == [question.id]
    assert messages[0].attachments == question.attachments
    assert (messages[1].content, messages[1].status) == ("partial", MessageStatus.INTERRUPTED)
    assert messages[1].parent_id == question.id


async def test_attachments_survive_export_and_import_byte_for_byte(
    core: Core, tmp_path: Path
) -> None:
    files = [from_bytes("dot.png", png()), from_bytes("report.pdf", pdf("Budget 2027"))]
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Files", attachments=files)
    await log.done(conv.id)

    exported = json.loads(export_json(await core.service.export([conv.id])))
    sent = exported["conversations"][0]["messages"][0]["attachments"]
    assert [(a["name"], a["mime"], a["size"]) for a in sent] == [
        ("dot.png", "image/png", len(files[0].data)),
        ("report.pdf", "application/pdf", len(files[1].data)),
    ]
    # Deleting the original removes its files; the import brings them back.
    await core.service.delete_conversation(conv.id)
    folder = core.paths.database.parent / "files"
    assert not any(folder.iterdir())
    [new_id] = await core.service.import_conversations(parse_import(json.dumps(exported)))

    restored = (await core.service.get_conversation(new_id)).messages[0].attachments
    for original, back in zip(files, restored, strict=True):
        assert back.sha256 == original.meta.sha256
        data = (folder / back.sha256).read_bytes()
        assert hashlib.sha256(data).hexdigest() == original.meta.sha256
    assert restored[1].text == "Budget 2027"  # searchable again
    assert [c.id for c in await core.service.list_conversations(query="budget")] == [new_id]

    exported["conversations"][0]["messages"][0]["attachments"][0]["data"] = "AAAA"
    with pytest.raises(ImportError_, match="does not match its sha256"):
        parse_import(json.dumps(exported))

    # Markdown links the files, written in a folder beside it.
    target = tmp_path / "chat.md"
    write_export(target, await core.service.export([new_id]), as_json=False)
    text = target.read_text(encoding="utf-8")
    image_name = f"{files[0].meta.sha256[:12]}-dot.png"
    assert f"![dot.png](<chat_files/{image_name}>)" in text
    assert (tmp_path / "chat_files" / image_name).read_bytes() == files[0].data


async def test_the_context_lists_files_with_a_token_estimate(core: Core) -> None:
    wide = from_bytes("wide.png", png(2048, 1024))
    notes = from_bytes("notes.txt", b"x" * 400)
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "Two files", attachments=[wide, notes])
    await log.done(conv.id)

    [question, _] = (await core.service.get_context(conv.id)).history
    assert [a.name for a in question.attachments] == ["wide.png", "notes.txt"]
    # OpenAI's documented count: 1536 x 768 after scaling is 3 x 2 tiles; the text as sent.
    sent_text = "Attached file notes.txt:\n\n" + "x" * 400
    assert question.attachment_tokens == (85 + 170 * 6) + estimate_tokens(sent_text)


async def test_a_fork_carries_the_files_and_keeps_them_after_the_origin_goes(
    core: Core,
) -> None:
    image = from_bytes("dot.png", png())
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    question = await core.service.send(conv.id, "Look", attachments=[image])
    await log.done(conv.id)

    fork = await core.service.fork(conv.id, question.id)  # type: ignore[arg-type]
    await core.service.delete_conversation(conv.id)

    assert fork.messages[0].attachments == question.attachments
    stored = core.service.attachment_folder / image.meta.sha256
    assert stored.read_bytes() == image.data


async def test_a_search_hit_in_a_file_shows_the_words_around_it(core: Core) -> None:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    report = from_bytes("report.pdf", pdf("Revenue grew in the quarter"))
    question = await core.service.send(conv.id, "Summarise this", attachments=[report])
    await log.done(conv.id)

    [hit] = await core.service.search_hits([conv.id], "revenue")

    assert hit.message_id == question.id
    assert hit.snippet == "Revenue grew in the quarter"


async def test_a_question_of_files_alone_is_sent_beside_tool_rounds(tmp_path: Path) -> None:
    """History keeps tool calls paired and a question that is only a file: both kinds of
    message have no text of their own, and neither may be dropped as an empty reply."""
    data = png()
    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / digest).write_bytes(data)
    image = Attachment(name="a.png", mime="image/png", kind="image", size=len(data), sha256=digest)
    call = ToolCall(id="c1", function=ToolFunction(name="notes__find", arguments="{}"))
    messages = [
        Message(role="user", content="", attachments=[image]),
        Message(role="assistant", content="", tool_calls=[call]),
        Message(role="tool", content="42", tool_call_id="c1"),
        Message(role="assistant", content="It says 42."),
    ]

    sent = request_history(messages, tmp_path)

    assert [m.role for m in sent] == ["user", "assistant", "tool", "assistant"]
    assert (
        sent[0]
        .request_form()["content"][0]["image_url"]["url"]
        .startswith("data:image/png;base64,")
    )
    assert sent[1].request_form()["tool_calls"][0]["id"] == "c1"
    assert sent[2].request_form() == {"role": "tool", "content": "42", "tool_call_id": "c1"}

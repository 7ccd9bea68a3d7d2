"""`<think>…</think>` sent inside the text is reasoning: stored as such, never sent back,
shown folded while it streams (#17)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop_chat.llm.think import ThinkSplitter, strip_think
from tests.fake_openai import Scenario
from tests.gui_support import CoreOnLoop, WindowOnLoop, press, type_text, wait_until
from tests.helpers import EventLog

REPLY = "<think>Let me think.\nThe user wants 42.</think>\n\nThe answer is <b>42</b>."


def _split(chunks: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    pieces = [splitter.feed(chunk) for chunk in chunks] + [splitter.flush()]
    return "".join(p[0] for p in pieces), "".join(p[1] for p in pieces)


def test_the_block_is_split_out_wherever_the_chunks_cut_the_tags():
    expected = ("The answer is <b>42</b>.", "Let me think.\nThe user wants 42.")
    for i in range(len(REPLY) + 1):
        for j in range(i, len(REPLY) + 1, 3):
            assert _split([REPLY[:i], REPLY[i:j], REPLY[j:]]) == expected, (i, j)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (["About ", "<think>tags</think>."], ("About <think>tags</think>.", "")),
        (["  <think>still", " going"], ("", "still going")),  # cut mid-thought
        (["<thi"], ("<thi", "")),
        (["Plain ", "text"], ("Plain text", "")),
    ],
)  # fmt: skip
def test_only_a_block_that_opens_the_reply_is_reasoning(chunks, expected):
    assert _split(chunks) == expected


def test_a_title_from_a_thinking_model_has_no_thoughts():
    assert strip_think("<think>A title, hmm.</think>\nWAL mode") == "WAL mode"


@pytest.mark.asyncio
async def test_the_engine_stores_reasoning_apart_and_never_sends_it_back(core, fake):
    fake.queue = [
        Scenario(tokens=["<thi", "nk>Let me", " think.</th", "ink>\n\nThe ", "answer."]),
        Scenario(tokens=["Again."]),
    ]
    service = core.service
    log = EventLog(service)
    conversation = await service.create_conversation()
    await service.send(conversation.id, "Question?")
    await log.done(conversation.id)
    stored = (await service.get_conversation(conversation.id)).messages[-1]
    assert (stored.content, stored.reasoning) == ("The answer.", "Let me think.")

    await service.send(conversation.id, "And?")
    await log.done(conversation.id, count=2)
    sent = fake.requests[-1]["body"]["messages"]
    assert {"role": "assistant", "content": "The answer."} in sent
    assert not any("think" in m["content"] for m in sent)


@pytest.mark.asyncio
async def test_the_window_folds_it_while_it_streams(qapp, paths, secrets, agent, fake):
    thinking = [f"step {i}. " for i in range(30)]
    fake.scenario = Scenario(tokens=["<think>", *thinking, "</think>", "Done."], delay=0.02)

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.is_open(window.session.current_id))
        type_text(window.composer.edit, "think hard")
        press(window.composer.edit, Qt.Key.Key_Return)
        await wait_until(lambda: window.chat.streaming, what="the reply streams")
        stream = window.chat._stream
        await wait_until(
            lambda: stream.reasoning_toggle is not None and stream.reasoning_toggle.isVisible(),
            what="the reasoning's toggle while it streams",
        )
        assert "<think>" not in stream.body.toPlainText()
        assert "step" not in stream.body.toPlainText()
        await wait_until(lambda: not window.composer.busy, what="the reply ends")
        last = window.chat.message_widgets[-1]
        assert last.body.toPlainText().strip() == "Done."
        assert last.message.reasoning == "".join(thinking)

"""Faults seen from outside (#18): the command line run against misbehaving servers, a
second process on the same conversation, closed pipes, prompting keyrings, broken data.

Each test runs `desktop-chat` as a real subprocess, as a person or a script would, and
checks what it prints, how it exits, and what is stored afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path

from desktop_chat.schemas import MessageStatus
from tests.fake_openai import FakeOpenAI, Scenario
from tests.test_cli import add_agent, cli, conversation_id_from, conversations

# A server that ends the reply without finishing it ----------------------------------------


def test_an_empty_stream_fails_the_ask_with_exit_1(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(empty_stream=True)

    result = cli("ask", "A question longer than the model's context")

    assert result.returncode == 1, result.stderr
    assert "ended the reply without sending any of it" in result.stderr
    assert "Traceback" not in result.stderr
    (conversation,) = conversations()
    assert conversation.id == conversation_id_from(result.stderr)
    reply = conversation.messages[-1]
    assert (reply.role, reply.status, reply.content) == ("assistant", MessageStatus.FAILED, "")


# The automatic title must not hold the command line -----------------------------------------


def test_a_title_request_that_never_answers_does_not_hold_the_ask(
    home: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    # The reply streams; the title request (auto_title is on by default) then hangs.
    fake.queue = [Scenario(tokens=["Done."]), Scenario(stall_after=0, stall_timeout=60)]

    started = time.monotonic()
    result = cli("ask", "Hello", timeout=20)
    took = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Done.\n"
    assert took < 15, f"the command waited {took:.1f} s for a title"
    (conversation,) = conversations()
    assert conversation.title == "Hello"  # the first words, kept when no title came

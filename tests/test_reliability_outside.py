"""Faults seen from outside (#18): the command line run against misbehaving servers, a
second process on the same conversation, closed pipes, prompting keyrings, broken data.

Each test runs `desktop-chat` as a real subprocess, as a person or a script would, and
checks what it prints, how it exits, and what is stored afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_chat.schemas import MessageStatus
from tests.fake_openai import FakeOpenAI, Scenario
from tests.test_cli import REPO, add_agent, cli, cli_env, conversation_id_from, conversations

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


# Output closed early (`desktop-chat list | head -1`) ----------------------------------------


def run_with_closed_stdout(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a command whose stdout is a pipe nobody reads any more, as after `| head -1`."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: no race with it
    try:
        result = subprocess.run(
            [sys.executable, "-m", "desktop_chat", *args],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env or cli_env(),
            timeout=60,
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    "args",
    [["list"], ["export"], ["export", "--format", "md"], ["agents", "list"], ["tokens", "list"]],
    ids=lambda args: " ".join(args),
)
def test_a_closed_output_pipe_ends_the_command_quietly(fake: FakeOpenAI, args: list[str]) -> None:
    add_agent(fake.base_url)
    assert cli("ask", "Hello").returncode == 0
    assert cli("tokens", "create", "script").returncode == 0

    code, stderr = run_with_closed_stdout(*args)

    assert (code, stderr) == (141, "")  # 128 + SIGPIPE, as a shell reports `yes | head -1`


def test_a_closed_output_pipe_stops_the_reply_and_keeps_it(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    tokens = [f"w{i} " for i in range(300)]
    fake.scenario = Scenario(tokens=tokens, delay=0.02)

    code, stderr = run_with_closed_stdout("ask", "Write a long one")

    assert code == 141, stderr
    assert "Traceback" not in stderr and "Exception" not in stderr
    assert fake.wait_for(lambda: fake.disconnects >= 1), "the reply went on for nobody"
    (conversation,) = conversations()
    user, reply = conversation.messages
    assert user.content == "Write a long one"
    assert reply.status is MessageStatus.STOPPED
    assert "".join(tokens).startswith(reply.content) and len(reply.content) < len("".join(tokens))

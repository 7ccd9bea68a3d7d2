"""Faults seen from outside (#18): the command line run against misbehaving servers, a
second process on the same conversation, closed pipes, prompting keyrings, broken data.

Each test runs `desktop-chat` as a real subprocess, as a person or a script would, and
checks what it prints, how it exits, and what is stored afterwards.
"""

from __future__ import annotations

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

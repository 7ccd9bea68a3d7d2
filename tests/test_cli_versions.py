"""Reply versions from the command line: `regenerate` keeps what was there, `fork` copies."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from desktop_chat.schemas import MessageStatus
from tests.fake_openai import FakeOpenAI, Scenario
from tests.test_cli import (
    LONG_REPLY,
    add_agent,
    cli,
    conversation_id_from,
    start_cli,
    wait_for_journal,
    with_core,
)


def exported(conversation_id: str) -> dict:
    result = cli("export", conversation_id)
    assert result.returncode == 0, result.stderr
    (conversation,) = json.loads(result.stdout)["conversations"]
    return conversation


def test_regenerating_three_times_keeps_four_replies_each_in_the_export(
    home: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=["Red"])
    first = cli("ask", "Name a colour")
    assert first.returncode == 0, first.stderr
    cid = conversation_id_from(first.stderr)
    for colour in ("Green", "Blue", "Gold"):
        fake.scenario = Scenario(tokens=[colour])
        again = cli("regenerate", cid)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == colour, "the new version streams to stdout"

    document = exported(cid)
    question = next(m for m in document["messages"] if m["role"] == "user")
    replies = [m for m in document["messages"] if m["role"] == "assistant"]
    assert [r["content"] for r in replies] == ["Red", "Green", "Blue", "Gold"]
    assert {r["parent_id"] for r in replies} == {question["id"]}, "versions of one answer"
    assert document["current_message_id"] == replies[-1]["id"]

    red = replies[0]["id"]
    forked = cli("fork", cid, "--at", str(red))
    assert forked.returncode == 0, forked.stderr
    fork = exported(forked.stdout.strip())
    assert [m["content"] for m in fork["messages"]] == ["Name a colour", "Red"]
    assert fork["title"] == f"{document['title']} ⑂", "titled from the original"


def test_fork_at_a_message_of_another_conversation_is_not_found(
    home: Path, fake: FakeOpenAI
) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=["One"])
    one = conversation_id_from(cli("ask", "First").stderr)
    two = conversation_id_from(cli("ask", "Second").stderr)
    foreign = exported(one)["messages"][0]["id"]
    result = cli("fork", two, "--at", str(foreign))
    assert result.returncode == 3, result.stderr
    assert "no message with id" in result.stderr.lower()


def test_kill_9_during_a_regenerate_loses_neither_version(home: Path, fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    fake.scenario = Scenario(tokens=["The first answer."])
    cid = conversation_id_from(cli("ask", "Tell me").stderr)
    fake.scenario = Scenario(tokens=LONG_REPLY, delay=0.05)
    journal = home / "data" / "journal"

    process = start_cli("regenerate", cid)
    try:
        wait_for_journal(journal, deltas=4, process=process)
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    detail = with_core(lambda core: core.service.get_conversation(cid))  # recovers
    question, partial = detail.messages
    assert question.content == "Tell me"
    assert partial.status is MessageStatus.INTERRUPTED
    assert partial.content and "".join(LONG_REPLY).startswith(partial.content)
    assert partial.id is not None
    (first_id,) = [v for v in detail.versions[partial.id] if v != partial.id]
    old = with_core(lambda core: core.service.show_version(cid, first_id))
    assert old.messages[-1].content == "The first answer."

"""`desktop-chat mcp ...` and `ask` with tools, as real subprocesses, with a real MCP
server (the SDK's, over stdio) and the fake upstream streaming tool calls."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from desktop_chat.engine.tool_rounds import CLOSED_MID_CALL
from desktop_chat.schemas import MessageStatus
from tests.fake_openai import FakeOpenAI, Scenario
from tests.test_cli import (
    FILE_KEYRING,
    REPO,
    add_agent,
    cli,
    cli_env,
    conversation_id_from,
    conversations,
    start_cli,
    with_core,
)

SERVER = ["--", sys.executable, "-m", "tests.mcp_test_server"]


def call(call_id: str, name: str, arguments: str) -> dict[str, str]:
    return {"id": call_id, "name": name, "arguments": arguments}


def last_stream(fake: FakeOpenAI) -> list[dict[str, object]]:
    """The messages of the last streamed request (automatic titles are not streamed)."""
    return [r["body"] for r in fake.requests if r["body"] and r["body"].get("stream")][-1][
        "messages"
    ]


def add_server() -> None:
    added = cli("mcp", "add", "calc", "--cwd", str(REPO), *SERVER)
    assert added.returncode == 0, added.stderr


def test_mcp_add_list_remove_and_import(tmp_path: Path) -> None:
    add_server()
    listed = cli("mcp", "list", timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "calc\tstdio" in listed.stdout
    assert "  add\tAdd two whole numbers." in listed.stdout

    env = cli_env(FILE_KEYRING)
    remote = cli(
        "mcp", "add", "remote", "--url", "https://mcp.example.com/mcp",
        "--header", "Authorization=Bearer tok-123", "--disabled", env=env,
    )  # fmt: skip
    assert remote.returncode == 0, remote.stderr
    assert "remote (off)\thttp\thttps://mcp.example.com/mcp" in cli("mcp", "list", env=env).stdout
    database = next(Path(os.environ["DESKTOP_CHAT_HOME"]).rglob("conversations.sqlite3"))
    assert b"tok-123" not in database.read_bytes()
    assert "tok-123" in (Path(os.environ["DESKTOP_CHAT_HOME"]) / "test-keyring.json").read_text()

    assert cli("mcp", "remove", "calc").returncode == 0
    assert cli("mcp", "remove", "calc").returncode == 3
    file = tmp_path / "servers.json"
    file.write_text(
        json.dumps({"mcpServers": {"x": {"command": "true"}, "y": {"url": "http://h/"}}})
    )
    imported = cli("mcp", "import", str(file))
    assert imported.returncode == 0 and "Imported 2 MCP servers: x, y." in imported.stdout
    file.write_text('{"nope": 1}')
    bad = cli("mcp", "import", str(file))
    assert bad.returncode == 2 and "not an MCP servers file" in bad.stderr
    neither = cli("mcp", "add", "z")
    assert neither.returncode == 2


def test_ask_with_allow_tools_runs_calls_and_shows_them(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    add_server()
    fake.queue = [
        Scenario(tokens=[], tool_calls=[call("c1", "calc__add", '{"a": 20, "b": 22}')]),
        Scenario(tokens=["It is ", "42."]),
    ]
    result = cli("ask", "--allow-tools", "add 20 and 22", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "It is 42."
    assert '[tool] calc/add {"a": 20, "b": 22}' in result.stderr
    assert "[tool] result" in result.stderr and ": 42" in result.stderr
    (stored,) = conversations()
    assert [m.role for m in stored.messages] == ["user", "assistant", "tool", "assistant"]


def test_ask_without_a_terminal_refuses_calls_and_tells_the_model(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    add_server()
    fake.queue = [
        Scenario(tokens=[], tool_calls=[call("c1", "calc__add", '{"a": 1, "b": 1}')]),
        Scenario(tokens=["Understood."]),
    ]
    result = cli("ask", "add", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "refused: no terminal" in result.stderr
    sent = last_stream(fake)[-1]
    assert sent["role"] == "tool" and "did not allow" in sent["content"]


def test_kill_9_mid_loop_keeps_the_finished_rounds(fake: FakeOpenAI) -> None:
    add_agent(fake.base_url)
    add_server()
    fake.queue = [
        Scenario(tokens=["First."], tool_calls=[call("k1", "calc__add", '{"a": 1, "b": 2}')]),
        Scenario(tokens=[], tool_calls=[call("k2", "calc__slow", '{"seconds": 60}')]),
    ]
    process = start_cli("ask", "--allow-tools", "go")
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "[tool] calc/slow" in line:
                break
        else:
            pytest.fail("the slow call never started")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    (stored,) = conversations()  # opening it again recovers the call that was running
    assert [(m.role, m.content, m.status) for m in stored.messages] == [
        ("user", "go", MessageStatus.COMPLETE),
        ("assistant", "First.", MessageStatus.COMPLETE),
        ("tool", "3", MessageStatus.COMPLETE),
        ("assistant", "", MessageStatus.COMPLETE),
        ("tool", CLOSED_MID_CALL, MessageStatus.INTERRUPTED),
    ]
    assert [c.id for c in stored.messages[3].tool_calls or []] == ["k2"]
    assert stored.messages[4].tool_call_id == "k2"

    fake.queue = [Scenario(tokens=["Back."])]
    again = cli("ask", "--conversation", stored.id, "--allow-tools", "still there?", timeout=60)
    assert again.returncode == 0, again.stderr
    assert conversation_id_from(again.stderr) == stored.id
    sent = last_stream(fake)
    assert [(m["role"], m.get("tool_call_id")) for m in sent] == [
        ("user", None),
        ("assistant", None),
        ("tool", "k1"),
        ("assistant", None),
        ("tool", "k2"),
        ("user", None),
    ]


def test_agents_choose_tools_on_the_command_line(fake: FakeOpenAI) -> None:
    base = ["--base-url", fake.base_url, "--model", "fake-model"]
    made = cli("agents", "add", "--name", "Picky", *base, "--tools", "calc, files")
    assert made.returncode == 0, made.stderr
    assert with_core(lambda core: core.service.get_agent("Picky")).tools == ["calc", "files"]
    assert cli("agents", "edit", "Picky", "--tools", "none").returncode == 0
    assert with_core(lambda core: core.service.get_agent("Picky")).tools == "none"


def test_on_a_terminal_each_call_is_asked_about(fake: FakeOpenAI) -> None:
    import pty
    import select
    import subprocess
    import time

    add_agent(fake.base_url)
    add_server()
    fake.queue = [
        Scenario(tokens=[], tool_calls=[call("t1", "calc__add", '{"a": 2, "b": 40}')]),
        Scenario(tokens=["Forty-two."]),
    ]
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop_chat", "ask", "add them"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=REPO,
        env=cli_env(),
    )
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b"[N]o:" not in seen:
            assert time.monotonic() < deadline, f"never asked: {seen!r}"
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                seen += os.read(leader, 4096)
        assert b"Run calc/add" in seen
        os.write(leader, b"y\n")
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    assert process.returncode == 0
    assert out.decode().strip() == "Forty-two."
    sent = last_stream(fake)[-1]
    assert sent["role"] == "tool" and sent["content"] == "42"

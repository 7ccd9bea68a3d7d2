"""Tool calls end to end: a real MCP server (the SDK's, over stdio) and an upstream that
streams `tool_calls`, through the engine, the store and the crash journal."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from desktop_chat.app import Core
from desktop_chat.engine.approvals import ApprovalRequest, Decision
from desktop_chat.engine.events import (
    ReplyFailed,
    ToolApprovalRequested,
    ToolCallFinished,
    ToolCallStarted,
)
from desktop_chat.engine.tool_rounds import paired
from desktop_chat.engine.tools import parse_import, tool_name
from desktop_chat.schemas import McpServer, Message, MessageStatus, ToolCall, ToolFunction
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog, wait_until

ROOT = Path(__file__).resolve().parent.parent


def stdio_server(name: str = "calc", **extra: object) -> McpServer:
    return McpServer(
        name=name,
        command=sys.executable,
        args=["-m", "tests.mcp_test_server"],
        cwd=str(ROOT),
        **extra,  # type: ignore[arg-type]
    )


def bodies(fake: FakeOpenAI) -> list[dict]:
    """The chat requests the fake received, in order."""
    return [r["body"] for r in fake.requests if r["path"].endswith("/completions")]


def turn(*calls: dict[str, str]) -> Scenario:
    """A turn of the model that only calls tools."""
    return Scenario(tokens=[], tool_calls=list(calls))


def call(call_id: str, name: str, arguments: str) -> dict[str, str]:
    return {"id": call_id, "name": name, "arguments": arguments}


async def allow(decision: Decision = Decision.ONCE) -> object:
    async def approver(request: ApprovalRequest) -> Decision:
        return decision

    return approver


async def with_server(core: Core, approver: object | None = None) -> None:
    await core.tools.save_server(stdio_server())
    core.tools.approvals.approver = approver  # type: ignore[assignment]


async def ask(core: Core, text: str = "What is 2 + 3?") -> tuple[str, EventLog]:
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, text)
    await log.done(conv.id, timeout=30)
    return conv.id, log


@pytest.mark.asyncio
async def test_a_call_is_run_and_its_result_sent_back(core: Core, fake: FakeOpenAI) -> None:
    await with_server(core, await allow())
    fake.queue = [
        Scenario(tokens=["Let me add."], tool_calls=[call("c1", "calc__add", '{"a": 2, "b": 3}')]),
        Scenario(tokens=["It is 5."]),
    ]
    cid, log = await ask(core)

    first, second = bodies(fake)
    names = [t["function"]["name"] for t in first["tools"]]
    assert "calc__add" in names and "calc__echo" in names
    add = next(t for t in first["tools"] if t["function"]["name"] == "calc__add")
    assert add["function"]["parameters"]["properties"]["a"]["type"] == "integer"
    assert second["messages"][-2:] == [
        {
            "role": "assistant",
            "content": "Let me add.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "calc__add", "arguments": '{"a": 2, "b": 3}'},
                }
            ],
        },
        {"role": "tool", "content": "5", "tool_call_id": "c1"},
    ]
    detail = await core.service.get_conversation(cid)
    assert [(m.role, m.content) for m in detail.messages] == [
        ("user", "What is 2 + 3?"),
        ("assistant", "Let me add."),
        ("tool", "5"),
        ("assistant", "It is 5."),
    ]
    assert detail.messages[1].tool_calls[0].function.name == "calc__add"
    assert detail.messages[2].tool_call_id == "c1"
    started, finished = log.of(ToolCallStarted), log.of(ToolCallFinished)
    assert [(e.server, e.tool) for e in started] == [("calc", "add")]
    assert finished[0].result == "5" and not finished[0].is_error
    assert finished[0].message_id == detail.messages[2].id
    assert not list(core.paths.journal.glob("*.jsonl"))


@pytest.mark.asyncio
async def test_two_calls_in_one_turn_and_history_keeps_the_pairing(
    core: Core, fake: FakeOpenAI
) -> None:
    await with_server(core, await allow())
    fake.queue = [
        Scenario(
            tokens=[],
            tool_calls=[
                call("a1", "calc__add", '{"a": 1, "b": 1}'),
                call("a2", "calc__echo", '{"text": "hi there"}'),
            ],
            tool_call_pieces=5,
        ),
        Scenario(tokens=["Done."]),
        Scenario(tokens=["Again."]),
    ]
    cid, _ = await ask(core)
    log = EventLog(core.service, cid)
    await core.service.send(cid, "and now?")
    await log.done(cid, timeout=30)

    third = bodies(fake)[2]
    roles = [(m["role"], m.get("tool_call_id")) for m in third["messages"]]
    assert roles == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "a1"),
        ("tool", "a2"),
        ("assistant", None),
        ("user", None),
    ]
    assert [c["id"] for c in third["messages"][2]["tool_calls"]] == ["a1", "a2"]
    assert third["messages"][3]["content"] == "2"
    assert third["messages"][4]["content"] == "hi there"


@pytest.mark.asyncio
async def test_a_denied_call_tells_the_model(core: Core, fake: FakeOpenAI) -> None:
    await with_server(core, await allow(Decision.DENY))
    fake.queue = [
        turn(call("c1", "calc__add", '{"a": 2, "b": 3}')),
        Scenario(tokens=["Okay."]),
    ]
    _cid, log = await ask(core)
    second = bodies(fake)[1]
    result = second["messages"][-1]
    assert result["role"] == "tool" and "did not allow" in result["content"]
    assert log.of(ToolCallFinished)[0].is_error


@pytest.mark.asyncio
async def test_approval_waits_for_an_answer_and_always_is_remembered(
    core: Core, fake: FakeOpenAI
) -> None:
    await with_server(core)
    fake.queue = [
        turn(call("c1", "calc__add", '{"a": 2, "b": 3}')),
        Scenario(tokens=["Five."]),
        turn(call("c2", "calc__add", '{"a": 1, "b": 3}')),
        Scenario(tokens=["Four."]),
    ]
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "add")
    await log.wait_for(lambda: bool(log.of(ToolApprovalRequested)), timeout=30)
    asked = log.of(ToolApprovalRequested)[0]
    assert (asked.server, asked.tool, json.loads(asked.arguments)) == (
        "calc",
        "add",
        {"a": 2, "b": 3},
    )
    assert core.tools.approvals.answer(asked.call_id, Decision.ALWAYS)
    await log.done(conv.id, timeout=30)
    assert "calc/add" in core.settings.tools_always_allowed

    await core.service.send(conv.id, "again")
    await log.done(conv.id, count=2, timeout=30)
    assert len(log.of(ToolApprovalRequested)) == 1, "asked again despite always"
    assert log.of(ToolCallFinished)[1].result == "4"


@pytest.mark.asyncio
async def test_malformed_arguments_and_unknown_tools_are_errors_the_model_sees(
    core: Core, fake: FakeOpenAI
) -> None:
    await with_server(core, await allow())
    fake.queue = [
        Scenario(
            tokens=[],
            tool_calls=[call("m1", "calc__add", '{"a": 2, "b"'), call("m2", "nope__x", "{}")],
        ),
        Scenario(tokens=["Sorry."]),
    ]
    _, _log = await ask(core)
    second = bodies(fake)[1]
    results = [m["content"] for m in second["messages"] if m["role"] == "tool"]
    assert "not a JSON object" in results[0]
    assert "no tool named nope__x" in results[1]


@pytest.mark.asyncio
async def test_a_crashed_server_is_a_clear_error_and_starts_again(
    core: Core, fake: FakeOpenAI
) -> None:
    await with_server(core, await allow())
    fake.queue = [
        turn(call("k1", "calc__crash", "{}")),
        turn(call("k2", "calc__add", '{"a": 1, "b": 2}')),
        Scenario(tokens=["Recovered."]),
    ]
    _, log = await ask(core)
    crashed, after = log.of(ToolCallFinished)
    assert crashed.is_error and "stopped while running crash" in crashed.result
    assert not after.is_error and after.result == "3"


@pytest.mark.asyncio
async def test_a_slow_call_times_out(core: Core, fake: FakeOpenAI) -> None:
    await with_server(core, await allow())
    core.tools.call_timeout = 0.5
    fake.queue = [
        turn(call("s1", "calc__slow", '{"seconds": 5}')),
        Scenario(tokens=["Too slow."]),
    ]
    _, log = await ask(core)
    finished = log.of(ToolCallFinished)[0]
    assert finished.is_error and "longer than 0.5 seconds" in finished.result


@pytest.mark.asyncio
async def test_rounds_are_capped_with_a_clear_message(core: Core, fake: FakeOpenAI) -> None:
    await with_server(core, await allow())
    core.tools.max_rounds = 2
    fake.scenario = turn(call("r", "calc__add", '{"a": 1, "b": 1}'))
    cid, log = await ask(core)
    failed = log.of(ReplyFailed)
    assert failed and failed[0].kind == "tool_rounds" and "more than 2 times" in failed[0].message
    assert len(log.of(ToolCallFinished)) == 2
    detail = await core.service.get_conversation(cid)
    assert detail.messages[-1].status is MessageStatus.FAILED
    assert detail.messages[-1].tool_calls  # the calls not run are kept, not sent again
    fake.scenario = Scenario(tokens=["ok"])
    await core.service.send(cid, "go on")
    await log.done(cid, count=2, timeout=30)
    last = bodies(fake)[-1]
    tool_ids = [m.get("tool_call_id") for m in last["messages"] if m["role"] == "tool"]
    called = [c["id"] for m in last["messages"] for c in m.get("tool_calls") or []]
    assert sorted(tool_ids) == sorted(called)


@pytest.mark.asyncio
async def test_stop_mid_call_keeps_what_was_done(core: Core, fake: FakeOpenAI) -> None:
    await with_server(core, await allow())
    fake.queue = [
        Scenario(
            tokens=[],
            tool_calls=[
                call("d1", "calc__add", '{"a": 1, "b": 1}'),
                call("d2", "calc__slow", '{"seconds": 30}'),
            ],
        )
    ]
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)
    await core.service.send(conv.id, "go")
    await log.wait_for(lambda: len(log.of(ToolCallStarted)) == 2, timeout=30)
    assert await core.service.stop(conv.id)
    done = await log.done(conv.id)
    assert done.status == "stopped"
    detail = await core.service.get_conversation(conv.id)
    assert [(m.role, m.status) for m in detail.messages] == [
        ("user", MessageStatus.COMPLETE),
        ("assistant", MessageStatus.COMPLETE),
        ("tool", MessageStatus.COMPLETE),
        ("tool", MessageStatus.STOPPED),
    ]
    assert "stopped before" in detail.messages[-1].content


@pytest.mark.asyncio
async def test_agents_choose_their_servers(core: Core, fake: FakeOpenAI) -> None:
    await with_server(core, await allow())
    agent = (await core.service.list_agents())[0]
    await core.service.save_agent(agent.model_copy(update={"tools": "none"}))
    fake.queue = [Scenario(tokens=["plain"])]
    await ask(core)
    assert "tools" not in fake.requests[-1]["body"]
    await core.service.save_agent(agent.model_copy(update={"tools": ["other"]}))
    fake.queue = [Scenario(tokens=["plain"])]
    await ask(core)
    assert "tools" not in fake.requests[-1]["body"]
    assert (await core.service.get_agent(agent.agent_id)).tools == ["other"]


@pytest.mark.asyncio
async def test_headers_go_to_the_keyring_and_import_reads_mcp_servers(core: Core) -> None:
    raw = json.dumps(
        {
            "mcpServers": {
                "files": {"command": "npx", "args": ["-y", "srv"], "env": {"TOKEN": "env-s3cret"}},
                "remote": {"url": "https://mcp.example.com/mcp", "headers": {"X-Key": "s3cret"}},
            }
        }
    )
    saved = await core.tools.import_servers(raw)
    assert [s.name for s in saved] == ["files", "remote"]
    remote = await core.tools.get_server("remote")
    assert remote.transport == "http" and remote.secret_headers == ["X-Key"]
    assert core.secrets.get_own("mcp-header:remote:X-Key") == "s3cret"
    files = await core.tools.get_server("files")
    assert files.secret_env == ["TOKEN"] and files.env == {}
    assert core.secrets.get_own("mcp-env:files:TOKEN") == "env-s3cret"
    db = (core.paths.database).read_bytes()
    assert b"s3cret" not in db
    await core.tools.remove_server("remote")
    assert core.secrets.get_own("mcp-header:remote:X-Key") is None
    with pytest.raises(Exception, match="not an MCP servers file"):
        parse_import('{"servers": {}}')


def test_tool_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    first = tool_name("my server", "read.file", taken)
    taken.add(first)
    assert first == "my_server__read_file"
    assert tool_name("my server", "read.file", taken) == "my_server__read_file_2"
    assert len(tool_name("s" * 50, "t" * 50, set())) == 64


def test_history_drops_calls_without_results() -> None:
    calls = [ToolCall(id=i, function=ToolFunction(name="t")) for i in ("x", "y")]
    history = [
        Message(role="user", content="q"),
        Message(role="assistant", content="", tool_calls=calls),
        Message(role="tool", content="r", tool_call_id="x"),
        Message(role="tool", content="stray", tool_call_id="z"),
        Message(role="assistant", content="", tool_calls=[calls[1]]),
    ]
    kept = paired(history)
    assert [(m.role, m.tool_call_id) for m in kept] == [
        ("user", None),
        ("assistant", None),
        ("tool", "x"),
    ]
    assert [c.id for c in kept[1].tool_calls or []] == ["x"]


@pytest.mark.asyncio
async def test_export_and_import_carry_tool_calls(core: Core, fake: FakeOpenAI) -> None:
    from desktop_chat.transfer import export_json
    from desktop_chat.transfer import parse_import as parse_conversations

    await with_server(core, await allow())
    fake.queue = [
        turn(call("e1", "calc__add", '{"a": 2, "b": 2}')),
        Scenario(tokens=["Four."]),
    ]
    cid, _ = await ask(core)
    raw = export_json(await core.service.export([cid]))
    created = await core.service.import_conversations(parse_conversations(raw))
    copy = await core.service.get_conversation(created[0])
    assert [(m.role, m.tool_call_id) for m in copy.messages] == [
        ("user", None),
        ("assistant", None),
        ("tool", "e1"),
        ("assistant", None),
    ]
    assert copy.messages[1].tool_calls[0].function.arguments == '{"a": 2, "b": 2}'


@pytest.mark.asyncio
async def test_a_streamable_http_server_with_a_secret_header(core: Core, fake: FakeOpenAI) -> None:
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.mcp_test_server", "--http", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server = McpServer(
            name="web",
            transport="http",
            url=f"http://127.0.0.1:{port}/mcp",
            headers={"Authorization": "Bearer web-token-1"},
        )
        await core.tools.save_server(server)
        core.tools.approvals.approver = await allow()  # type: ignore[assignment]
        for _ in range(100):  # until the server listens
            try:
                await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        fake.queue = [
            turn(call("w1", "web__echo", '{"text": "over http"}')),
            Scenario(tokens=["Echoed."]),
        ]
        _, log = await ask(core)
        finished = log.of(ToolCallFinished)[0]
        assert (finished.server, finished.result, finished.is_error) == ("web", "over http", False)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.asyncio
async def test_regenerate_answers_the_question_again_after_tool_rounds(
    core: Core, fake: FakeOpenAI
) -> None:
    await with_server(core, await allow())
    fake.queue = [
        turn(call("v1", "calc__add", '{"a": 1, "b": 1}')),
        Scenario(tokens=["Two."]),
        Scenario(tokens=["Still two."]),
    ]
    cid, log = await ask(core, "1 + 1?")
    await core.service.regenerate(cid)
    await log.done(cid, count=2, timeout=30)
    detail = await core.service.get_conversation(cid)
    assert [(m.role, m.content) for m in detail.messages] == [
        ("user", "1 + 1?"),
        ("assistant", "Still two."),
    ]
    first_answer = detail.messages[1]
    assert len(detail.versions[first_answer.id]) == 2  # the tool round stays, as a version
    context = await core.service.get_context(cid)
    assert [e.role for e in context.history] == ["user", "assistant"]


@pytest.mark.asyncio
async def test_a_server_that_cannot_start_says_why_and_is_left_out(
    core: Core, fake: FakeOpenAI
) -> None:
    from desktop_chat.engine.mcp_servers import McpError

    broken = McpServer(name="broken", command=str(ROOT / "no-such-program"))
    await core.tools.save_server(broken)
    with pytest.raises(McpError, match="The MCP server broken could not be started"):
        await core.tools.tools_of(broken)
    fake.queue = [Scenario(tokens=["No tools today."])]
    await ask(core)
    assert "tools" not in fake.requests[-1]["body"]

    await with_server(core, await allow())
    tools = await core.tools.restart("calc")
    assert "add" in [t.name for t in tools]
    assert core.tools.runtime.running("calc")


@pytest.mark.asyncio
async def test_a_huge_result_is_cut_where_it_is_kept_and_shown(
    core: Core, fake: FakeOpenAI
) -> None:
    from desktop_chat.engine.tool_rounds import MAX_RESULT_CHARS, SHOWN_CHARS

    await with_server(core, await allow())
    fake.queue = [
        turn(call("b1", "calc__big", '{"size": 150000}')),
        Scenario(tokens=["Long."]),
    ]
    cid, log = await ask(core)
    stored = (await core.service.get_conversation(cid)).messages[2]
    assert stored.content.startswith("y" * MAX_RESULT_CHARS)
    assert stored.content.endswith("[cut: 50,000 more characters]")
    assert bodies(fake)[1]["messages"][-1]["content"] == stored.content
    shown = log.of(ToolCallFinished)[0].result
    assert shown.startswith("y" * SHOWN_CHARS) and len(shown) < SHOWN_CHARS + 100


@pytest.mark.asyncio
async def test_a_server_still_starting_when_the_reply_stops_is_not_left_running(
    core: Core,
) -> None:
    from desktop_chat.engine import mcp_servers

    started: list[mcp_servers.McpConnection] = []
    original = mcp_servers.McpConnection.start

    async def spy(self: mcp_servers.McpConnection, timeout: float = 30.0) -> object:
        started.append(self)
        return await original(self, timeout)

    sleepy = McpServer(name="sleepy", command=sys.executable, args=["-c", "input()"])
    await core.tools.save_server(sleepy)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mcp_servers.McpConnection, "start", spy)
        task = asyncio.ensure_future(core.tools.tools_of(sleepy))
        await wait_until(lambda: bool(started) and started[0]._task is not None)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert started[0]._task is not None and started[0]._task.done()
    assert not core.tools.runtime.running("sleepy")


@pytest.mark.asyncio
async def test_a_model_without_tool_support_is_answered_without_tools(
    core: Core, fake: FakeOpenAI
) -> None:
    await with_server(core, await allow())
    fake.queue = [
        Scenario(status=400, error_body={"error": {"message": "x does not support tools"}}),
        Scenario(tokens=["Plain answer."]),
    ]
    cid, log = await ask(core)
    first, second = bodies(fake)
    assert "tools" in first and "tools" not in second
    assert not log.of(ReplyFailed)
    detail = await core.service.get_conversation(cid)
    assert detail.messages[-1].content == "Plain answer."

    fake.queue = [Scenario(status=400, error_body={"error": {"message": "Bad temperature"}})]
    _, other = await ask(core)
    assert other.of(ReplyFailed)[0].kind == "bad_request"  # other refusals still fail


@pytest.mark.asyncio
async def test_the_environment_and_working_folder_reach_the_server(
    core: Core, tmp_path: Path
) -> None:
    server = McpServer(
        name="calc",
        command=sys.executable,
        args=["-m", "tests.mcp_test_server"],
        cwd=str(ROOT),
        env={"TEST_MCP_GREETING": "hello-from-keyring", "PYTHONPATH": str(ROOT)},
    )
    await core.tools.save_server(server)
    stored = await core.tools.get_server("calc")
    assert sorted(stored.secret_env) == ["PYTHONPATH", "TEST_MCP_GREETING"]
    (tool,) = [t for t in await core.tools.tools_of(stored) if t.name == "where"]
    result = await core.tools.call(tool, {})
    assert result.text == f"{ROOT} hello-from-keyring"

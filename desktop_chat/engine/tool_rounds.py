"""The tool part of a reply: assemble the model's calls, have them approved, run them.

Calls arrive in pieces across the stream (several per turn, arguments split anywhere);
`CallAssembler` puts them together. `ToolRounds.run` then takes them in order: each
call is shown (ToolCallStarted), approved or refused, run with a timeout, and its result
stored at once as a `tool` message answering the call, so a crash keeps every finished
call. Whatever goes wrong (unknown tool, arguments that are not JSON, a refusal, a
timeout, a crashed server) becomes an error result the model reads and can act on.
A tool's output is data: it is stored and sent back to the model, never acted upon.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from desktop_chat.engine.approvals import ApprovalRequest
from desktop_chat.engine.events import (
    EventBus,
    MessageStored,
    ToolApprovalRequested,
    ToolCallFinished,
    ToolCallStarted,
)
from desktop_chat.engine.mcp_servers import McpError
from desktop_chat.schemas import Message, MessageStatus, ToolCall, ToolFunction
from desktop_chat.sentences import N_
from desktop_chat.store import Store

if TYPE_CHECKING:
    from desktop_chat.engine.journal import CrashJournal
    from desktop_chat.engine.reply import ReplyState
    from desktop_chat.engine.tools import ToolService

MAX_ARGUMENT_CHARS = 100_000  # of one call's arguments, kept and sent
MAX_RESULT_CHARS = 100_000  # of one result, stored and sent to the model
SHOWN_CHARS = 20_000  # of arguments and results in events (the window, the API)

UNKNOWN_TOOL = N_("There is no tool named {tool}; call one of the tools offered.")
BAD_ARGUMENTS = N_(
    "The arguments of {tool} are not a JSON object ({problem}); call it again with valid JSON."
)
DENIED = N_("The user did not allow this call of {tool}; it was not run.")
STOPPED_CALL = N_("The reply was stopped before this call of {tool} finished.")
CLOSED_MID_CALL = N_("desktop_chat closed before this tool call finished.")
CUT_RESULT = N_("[cut: {count} more characters]")


def cap(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and a note of how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + "\n" + CUT_RESULT.format(count=f"{len(text) - limit:,}")


class CallAssembler:
    """The calls of one turn, put together from the stream's pieces."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}

    def feed(self, pieces: tuple[dict[str, Any], ...]) -> None:
        for piece in pieces:
            index = piece.get("index")
            if not isinstance(index, int):
                index = len(self._calls)
            entry = self._calls.setdefault(index, {"id": "", "name": "", "arguments": []})
            if isinstance(piece.get("id"), str) and piece["id"]:
                entry["id"] = piece["id"]
            function = piece.get("function")
            if not isinstance(function, dict):
                continue
            name = function.get("name")
            if isinstance(name, str) and name and name != entry["name"]:
                entry["name"] += name
            arguments = function.get("arguments")
            if isinstance(arguments, str) and sum(map(len, entry["arguments"])) < (
                MAX_ARGUMENT_CHARS
            ):
                entry["arguments"].append(arguments)

    def calls(self) -> list[ToolCall]:
        return [
            ToolCall(
                id=entry["id"] or f"call_{uuid.uuid4().hex[:24]}",
                function=ToolFunction(
                    name=entry["name"],
                    arguments="".join(entry["arguments"])[:MAX_ARGUMENT_CHARS],
                ),
            )
            for _, entry in sorted(self._calls.items())
        ]

    def __bool__(self) -> bool:
        return bool(self._calls)


def parse_arguments(raw: str) -> dict[str, Any]:
    """The call's arguments as an object; ValueError with a short reason otherwise."""
    value = json.loads(raw) if raw.strip() else {}
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return value


def recovered_call(call_id: str) -> Message:
    """The answer to a call that was running when the process died (from its journal)."""
    return Message(
        role="tool",
        content=CLOSED_MID_CALL,
        tool_call_id=call_id,
        status=MessageStatus.INTERRUPTED,
    )


class ToolRounds:
    def __init__(
        self, store: Store, bus: EventBus, tools: ToolService, journal: CrashJournal
    ) -> None:
        self.store = store
        self.bus = bus
        self.tools = tools
        self.journal = journal

    async def run(self, state: ReplyState, calls: list[ToolCall]) -> None:
        """Run each call in order, storing each result below the message before it.

        Stopped midway, every call not finished is answered as stopped, so the history
        keeps the pairing of calls and results the API requires.
        """
        pending = list(calls)
        try:
            while pending:
                call = pending[0]
                started = time.monotonic()
                # While it runs, a journal file stands for the call: after a crash, the
                # next start answers it as interrupted, keeping calls and answers paired.
                entry = self.journal.open(
                    state.conversation_id,
                    state.agent.model,
                    state.agent.agent_id,
                    state.parent_id,
                    tool_call_id=call.id,
                )
                try:
                    text, is_error = await self._one(state, call)
                    await self._keep(state, call, text, is_error, started)
                finally:
                    entry.discard()
                pending.pop(0)
        except asyncio.CancelledError:
            for call in pending:
                stopped = STOPPED_CALL.format(tool=call.function.name)
                await asyncio.shield(
                    self._keep(state, call, stopped, True, time.monotonic(), stopped=True)
                )
            raise

    def _where(self, state: ReplyState, call: ToolCall) -> tuple[str, str]:
        tool = state.toolset.tools.get(call.function.name) if state.toolset else None
        return (tool.server, tool.name) if tool else ("", call.function.name)

    async def _one(self, state: ReplyState, call: ToolCall) -> tuple[str, bool]:
        cid = state.conversation_id
        server, name = self._where(state, call)
        shown = cap(call.function.arguments, SHOWN_CHARS)
        self.bus.publish(
            ToolCallStarted(
                conversation_id=cid, call_id=call.id, server=server, tool=name, arguments=shown
            )
        )
        tool = state.toolset.tools.get(call.function.name) if state.toolset else None
        if tool is None:
            return UNKNOWN_TOOL.format(tool=call.function.name), True
        try:
            arguments = parse_arguments(call.function.arguments)
        except ValueError as exc:
            return BAD_ARGUMENTS.format(tool=name, problem=str(exc)[:200]), True
        request = ApprovalRequest(
            call_id=call.id, conversation_id=cid, server=server, tool=name, arguments=shown
        )

        def publish(asked: ApprovalRequest) -> None:
            self.bus.publish(
                ToolApprovalRequested(
                    conversation_id=cid,
                    call_id=asked.call_id,
                    server=asked.server,
                    tool=asked.tool,
                    arguments=asked.arguments,
                )
            )

        if not await self.tools.approvals.decide(request, publish):
            return DENIED.format(tool=name), True
        try:
            result = await self.tools.call(tool, arguments)
        except McpError as exc:
            return exc.user_message, True
        return cap(result.text, MAX_RESULT_CHARS), result.is_error

    async def _keep(
        self,
        state: ReplyState,
        call: ToolCall,
        text: str,
        is_error: bool,
        started: float,
        *,
        stopped: bool = False,
    ) -> None:
        """Store one result as a `tool` message answering `call`, and tell everyone."""
        cid = state.conversation_id
        duration = (time.monotonic() - started) * 1000
        status = MessageStatus.COMPLETE
        if is_error:
            status = MessageStatus.STOPPED if stopped else MessageStatus.FAILED
        message = Message(
            role="tool",
            content=text,
            tool_call_id=call.id,
            status=status,
            duration_ms=duration,
        )
        stored = await self.store.run(
            lambda r: r.messages.append(cid, message, parent=state.parent_id)
        )
        state.parent_id = stored.id
        state.last_stored = stored
        state.request.append(stored.as_chat())
        server, name = self._where(state, call)
        self.bus.publish(MessageStored(conversation_id=cid, message=stored))
        self.bus.publish(
            ToolCallFinished(
                conversation_id=cid,
                call_id=call.id,
                server=server,
                tool=name,
                result=cap(text, SHOWN_CHARS),
                is_error=is_error,
                duration_ms=duration,
                message_id=stored.id,
            )
        )


def paired(messages: list[Message]) -> list[Message]:
    """The history with every tool call answered and every answer called, as the API needs.

    Results answer the calls of the assistant message just before them. A call whose
    result is missing (the process died while it ran, or the round cap was reached) is
    left out of its message, and a result whose call is gone is dropped; a message left
    with neither text, calls nor files is dropped too.
    """
    kept: list[Message] = []
    offered: set[str] = set()
    for index, message in enumerate(messages):
        if message.role == "tool":
            if message.tool_call_id in offered:
                offered.discard(message.tool_call_id)
                kept.append(message)
            continue
        offered = set()
        if message.tool_calls:
            answered = set()
            for later in messages[index + 1 :]:
                if later.role != "tool":
                    break
                answered.add(later.tool_call_id)
            calls = [c for c in message.tool_calls if c.id in answered]
            offered = {c.id for c in calls}
            message = message.model_copy(update={"tool_calls": calls or None})
        if message.content or message.tool_calls or message.attachments:
            kept.append(message)
    return kept

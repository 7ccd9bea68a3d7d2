"""Replies in flight: each one streamed, journalled, and written once when it ends.

The conversation service decides what a reply answers (the path it sends, the message it
follows); this runner owns the reply from there: it waits for a request slot, streams the
deltas to the bus and the crash journal, and stores the reply exactly once, complete,
stopped, failed or interrupted, keeping whatever text came. After a crash, the next start
turns the journal into stored replies (`recover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_chat.engine.attachments import carries_images, request_message
from desktop_chat.engine.auto_titles import write_title
from desktop_chat.engine.claims import Claim
from desktop_chat.engine.clients import Upstream
from desktop_chat.engine.events import (
    EventBus,
    MessageStored,
    ReplyDelta,
    ReplyDone,
    ReplyFailed,
    ReplyStarted,
)
from desktop_chat.engine.journal import CrashJournal
from desktop_chat.engine.memory import release_freed_memory
from desktop_chat.engine.notices import publish_path
from desktop_chat.engine.reply import ReplyState
from desktop_chat.engine.tool_rounds import CallAssembler, ToolRounds, paired, recovered_call
from desktop_chat.llm import Delta, ErrorKind, Finish, LLMError
from desktop_chat.schemas import (
    Agent,
    ChatMessage,
    ConversationDetail,
    Message,
    MessageStatus,
    ToolCall,
    UsageRecord,
)
from desktop_chat.sentences import N_
from desktop_chat.store import AT_LEAF, Store, StoreError
from desktop_chat.store.files import files_folder

if TYPE_CHECKING:
    from desktop_chat.engine.tools import ToolService
    from desktop_chat.llm.client import LLMClient

log = logging.getLogger(__name__)

# The sentences, marked for translation (desktop_chat/sentences.py).
REPLY_BUG = N_("Something went wrong while writing the reply; the details are in the log.")
NOT_SAVED = N_("{problem} The reply is kept, and is saved the next time desktop_chat starts.")
CLOSED_MID_REPLY = N_("desktop_chat closed before this reply finished.")
TOO_MANY_ROUNDS = N_(
    "The model asked for tools more than {rounds} times in one reply, the most allowed; "
    "its last calls were not run. Send a message to let it go on, or raise the limit in "
    "Settings."
)

# How long closing waits for automatic titles still being asked for: a title is a nicety,
# and a server that never answers must not hold the command line (or the window) open.
TITLE_GRACE = 2.0


def request_history(messages: list[Message], files: Path | None = None) -> list[ChatMessage]:
    """Role, content, attached files, and tool calls with their results (paired) are sent;
    empty failed replies are left out.

    `files` is the folder of attached files; without it, files are left out.
    """
    kept = paired(messages)
    if files is None:
        return [m.as_chat() for m in kept]
    return [request_message(m, files) for m in kept]


class ReplyRunner:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        journal: CrashJournal,
        upstream: Upstream,
        auto_title: Callable[[], bool],
        tools: ToolService | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.journal = journal
        self.upstream = upstream
        self.tools: ToolService | None = None
        self._rounds: ToolRounds | None = None
        if tools is not None:
            self.use_tools(tools)
        self._auto_title_on = auto_title  # read when a first reply ends: settings change
        self.closing = False
        self._replies: dict[str, ReplyState] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._titles: set[asyncio.Task[None]] = set()

    def use_tools(self, tools: ToolService) -> None:
        self.tools = tools
        self._rounds = ToolRounds(self.store, self.bus, tools, self.journal)

    def in_flight(self, conversation_id: str) -> ReplyState | None:
        return self._replies.get(conversation_id)

    @property
    def active(self) -> list[ReplyState]:
        return list(self._replies.values())

    @property
    def requests_in_flight(self) -> int:
        """Replies holding a request slot: waiting for the first token or streaming."""
        return sum(1 for state in self._replies.values() if not state.queued)

    @property
    def requests_queued(self) -> int:
        """Replies waiting for a free slot because every slot is taken."""
        return sum(1 for state in self._replies.values() if state.queued)

    def start(
        self,
        conversation: ConversationDetail,
        agent: Agent,
        history: list[Message],
        claim: Claim,
        *,
        adds_version: bool = False,
    ) -> None:
        """Answer the last message of `history`, the path the request sends."""
        preset = conversation.preset_messages
        if preset is None:
            preset = agent.preset_messages
        state = ReplyState(
            conversation_id=conversation.id,
            agent=agent,
            request=list(preset),
            history=history,
            parent_id=history[-1].id if history else None,
            adds_version=adds_version,
            claim=claim,
        )
        self._replies[conversation.id] = state
        task = asyncio.get_running_loop().create_task(
            self._run(state), name=f"reply-{conversation.id}"
        )
        state.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.bus.publish(
            ReplyStarted(
                conversation_id=conversation.id, agent_id=agent.agent_id, model=agent.model
            )
        )

    async def _run(self, state: ReplyState) -> None:
        cid = state.conversation_id
        finish = Finish()
        error: LLMError | None = None
        status = MessageStatus.COMPLETE
        first_reply = all(m.role != "assistant" for m in [*state.request, *state.history])
        try:
            # Off the event loop: the files of the conversation are read and encoded.
            folder = files_folder(self.store.path)
            sent = await self.store.run(lambda _: request_history(state.history, folder))
            state.request.extend(sent)
            if self.tools is not None:
                state.toolset = await self.tools.toolset_for(state.agent)
            while True:
                finish = await self._stream(state)
                if not state.calls:
                    break
                if state.rounds >= self.tools.max_rounds:  # type: ignore[union-attr]
                    limit = TOO_MANY_ROUNDS.format(rounds=state.rounds)
                    status, error = MessageStatus.FAILED, LLMError(ErrorKind.TOOL_ROUNDS, limit)
                    break
                await self._tool_round(state, finish)
        except asyncio.CancelledError:
            status = MessageStatus.STOPPED if state.stop_requested else MessageStatus.INTERRUPTED
        except LLMError as exc:
            status, error = MessageStatus.FAILED, exc
        except Exception:
            log.exception("Reply in %s failed unexpectedly", cid)
            status = MessageStatus.FAILED
            error = LLMError(ErrorKind.SERVER, REPLY_BUG)
        stored = await self._store(state, status, finish, error)
        if carries_images(state.request) and state.task is not None:
            # Once the reply has let go of its request (the images as base64 text): the
            # task's callbacks run after its coroutine, and with it the state, is gone.
            state.task.add_done_callback(lambda _: self._release_memory())
        state.task = None  # the state is freed when the reply ends, not by a later collection
        if stored and first_reply and status is MessageStatus.COMPLETE and self._auto_title_on():
            first_user = next((m.content for m in state.request if m.role == "user"), "")
            # A task of its own: the reply is done, and closing need not wait for a title.
            task = asyncio.get_running_loop().create_task(
                write_title(self.upstream, self.store, self.bus, state.agent, cid, first_user),
                name=f"title-{cid}",
            )
            self._titles.add(task)
            task.add_done_callback(self._titles.discard)

    async def _stream(self, state: ReplyState) -> Finish:
        """One turn of the model: stream it to the bus and the journal; its finish."""
        finish = Finish()
        async with self.upstream.slots:
            if state.queued:
                state.queued = False
                state.started = time.monotonic()
            state.journal = self.journal.open(
                state.conversation_id, state.agent.model, state.agent.agent_id, state.parent_id
            )
            client = await self.upstream.client_for(state.agent)
            tools = state.toolset.specs() if state.toolset else None
            try:
                finish = await self._consume(state, client, tools)
            except LLMError as exc:
                if not (tools and _refuses_tools(exc) and state.first_token is None):
                    raise
                # A model or server without tool support: answer without tools rather than
                # fail every reply of an agent left at "all".
                log.warning("%s refused tools (%s); replying without", state.agent.model, exc.kind)
                state.toolset = None
                finish = await self._consume(state, client, None)
        return finish

    async def _consume(
        self, state: ReplyState, client: LLMClient, tools: list[dict[str, Any]] | None
    ) -> Finish:
        finish = Finish()
        async for item in client.stream_chat(
            state.agent.model, state.request, state.agent.params, tools
        ):
            if isinstance(item, Delta):
                self._on_delta(state, item)
            else:
                finish = item
        return finish

    async def _tool_round(self, state: ReplyState, finish: Finish) -> None:
        """Store the turn that called tools, run the calls, and set up the next turn."""
        assert self._rounds is not None and state.calls is not None
        calls = state.calls.calls()
        turn = await self._write(state, MessageStatus.COMPLETE, finish, None, calls)
        if state.journal is not None:
            state.journal.discard()
            state.journal = None
        state.request.append(turn.as_chat())
        state.rounds += 1
        state.text, state.reasoning, state.calls = [], [], None
        state.started, state.first_token = time.monotonic(), None  # the next turn's timings
        await self._rounds.run(state, calls)

    def _on_delta(self, state: ReplyState, delta: Delta) -> None:
        if delta.tool_calls:
            if state.calls is None:
                state.calls = CallAssembler()
            state.calls.feed(delta.tool_calls)
        if state.first_token is None:
            state.first_token = time.monotonic()
        if delta.text:
            state.text.append(delta.text)
        if delta.reasoning:
            state.reasoning.append(delta.reasoning)
        if state.journal is not None:
            state.journal.append(delta.text, delta.reasoning)
        event = ReplyDelta(
            conversation_id=state.conversation_id, text=delta.text, reasoning=delta.reasoning
        )
        state.events.append(self.bus.publish(event))

    def _turn(
        self,
        state: ReplyState,
        status: MessageStatus,
        finish: Finish,
        error: LLMError | None,
        calls: list[ToolCall] | None = None,
    ) -> tuple[Message, UsageRecord]:
        """The turn streamed so far as a message, and its request's usage record."""
        now = time.monotonic()
        ttft = (state.first_token - state.started) * 1000 if state.first_token else None
        message = Message(
            role="assistant",
            content=state.content,
            reasoning=state.reasoning_text,
            status=status,
            error=error.user_message if error else None,
            prompt_tokens=finish.prompt_tokens,
            completion_tokens=finish.completion_tokens,
            model=state.agent.model,
            finish_reason=finish.finish_reason,
            ttft_ms=ttft,
            duration_ms=(now - state.started) * 1000,
            tool_calls=calls or None,
        )
        usage = UsageRecord(
            conversation_id=state.conversation_id,
            agent_id=state.agent.agent_id,
            model=state.agent.model,
            status=status,
            prompt_tokens=finish.prompt_tokens,
            completion_tokens=finish.completion_tokens,
            ttft_ms=ttft,
            duration_ms=message.duration_ms,
            error_kind=error.kind.value if error else None,
        )
        return message, usage

    async def _write(
        self,
        state: ReplyState,
        status: MessageStatus,
        finish: Finish,
        error: LLMError | None,
        calls: list[ToolCall] | None = None,
    ) -> Message:
        """Write a turn below the message before it (raises StoreError), and tell everyone."""
        cid = state.conversation_id
        message, usage = self._turn(state, status, finish, error, calls)
        stored = await asyncio.shield(
            self.store.run(lambda r: r.messages.append(cid, message, usage, parent=state.parent_id))
        )
        state.parent_id = stored.id
        state.last_stored = stored
        self.bus.publish(MessageStored(conversation_id=cid, message=stored))
        return stored

    async def _store(
        self, state: ReplyState, status: MessageStatus, finish: Finish, error: LLMError | None
    ) -> bool:
        """Write the reply once; if the write fails, the journal keeps it for next start."""
        cid = state.conversation_id
        state.storing = True
        message, _ = self._turn(state, status, finish, error)
        ttft = message.ttft_ms
        calls = state.calls.calls() if state.calls else None
        # Stopped (or failed) between turns: the turns and results stored are the reply.
        nothing_new = not (state.content or state.reasoning_text or calls)
        stored: Message | None = None
        try:
            if (
                nothing_new
                and state.last_stored is not None
                and status is not (MessageStatus.COMPLETE)
            ):
                stored = state.last_stored
            else:
                stored = await self._write(state, status, finish, error, calls)
        except StoreError as exc:
            log.error("Could not store the reply in %s: %s", cid, exc.kind)
            not_saved = LLMError(ErrorKind.NOT_SAVED, NOT_SAVED.format(problem=exc.user_message))
        else:
            not_saved = None
        finally:
            if state.journal is not None:
                if stored is not None:
                    state.journal.discard()
                else:
                    state.journal.close(
                        {
                            "status": status.value,
                            "error": message.error,
                            "finish_reason": finish.finish_reason,
                        }
                    )
            self._replies.pop(cid, None)
            if state.claim is not None:
                state.claim.release()
        if stored is not None and state.adds_version:  # the switcher counts the others
            with contextlib.suppress(StoreError):  # deleted meanwhile: nothing to show
                await publish_path(self.store, self.bus, cid)
        for problem in (error, not_saved):
            if problem is not None:
                self.bus.publish(
                    ReplyFailed(
                        conversation_id=cid,
                        kind=problem.kind.value,
                        message=problem.user_message,
                        retryable=problem.retryable,
                        retry_after=problem.retry_after,
                    )
                )
        self.bus.publish(
            ReplyDone(
                conversation_id=cid,
                status=status,
                message_id=stored.id if stored else None,
                finish_reason=finish.finish_reason,
                prompt_tokens=finish.prompt_tokens,
                completion_tokens=finish.completion_tokens,
                ttft_ms=ttft,
                duration_ms=message.duration_ms,
            )
        )
        return stored is not None

    def _release_memory(self) -> None:
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(release_freed_memory))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, conversation_id: str) -> bool:
        """Stop the reply in flight, keep its partial text, and wait until it is stored."""
        state = self._replies.get(conversation_id)
        if state is None or state.task is None:
            return False
        state.stop_requested = True
        if not state.storing:
            state.task.cancel()
        await asyncio.wait([state.task])
        if self._replies.get(conversation_id) is state:  # cancelled before its first step
            await self._store(state, MessageStatus.STOPPED, Finish(), None)
        return True

    async def recover(self) -> int:
        """Store the partial replies of a process that died mid-stream, marked interrupted."""
        recovered = 0
        for orphan in self.journal.orphans():
            message = Message(
                role="assistant",
                content=orphan.text,
                reasoning=orphan.reasoning,
                model=orphan.model,
                **_recovered_ending(orphan.ending),
            )
            if orphan.tool_call_id is not None:  # a call that was running: its answer
                message = recovered_call(orphan.tool_call_id)
            parent = AT_LEAF if orphan.parent_id is None else orphan.parent_id
            try:
                await self.store.run(
                    lambda r, o=orphan, m=message, p=parent: r.messages.append(
                        o.conversation_id, m, parent=p, keep_path=True
                    )
                )
                recovered += 1
            except StoreError as exc:
                if exc.kind != "not_found":
                    raise
            self.journal.forget(orphan.conversation_id)
        if recovered:
            log.info("Recovered %d interrupted replies", recovered)
        return recovered

    async def aclose(self) -> None:
        """Stop every reply (stored as interrupted), wait for the writes, close connections."""
        self.closing = True
        for state in list(self._replies.values()):
            if state.task is not None and not state.storing:
                state.task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        for state in list(self._replies.values()):  # cancelled before their first step
            await self._store(state, MessageStatus.INTERRUPTED, Finish(), None)
        if self._titles:
            _, late = await asyncio.wait(list(self._titles), timeout=TITLE_GRACE)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        await self.upstream.aclose()

    # Live figures (the Manage window) ------------------------------------------------


def _refuses_tools(exc: LLMError) -> bool:
    """A 400 that names tools: Ollama's "does not support tools", vLLM's tool choice, ..."""
    said = f"{exc.detail} {exc.user_message}".lower()
    return exc.kind is ErrorKind.BAD_REQUEST and "tool" in said


def _recovered_ending(ending: dict[str, object] | None) -> dict[str, object]:
    """How a recovered reply ended: as recorded when it was kept, else interrupted."""
    interrupted: dict[str, object] = {
        "status": MessageStatus.INTERRUPTED,
        "error": CLOSED_MID_REPLY,
    }
    if ending is None:
        return interrupted
    try:
        status = MessageStatus(ending.get("status"))
    except ValueError:
        return interrupted
    error, reason = ending.get("error"), ending.get("finish_reason")
    return {
        "status": status,
        "error": error if isinstance(error, str) else None,
        "finish_reason": reason if isinstance(reason, str) else None,
    }

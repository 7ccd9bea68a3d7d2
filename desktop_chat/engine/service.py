"""ConversationService: the one place that runs a conversation's life.

The window, the command line and the local API all call this service and listen to its
events; none of them talks to the database or the model directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from desktop_chat.engine import stats
from desktop_chat.engine.clients import ClientPool
from desktop_chat.engine.context_rules import rebase_history
from desktop_chat.engine.errors import (
    CLOSING,
    EMPTY_MESSAGE,
    MESSAGE_TOO_LONG,
    NOTHING_TO_ANSWER,
    EngineError,
    InputError,
    NoAgentError,
    ReplyInProgressError,
)
from desktop_chat.engine.events import (
    ConversationChanged,
    ConversationDeleted,
    EventBus,
    HistoryChanged,
    MessageStored,
    ReplyDelta,
    ReplyDone,
    ReplyFailed,
    ReplyStarted,
    TitleChanged,
)
from desktop_chat.engine.journal import CrashJournal
from desktop_chat.engine.locks import LockTable
from desktop_chat.engine.reply import ReplyState
from desktop_chat.engine.session_keys import SessionKeyNotes
from desktop_chat.engine.titles import clean_title, snippet_title, title_request
from desktop_chat.llm import Delta, ErrorKind, Finish, LLMError
from desktop_chat.schemas import (
    MAX_MESSAGE_CHARS,
    Agent,
    ChatMessage,
    Context,
    ContextEntry,
    Conversation,
    ConversationDetail,
    Message,
    MessageStatus,
    SearchHit,
    UsageRecord,
    UsageStats,
    new_id,
)
from desktop_chat.secrets import SecretStore
from desktop_chat.sentences import N_
from desktop_chat.store import NotFoundError, Store, StoreError
from desktop_chat.transfer import ImportedConversation

if TYPE_CHECKING:
    from desktop_chat.llm.client import LLMClient

log = logging.getLogger(__name__)

# The sentences, marked for translation (desktop_chat/sentences.py).
REPLY_BUG = N_("Something went wrong while writing the reply; the details are in the log.")
NOT_SAVED = N_(
    "{problem} The reply is kept, and is saved the next time desktop_chat starts."
)
SESSION_KEY_GONE = N_(
    "This agent's API key was kept for the last session only, so it is gone since "
    "desktop_chat restarted. Enter it again in Settings → Agents."
)
CLOSED_MID_REPLY = N_("desktop_chat closed before this reply finished.")


@dataclass
class EngineConfig:
    max_concurrent_requests: int = 4
    request_timeout: float = 60.0
    http_proxy: str | None = None
    auto_title: bool = True


def request_history(messages: list[Message]) -> list[ChatMessage]:
    """Only role and content are sent; empty failed replies are left out."""
    return [m.as_chat() for m in messages if m.content]


class ConversationService:
    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        journal: CrashJournal,
        config: EngineConfig | None = None,
        bus: EventBus | None = None,
        session_keys: SessionKeyNotes | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.session_keys = session_keys or SessionKeyNotes()
        self.journal = journal
        self.config = config or EngineConfig()
        self.bus = bus or EventBus()
        self._locks = LockTable()
        self._semaphore = asyncio.Semaphore(self.config.max_concurrent_requests)
        self._clients = ClientPool(self.config.request_timeout, self.config.http_proxy)
        self._replies: dict[str, ReplyState] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # Agents ------------------------------------------------------------------------

    async def list_agents(self) -> list[Agent]:
        return await self.store.run(lambda r: r.list_agents())

    async def get_agent(self, name_or_id: str) -> Agent:
        return await self.store.run(lambda r: r.find_agent(name_or_id))

    async def save_agent(self, agent: Agent) -> Agent:
        return await self.store.run(lambda r: r.save_agent(agent))

    async def delete_agent(self, agent_id: str) -> None:
        await self.store.run(lambda r: r.delete_agent(agent_id))

    async def list_models(self, agent: Agent, api_key: str | None = None) -> list[str]:
        """The server's models; `api_key` tests a key the user typed but has not saved."""
        client = (
            await self._clients.get(agent.base_url, api_key)
            if api_key
            else await self._client_for(agent)
        )
        return await client.list_models()

    # Conversations -----------------------------------------------------------------

    async def create_conversation(
        self,
        agent_id: str | None = None,
        title: str = "",
        owner: str = "local",
        context: Context | None = None,
    ) -> ConversationDetail:
        if agent_id is None:
            agent = await self.store.run(lambda r: r.default_agent())
            agent_id = agent.agent_id if agent else None
        conversation = Conversation(
            agent_id=agent_id,
            title=title.strip()[:200],
            owner=owner,
            preset_messages=context.preset if context is not None else None,
        )
        created = await self.store.run(lambda r: r.create_conversation(conversation))
        if context is not None and context.history:
            await self.store.run(lambda r: r.replace_history(created.id, context.history))
            created = await self.get_conversation(created.id)
        self._changed(created)
        return created

    async def list_conversations(
        self,
        owner: str | None = None,
        query: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        after: Conversation | None = None,
    ) -> list[Conversation]:
        """Pinned first, then most recent; `after` (the last of a page) starts the next page."""
        return await self.store.run(
            lambda r: r.list_conversations(
                owner=owner, query=query, limit=limit, offset=offset, after=after
            )
        )

    async def search_hits(self, conversation_ids: list[str], query: str) -> list[SearchHit]:
        """Where `query` matched each of these conversations (listed by a search)."""
        return await self.store.run(lambda r: r.search_hits(conversation_ids, query))

    async def get_conversation(
        self, conversation_id: str, owner: str | None = None
    ) -> ConversationDetail:
        return await self.store.run(lambda r: r.get_conversation(conversation_id, owner))

    async def conversation_summary(
        self, conversation_id: str, owner: str | None = None
    ) -> Conversation:
        """The conversation without its messages: for ownership checks and the list."""
        return await self.store.run(lambda r: r.conversation_summary(conversation_id, owner))

    async def update_conversation(
        self,
        conversation_id: str,
        *,
        title: str | None = None,
        pinned: bool | None = None,
        agent_id: str | None = None,
        owner: str | None = None,
    ) -> Conversation:
        if title is not None:
            title = title.strip()[:200]
        updated = await self.store.run(
            lambda r: r.update_conversation(
                conversation_id, title=title, pinned=pinned, agent_id=agent_id, owner=owner
            )
        )
        self._changed(updated)
        if title is not None:
            self.bus.publish(TitleChanged(conversation_id=conversation_id, title=updated.title))
        return updated

    async def save_draft(self, conversation_id: str, draft: str) -> None:
        await self.store.run(lambda r: r.update_conversation(conversation_id, draft=draft))

    async def delete_conversation(self, conversation_id: str, owner: str | None = None) -> None:
        await self.conversation_summary(conversation_id, owner)
        await self.stop(conversation_id)
        async with self._locks.hold(conversation_id):
            if conversation_id in self._replies:  # started by a send that held the lock
                await self.stop(conversation_id)
            await self.store.run(lambda r: r.delete_conversation(conversation_id, owner))
        self.journal.forget(conversation_id)
        self.bus.publish(ConversationDeleted(conversation_id=conversation_id))

    async def export(
        self, conversation_ids: list[str] | None = None, owner: str | None = None
    ) -> list[ConversationDetail]:
        """Whole conversations for export; all of the owner's when no ids are given."""
        if not conversation_ids:
            listed = await self.list_conversations(owner=owner)
            conversation_ids = [c.id for c in listed]
        return [await self.get_conversation(cid, owner) for cid in conversation_ids]

    async def import_conversations(
        self, items: list[ImportedConversation], owner: str = "local"
    ) -> list[str]:
        prepared = []
        for item in items:
            messages = item.to_messages()
            first = messages[0].created_at if messages else None
            last = messages[-1].created_at if messages else None
            conversation = Conversation(
                id=item.session_id or new_id(),
                agent_id=item.agent_id,
                title=item.title
                or snippet_title(next((m.content for m in messages if m.role == "user"), "")),
                owner=owner,
                pinned=item.pinned,
                preset_messages=item.preset_messages,
                **({"created_at": first, "updated_at": last} if first and last else {}),
            )
            prepared.append((conversation, messages))
        created = await self.store.run(lambda r: r.import_conversations(prepared))
        summaries = await self.store.run(lambda r: [r.conversation_summary(c) for c in created])
        for summary in summaries:
            self._changed(summary)
        return created

    # Context -----------------------------------------------------------------------

    async def get_context(self, conversation_id: str, owner: str | None = None) -> Context:
        conversation = await self.get_conversation(conversation_id, owner)
        agent = await self._agent_of(conversation)
        preset = conversation.preset_messages
        if preset is None:
            preset = agent.preset_messages if agent else []
        history = [
            ContextEntry(id=m.id, role=m.role, content=m.content)
            for m in conversation.messages
            if m.content
        ]
        return Context(preset=preset, history=history)

    async def replace_context(
        self,
        conversation_id: str,
        context: Context,
        owner: str | None = None,
        *,
        missing_as_new: bool = False,
    ) -> Context:
        """Make `context` the conversation's prompt and history.

        An entry naming a message that is gone is refused (NotFoundError); with
        `missing_as_new`, for a copy edited since it was read (the window's context
        editor), it is stored as a new message instead: see engine.context_rules.
        """
        async with self._locks.hold(conversation_id):
            self._refuse_if_busy(conversation_id)
            if missing_as_new:
                stored = await self.get_conversation(conversation_id, owner)
                history = rebase_history(context.history, (m.id for m in stored.messages))
                context = context.model_copy(update={"history": history})
            await self.store.run(
                lambda r: r.update_conversation(
                    conversation_id, preset_messages=context.preset, owner=owner
                )
            )
            await self.store.run(lambda r: r.replace_history(conversation_id, context.history))
        await self._history_changed(conversation_id)
        return await self.get_context(conversation_id)

    # Replies -----------------------------------------------------------------------

    def in_flight(self, conversation_id: str) -> ReplyState | None:
        return self._replies.get(conversation_id)

    @property
    def active_replies(self) -> list[ReplyState]:
        return list(self._replies.values())

    async def send(self, conversation_id: str, text: str, owner: str | None = None) -> Message:
        """Store the user's message and start the reply; returns the stored user message."""
        self._check_text(text)
        async with self._locks.hold(conversation_id):
            self._refuse_if_busy(conversation_id)
            conversation = await self.get_conversation(conversation_id, owner)
            agent = await self._require_agent(conversation)
            user = await self.store.run(
                lambda r: r.append_message(conversation_id, Message(role="user", content=text))
            )
            self.bus.publish(MessageStored(conversation_id=conversation_id, message=user))
            if not conversation.title:
                await self._set_title(conversation_id, snippet_title(text))
            history = [*conversation.messages, user]
            self._start_reply(conversation, agent, history)
        return user

    async def regenerate(self, conversation_id: str, owner: str | None = None) -> None:
        """Drop the last reply (if any) and ask again with the same history."""
        async with self._locks.hold(conversation_id):
            self._refuse_if_busy(conversation_id)
            conversation = await self.get_conversation(conversation_id, owner)
            agent = await self._require_agent(conversation)
            history = list(conversation.messages)
            while history and history[-1].role == "assistant":
                last = history.pop()
                assert last.id is not None
                await self.store.run(lambda r, i=last.id: r.delete_message(conversation_id, i))
            if not history or history[-1].role != "user":
                raise InputError(NOTHING_TO_ANSWER)
            await self._history_changed(conversation_id)
            self._start_reply(conversation, agent, history)

    async def delete_message(
        self, conversation_id: str, message_id: int, owner: str | None = None
    ) -> None:
        async with self._locks.hold(conversation_id):
            self._refuse_if_busy(conversation_id)
            await self.conversation_summary(conversation_id, owner)
            await self.store.run(lambda r: r.delete_message(conversation_id, message_id))
        await self._history_changed(conversation_id)

    async def edit_and_resend(
        self, conversation_id: str, message_id: int, text: str, owner: str | None = None
    ) -> Message:
        """Replace a user message (and drop everything after it), then ask again."""
        self._check_text(text)
        async with self._locks.hold(conversation_id):
            self._refuse_if_busy(conversation_id)
            conversation = await self.get_conversation(conversation_id, owner)
            agent = await self._require_agent(conversation)
            ids = [m.id for m in conversation.messages]
            if message_id not in ids:
                raise NotFoundError("message", str(message_id))
            kept = conversation.messages[: ids.index(message_id)]
            entries = [ContextEntry(id=m.id, role=m.role, content=m.content) for m in kept]
            await self.store.run(lambda r: r.replace_history(conversation_id, entries))
            user = await self.store.run(
                lambda r: r.append_message(conversation_id, Message(role="user", content=text))
            )
            detail = await self.get_conversation(conversation_id)
            await self._history_changed(conversation_id)
            self.bus.publish(MessageStored(conversation_id=conversation_id, message=user))
            self._start_reply(conversation, agent, detail.messages)
        return user

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
            await self._store_reply(state, MessageStatus.STOPPED, Finish(), None)
        return True

    @staticmethod
    def _check_text(text: str) -> None:
        if not text or not text.strip():
            raise InputError(EMPTY_MESSAGE)
        if len(text) > MAX_MESSAGE_CHARS:
            raise InputError(
                MESSAGE_TOO_LONG.format(length=f"{len(text):,}", limit=f"{MAX_MESSAGE_CHARS:,}")
            )

    def _refuse_if_busy(self, conversation_id: str) -> None:
        if conversation_id in self._replies:
            raise ReplyInProgressError()
        if self._closing:
            raise EngineError("closing", CLOSING)

    def _start_reply(
        self, conversation: ConversationDetail, agent: Agent, history: list[Message]
    ) -> None:
        preset = conversation.preset_messages
        if preset is None:
            preset = agent.preset_messages
        state = ReplyState(
            conversation_id=conversation.id,
            agent=agent,
            request=[*preset, *request_history(history)],
        )
        self._replies[conversation.id] = state
        task = asyncio.get_running_loop().create_task(
            self._run_reply(state), name=f"reply-{conversation.id}"
        )
        state.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.bus.publish(
            ReplyStarted(
                conversation_id=conversation.id, agent_id=agent.agent_id, model=agent.model
            )
        )

    async def _run_reply(self, state: ReplyState) -> None:
        cid = state.conversation_id
        finish = Finish()
        error: LLMError | None = None
        status = MessageStatus.COMPLETE
        first_reply = all(m.role != "assistant" for m in state.request)
        try:
            async with self._semaphore:
                state.queued = False
                state.started = time.monotonic()
                state.journal = self.journal.open(cid, state.agent.model, state.agent.agent_id)
                client = await self._client_for(state.agent)
                async for item in client.stream_chat(
                    state.agent.model, state.request, state.agent.params
                ):
                    if isinstance(item, Delta):
                        self._on_delta(state, item)
                    else:
                        finish = item
        except asyncio.CancelledError:
            status = MessageStatus.STOPPED if state.stop_requested else MessageStatus.INTERRUPTED
        except LLMError as exc:
            status, error = MessageStatus.FAILED, exc
        except Exception:
            log.exception("Reply in %s failed unexpectedly", cid)
            status = MessageStatus.FAILED
            error = LLMError(ErrorKind.SERVER, REPLY_BUG)
        stored = await self._store_reply(state, status, finish, error)
        if stored and first_reply and status is MessageStatus.COMPLETE and self.config.auto_title:
            await self._auto_title(state)

    def _on_delta(self, state: ReplyState, delta: Delta) -> None:
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

    async def _store_reply(
        self, state: ReplyState, status: MessageStatus, finish: Finish, error: LLMError | None
    ) -> bool:
        """Write the reply once; if the write fails, the journal keeps it for next start."""
        cid = state.conversation_id
        state.storing = True
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
        )
        usage = UsageRecord(
            conversation_id=cid,
            agent_id=state.agent.agent_id,
            model=state.agent.model,
            status=status,
            prompt_tokens=finish.prompt_tokens,
            completion_tokens=finish.completion_tokens,
            ttft_ms=ttft,
            duration_ms=message.duration_ms,
            error_kind=error.kind.value if error else None,
        )
        stored: Message | None = None
        try:
            stored = await asyncio.shield(
                self.store.run(lambda r: r.append_message(cid, message, usage))
            )
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
        if stored is not None:
            self.bus.publish(MessageStored(conversation_id=cid, message=stored))
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

    async def _auto_title(self, state: ReplyState) -> None:
        first_user = next((m.content for m in state.request if m.role == "user"), "")
        try:
            async with self._semaphore:
                client = await self._client_for(state.agent)
                raw = await client.complete(state.agent.model, title_request(first_user))
        except LLMError as exc:
            log.info("Automatic title failed (%s); keeping the first words", exc.kind)
            return
        title = clean_title(raw)
        if title:
            try:
                await self._set_title(state.conversation_id, title)
            except StoreError:
                log.info("Conversation %s went away before its title", state.conversation_id)

    async def _set_title(self, conversation_id: str, title: str) -> None:
        await self.store.run(lambda r: r.update_conversation(conversation_id, title=title))
        self.bus.publish(TitleChanged(conversation_id=conversation_id, title=title))

    # Helpers -----------------------------------------------------------------------

    def _changed(self, conversation: Conversation) -> None:
        summary = Conversation.model_validate(conversation, from_attributes=True)
        self.bus.publish(ConversationChanged(conversation_id=summary.id, conversation=summary))

    async def _history_changed(self, conversation_id: str) -> None:
        """Tell views to read the messages again, and the list the new count and time."""
        summary = await self.store.run(lambda r: r.conversation_summary(conversation_id))
        self.bus.publish(HistoryChanged(conversation_id=conversation_id, conversation=summary))

    async def _agent_of(self, conversation: Conversation) -> Agent | None:
        if conversation.agent_id is not None:
            return await self.store.run(lambda r: r.get_agent(conversation.agent_id or ""))
        return await self.store.run(lambda r: r.default_agent())

    async def _require_agent(self, conversation: Conversation) -> Agent:
        agent = await self._agent_of(conversation)
        if agent is None:
            raise NoAgentError()
        return agent

    async def usage_stats(self, owner: str | None = None, days: int = 30) -> UsageStats:
        """Counts over all time; latency and per-day figures over the last `days` days."""
        now = datetime.now(UTC)
        since = stats.recent_period_start(days, now)
        totals, records = await self.store.run(
            lambda r: (r.usage_stats(owner), r.list_usage(since, owner))
        )
        # Medians sort every request of the period: keep that off the event loop.
        return await asyncio.to_thread(stats.with_recent, totals, records, days, now)

    async def warm_up(self) -> None:
        """Load what the first request needs while the user is still reading or typing."""
        await self._clients.preload()

    async def _client_for(self, agent: Agent) -> LLMClient:
        # The keyring may talk over D-Bus: keep that off the event loop.
        key = await asyncio.to_thread(self.secrets.get, agent.key_ref)
        if key is None and self.session_keys.lapsed(agent.key_ref):
            raise LLMError(ErrorKind.NO_KEY, SESSION_KEY_GONE)
        return await self._clients.get(agent.base_url, key)

    # Life cycle --------------------------------------------------------------------

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
            try:
                await self.store.run(
                    lambda r, o=orphan, m=message: r.append_message(o.conversation_id, m)
                )
                recovered += 1
            except StoreError as exc:
                if exc.kind != "not_found":
                    raise
            self.journal.forget(orphan.conversation_id)
        if recovered:
            log.info("Recovered %d interrupted replies", recovered)
        return recovered

    async def reconfigure(self, config: EngineConfig) -> None:
        """Apply new settings; the concurrency limit changes for requests not yet queued."""
        if config.max_concurrent_requests != self.config.max_concurrent_requests:
            self._semaphore = asyncio.Semaphore(config.max_concurrent_requests)
        self.config = config
        await self._clients.reconfigure(config.request_timeout, config.http_proxy)

    async def aclose(self) -> None:
        """Stop every reply (stored as interrupted), wait for the writes, close connections."""
        self._closing = True
        for state in list(self._replies.values()):
            if state.task is not None and not state.storing:
                state.task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        for state in list(self._replies.values()):  # cancelled before their first step
            await self._store_reply(state, MessageStatus.INTERRUPTED, Finish(), None)
        await self._clients.aclose()

    # Live figures (the Manage window) ------------------------------------------------

    @property
    def max_concurrent(self) -> int:
        """How many requests may stream at once (the request semaphore's size)."""
        return self.config.max_concurrent_requests

    @property
    def requests_in_flight(self) -> int:
        """Replies holding a slot of the semaphore: waiting for the first token or streaming."""
        return sum(1 for state in self._replies.values() if not state.queued)

    @property
    def requests_queued(self) -> int:
        """Replies waiting for a free slot because `max_concurrent` are already running."""
        return sum(1 for state in self._replies.values() if state.queued)

    async def list_usage(self, since: datetime | None = None) -> list[UsageRecord]:
        """One record per request sent upstream, oldest first, for statistics."""
        return await self.store.run(lambda r: r.list_usage(since))


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

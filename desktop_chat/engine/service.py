"""ConversationService: the one place that runs a conversation's life.

The window, the command line and the local API all call this service and listen to its
events; none of them talks to the database or the model directly. It decides what each
request answers (the current path, and where a new message goes in the tree of versions);
the reply runner (replies.py) streams and stores the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop_chat.engine.attachments import (
    Limits,
    NewAttachment,
    attachment_tokens,
    check_message,
    kinds_in,
    refuse_images_without_vision,
)
from desktop_chat.engine.claims import ReplyClaims
from desktop_chat.engine.clients import Upstream
from desktop_chat.engine.context_rules import rebase_history
from desktop_chat.engine.errors import (
    CLOSING,
    EMPTY_MESSAGE,
    MESSAGE_TOO_LONG,
    NOTHING_TO_ANSWER,
    ONLY_QUESTIONS_EDITED,
    EngineError,
    InputError,
    ReplyInProgressError,
)
from desktop_chat.engine.events import (
    ConversationDeleted,
    EventBus,
    MessageStored,
)
from desktop_chat.engine.journal import CrashJournal
from desktop_chat.engine.locks import LockTable
from desktop_chat.engine.notices import publish_path, set_title
from desktop_chat.engine.records import ConversationRecords
from desktop_chat.engine.replies import ReplyRunner
from desktop_chat.engine.reply import ReplyState
from desktop_chat.engine.session_keys import SessionKeyNotes
from desktop_chat.engine.titles import fork_title, snippet_title
from desktop_chat.engine.usage import UsageService
from desktop_chat.schemas import (
    MAX_MESSAGE_CHARS,
    Agent,
    Context,
    ContextEntry,
    Conversation,
    ConversationDetail,
    Message,
    MessageStatus,
)
from desktop_chat.secrets import SecretStore
from desktop_chat.store import NotFoundError, Store

if TYPE_CHECKING:
    from desktop_chat.engine.tools import ToolService
    from desktop_chat.llm.client import LLMClient


@dataclass
class EngineConfig:
    max_concurrent_requests: int = 4
    request_timeout: float = 60.0
    http_proxy: str | None = None
    auto_title: bool = True
    attachments: Limits = field(default_factory=Limits)


class ConversationService(ConversationRecords):
    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        journal: CrashJournal,
        config: EngineConfig | None = None,
        bus: EventBus | None = None,
        session_keys: SessionKeyNotes | None = None,
        tools: ToolService | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.session_keys = session_keys or SessionKeyNotes()
        self.journal = journal
        self.config = config or EngineConfig()
        self.bus = bus or EventBus()
        self.upstream = Upstream(
            secrets,
            self.session_keys,
            self.config.max_concurrent_requests,
            self.config.request_timeout,
            self.config.http_proxy,
        )
        self.tools = tools
        self.replies = ReplyRunner(
            store,
            self.bus,
            journal,
            self.upstream,
            auto_title=lambda: self.config.auto_title,
            tools=tools,
        )
        self.usage = UsageService(store)
        self._locks = LockTable()
        self._claims = ReplyClaims(journal.folder)

    # Conversations and their context -------------------------------------------------

    async def delete_conversation(self, conversation_id: str, owner: str | None = None) -> None:
        await self.conversation_summary(conversation_id, owner)
        await self.stop(conversation_id)
        async with self._locks.hold(conversation_id):
            if self.replies.in_flight(conversation_id) is not None:  # a send held the lock
                await self.stop(conversation_id)
            await self.store.run(lambda r: r.conversations.delete(conversation_id, owner))
        self.journal.forget(conversation_id)
        self.bus.publish(ConversationDeleted(conversation_id=conversation_id))

    async def get_context(self, conversation_id: str, owner: str | None = None) -> Context:
        conversation = await self.get_conversation(conversation_id, owner)
        agent = await self._agent_of(conversation)
        preset = conversation.preset_messages
        if preset is None:
            preset = agent.preset_messages if agent else []
        folder = self.attachment_folder
        history = [
            ContextEntry(
                id=m.id,
                role=m.role,
                content=m.content,
                attachments=m.attachments,
                attachment_tokens=sum(attachment_tokens(a, folder) for a in m.attachments),
            )
            for m in conversation.messages
            if m.content or m.attachments or m.tool_calls
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
        async with (
            self._locks.hold(conversation_id),
            self._claims.hold(conversation_id, keep=False),
        ):
            self._refuse_if_busy(conversation_id)
            if missing_as_new:
                stored = await self.get_conversation(conversation_id, owner)
                history = rebase_history(context.history, (m.id for m in stored.messages))
                context = context.model_copy(update={"history": history})
            await self.store.run(
                lambda r: r.conversations.update(
                    conversation_id, preset_messages=context.preset, owner=owner
                )
            )
            await self.store.run(
                lambda r: r.messages.replace_history(conversation_id, context.history)
            )
        await publish_path(self.store, self.bus, conversation_id)
        return await self.get_context(conversation_id)

    # Replies and versions ----------------------------------------------------------

    async def send(
        self,
        conversation_id: str,
        text: str,
        owner: str | None = None,
        attachments: Sequence[NewAttachment] = (),
    ) -> Message:
        """Store the user's message at the end of the current path and start the reply.

        `attachments` (engine/attachments.py) go with it; an image for an agent whose
        model does not read images is refused before anything is stored or sent.
        """
        if attachments:
            check_message(list(attachments), self.config.attachments)
            if text.strip():
                self._check_text(text)
        else:
            self._check_text(text)
        files = [a.meta for a in attachments]
        async with self._locks.hold(conversation_id), self._claims.hold(conversation_id) as claim:
            self._refuse_if_busy(conversation_id)
            conversation = await self.get_conversation(conversation_id, owner)
            agent = await self._require_agent(conversation)
            _check_vision(agent, [*kinds_in(conversation.messages), *(f.kind for f in files)])
            leaf = conversation.current_message_id
            user = await self.store.run(
                lambda r: r.messages.append(
                    conversation_id,
                    Message(role="user", content=text, attachments=files),
                    parent=leaf,
                    blobs={a.meta.sha256: a.data for a in attachments},
                )
            )
            self.bus.publish(MessageStored(conversation_id=conversation_id, message=user))
            if not conversation.title:
                title = snippet_title(text) or snippet_title(", ".join(f.name for f in files))
                await set_title(self.store, self.bus, conversation_id, title)
            self.replies.start(conversation, agent, [*conversation.messages, user], claim)
        return user

    async def regenerate(
        self, conversation_id: str, owner: str | None = None, message_id: int | None = None
    ) -> None:
        """Answer again, keeping the earlier answer as another version.

        `message_id` names the reply to answer again (default: the last message of the
        current path, or, when that is a question, the question itself is answered).
        """
        async with self._locks.hold(conversation_id), self._claims.hold(conversation_id) as claim:
            self._refuse_if_busy(conversation_id)
            conversation = await self.get_conversation(conversation_id, owner)
            agent = await self._require_agent(conversation)
            path = conversation.messages
            ids = [m.id for m in path]
            target = message_id if message_id is not None else (ids[-1] if ids else None)
            if target is None or target not in ids:
                raise InputError(NOTHING_TO_ANSWER)
            index = ids.index(target)
            question = index  # the question it answers: before the reply's tool rounds too
            while question >= 0 and path[question].role in ("assistant", "tool"):
                question -= 1
            if question < 0 or path[question].role != "user":
                raise InputError(NOTHING_TO_ANSWER)
            history = path[: question + 1]
            _check_vision(agent, kinds_in(history))
            replaced = path[question + 1] if index > question else None
            if replaced is not None and _nothing_to_keep(replaced):
                assert replaced.id is not None  # a failed empty reply: no version worth a tab
                await self.store.run(lambda r: r.messages.delete(conversation_id, replaced.id))
            await self.store.run(lambda r: r.messages.point_at(conversation_id, history[-1].id))
            conversation = await publish_path(self.store, self.bus, conversation_id)
            self.replies.start(conversation, agent, history, claim, adds_version=True)

    async def delete_message(
        self,
        conversation_id: str,
        message_id: int,
        owner: str | None = None,
        *,
        with_replies: bool = False,
    ) -> None:
        """Delete one message; what followed it moves up, or goes too with `with_replies`."""
        async with (
            self._locks.hold(conversation_id),
            self._claims.hold(conversation_id, keep=False),
        ):
            self._refuse_if_busy(conversation_id)
            await self.conversation_summary(conversation_id, owner)
            await self.store.run(
                lambda r: r.messages.delete(conversation_id, message_id, subtree=with_replies)
            )
            await publish_path(self.store, self.bus, conversation_id)

    async def edit_and_resend(
        self, conversation_id: str, message_id: int, text: str, owner: str | None = None
    ) -> Message:
        """Send `text` as another version of the question `message_id`, and answer it.

        The question and what followed it stay, as the other version.
        """
        self._check_text(text)
        async with self._locks.hold(conversation_id), self._claims.hold(conversation_id) as claim:
            self._refuse_if_busy(conversation_id)
            conversation = await self.get_conversation(conversation_id, owner)
            agent = await self._require_agent(conversation)
            ids = [m.id for m in conversation.messages]
            if message_id not in ids:
                raise NotFoundError("message", str(message_id))
            edited = conversation.messages[ids.index(message_id)]
            if edited.role != "user":
                raise InputError(ONLY_QUESTIONS_EDITED)
            kept = conversation.messages[: ids.index(message_id)]
            _check_vision(agent, kinds_in([*kept, edited]))
            user = await self.store.run(
                lambda r: r.messages.append(
                    conversation_id,
                    Message(role="user", content=text, attachments=edited.attachments),
                    parent=edited.parent_id,
                )
            )
            conversation = await publish_path(self.store, self.bus, conversation_id)
            self.bus.publish(MessageStored(conversation_id=conversation_id, message=user))
            self.replies.start(conversation, agent, [*kept, user], claim)
        return user

    async def show_version(
        self, conversation_id: str, message_id: int, owner: str | None = None
    ) -> ConversationDetail:
        """Make the path through `message_id` current (its newest continuation)."""
        async with (
            self._locks.hold(conversation_id),
            self._claims.hold(conversation_id, keep=False),
        ):
            self._refuse_if_busy(conversation_id)
            await self.conversation_summary(conversation_id, owner)
            await self.store.run(lambda r: r.messages.show(conversation_id, message_id))
            return await publish_path(self.store, self.bus, conversation_id)

    async def fork(
        self, conversation_id: str, at_message_id: int, owner: str | None = None
    ) -> ConversationDetail:
        """A new conversation holding a copy of the path up to `at_message_id`."""
        origin = await self.conversation_summary(conversation_id, owner)
        fork = Conversation(
            agent_id=origin.agent_id,
            title=fork_title(origin.title),
            owner=origin.owner,
            preset_messages=origin.preset_messages,
        )
        created = await self.store.run(
            lambda r: r.conversations.fork(conversation_id, at_message_id, fork, owner)
        )
        self._changed(created)
        return created

    def use_tools(self, tools: ToolService) -> None:
        """Offer MCP servers' tools to the replies started from now on."""
        self.tools = tools
        self.replies.use_tools(tools)

    def in_flight(self, conversation_id: str) -> ReplyState | None:
        return self.replies.in_flight(conversation_id)

    @property
    def active_replies(self) -> list[ReplyState]:
        return self.replies.active

    async def stop(self, conversation_id: str) -> bool:
        """Stop the reply in flight, keep its partial text, and wait until it is stored."""
        return await self.replies.stop(conversation_id)

    @staticmethod
    def _check_text(text: str) -> None:
        if not text or not text.strip():
            raise InputError(EMPTY_MESSAGE)
        if len(text) > MAX_MESSAGE_CHARS:
            raise InputError(
                MESSAGE_TOO_LONG.format(length=f"{len(text):,}", limit=f"{MAX_MESSAGE_CHARS:,}")
            )

    def _refuse_if_busy(self, conversation_id: str) -> None:
        if self.replies.in_flight(conversation_id) is not None:
            raise ReplyInProgressError()
        if self.replies.closing:
            raise EngineError("closing", CLOSING)

    # Helpers -----------------------------------------------------------------------

    async def client_for(self, agent: Agent) -> LLMClient:
        """The pooled client for the agent's server and key (replies, titles, the gateway)."""
        return await self.upstream.client_for(agent)

    async def warm_up(self) -> None:
        """Load what the first request needs while the user is still reading or typing."""
        await self.upstream.pool.preload()

    # Life cycle --------------------------------------------------------------------

    async def recover(self) -> int:
        """Store the partial replies of a process that died mid-stream, marked interrupted."""
        self._claims.sweep()
        return await self.replies.recover()

    async def reconfigure(self, config: EngineConfig) -> None:
        """Apply new settings; the concurrency limit changes for requests not yet queued."""
        self.config = config
        await self.upstream.reconfigure(
            config.max_concurrent_requests, config.request_timeout, config.http_proxy
        )

    async def aclose(self) -> None:
        """Stop every reply (stored as interrupted), wait for the writes, close connections."""
        if self.tools is not None:
            self.tools.approvals.aclose()  # a call waiting for approval is refused
        await self.replies.aclose()
        if self.tools is not None:
            await self.tools.aclose()


def _check_vision(agent: Agent, kinds: list[str]) -> None:
    refuse_images_without_vision(agent.name, agent.vision, kinds)


def _nothing_to_keep(reply: Message) -> bool:
    """A reply that failed before its first word: answering again replaces it."""
    return reply.status is not MessageStatus.COMPLETE and not reply.content.strip()

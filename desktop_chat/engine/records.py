"""The conversations and agents as records: reading, creating, changing, exporting them.

The part of ConversationService that is bookkeeping rather than a conversation's life: it
owns no lock and starts no reply, so it lives apart from the rules in service.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from desktop_chat.engine.attachments import with_text
from desktop_chat.engine.clients import Upstream
from desktop_chat.engine.errors import NoAgentError
from desktop_chat.engine.events import ConversationChanged, EventBus, TitleChanged
from desktop_chat.engine.titles import snippet_title
from desktop_chat.schemas import (
    Agent,
    Attachment,
    Context,
    Conversation,
    ConversationArchive,
    ConversationDetail,
    SearchHit,
    new_id,
)
from desktop_chat.store import NotFoundError, Repository, Store
from desktop_chat.store.files import files_folder
from desktop_chat.store.search import search_hits

if TYPE_CHECKING:  # the import format loads when a file is imported, not at start-up
    from desktop_chat.transfer import ImportedConversation


class ConversationRecords:
    store: Store
    bus: EventBus
    upstream: Upstream

    # Agents ------------------------------------------------------------------------

    async def list_agents(self) -> list[Agent]:
        return await self.store.run(lambda r: r.agents.list())

    async def get_agent(self, name_or_id: str) -> Agent:
        return await self.store.run(lambda r: r.agents.find(name_or_id))

    async def save_agent(self, agent: Agent) -> Agent:
        return await self.store.run(lambda r: r.agents.save(agent))

    async def delete_agent(self, agent_id: str) -> None:
        await self.store.run(lambda r: r.agents.delete(agent_id))

    async def list_models(self, agent: Agent, api_key: str | None = None) -> list[str]:
        """The server's models; `api_key` tests a key the user typed but has not saved."""
        client = (
            await self.upstream.pool.get(agent.base_url, api_key)
            if api_key
            else await self.upstream.client_for(agent)
        )
        return await client.list_models()

    # Conversations -----------------------------------------------------------------

    # Conversations -----------------------------------------------------------------

    async def create_conversation(
        self,
        agent_id: str | None = None,
        title: str = "",
        owner: str = "local",
        context: Context | None = None,
    ) -> ConversationDetail:
        if agent_id is None:
            agent = await self.store.run(lambda r: r.agents.default())
            agent_id = agent.agent_id if agent else None
        conversation = Conversation(
            agent_id=agent_id,
            title=title.strip()[:200],
            owner=owner,
            preset_messages=context.preset if context is not None else None,
        )
        created = await self.store.run(lambda r: r.conversations.create(conversation))
        if context is not None and context.history:
            await self.store.run(lambda r: r.messages.replace_history(created.id, context.history))
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
            lambda r: r.conversations.list(
                owner=owner, query=query, limit=limit, offset=offset, after=after
            )
        )

    async def search_hits(self, conversation_ids: list[str], query: str) -> list[SearchHit]:
        """Where `query` matched each of these conversations (listed by a search)."""
        return await self.store.run(lambda r: search_hits(r.db, conversation_ids, query))

    async def get_conversation(
        self, conversation_id: str, owner: str | None = None
    ) -> ConversationDetail:
        return await self.store.run(lambda r: r.conversations.get(conversation_id, owner))

    async def conversation_summary(
        self, conversation_id: str, owner: str | None = None
    ) -> Conversation:
        """The conversation without its messages: for ownership checks and the list."""
        return await self.store.run(lambda r: r.conversations.summary(conversation_id, owner))

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
            lambda r: r.conversations.update(
                conversation_id, title=title, pinned=pinned, agent_id=agent_id, owner=owner
            )
        )
        self._changed(updated)
        if title is not None:
            self.bus.publish(TitleChanged(conversation_id=conversation_id, title=updated.title))
        return updated

    async def save_draft(self, conversation_id: str, draft: str) -> None:
        await self.store.run(lambda r: r.conversations.update(conversation_id, draft=draft))

    async def export(
        self, conversation_ids: list[str] | None = None, owner: str | None = None
    ) -> list[ConversationArchive]:
        """Whole conversations, every version kept; all of the owner's when no ids are given."""
        if not conversation_ids:
            listed = await self.list_conversations(owner=owner)
            conversation_ids = [c.id for c in listed]
        return [
            await self.store.run(lambda r, c=cid: _with_files(r, r.conversations.archive(c, owner)))
            for cid in conversation_ids
        ]

    @property
    def attachment_folder(self) -> Path:
        """Where attached files are kept (read-only for the window: thumbnails, opening)."""
        return files_folder(self.store.path)

    async def attachment_file(
        self, conversation_id: str, sha256: str, owner: str | None = None
    ) -> tuple[Attachment, bytes]:
        """A file attached in the conversation, and its bytes; NotFoundError otherwise."""
        await self.conversation_summary(conversation_id, owner)  # anyone else's: not found

        def read(r: Repository) -> tuple[Attachment, bytes]:
            found = r.files.in_conversation(conversation_id, sha256)
            if found is None:
                raise NotFoundError("file", sha256)
            return found, r.files.read(sha256)

        return await self.store.run(read)

    async def import_conversations(
        self, items: list[ImportedConversation], owner: str = "local"
    ) -> list[str]:
        prepared = []
        for item in items:
            messages = [
                m.model_copy(update={"attachments": [with_text(a) for a in m.attachments]})
                if m.attachments
                else m
                for m in item.to_messages()
            ]
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
            prepared.append((conversation, messages, item.current_message_id))
        created = await self.store.run(lambda r: r.conversations.import_many(prepared))
        summaries = await self.store.run(lambda r: [r.conversations.summary(c) for c in created])
        for summary in summaries:
            self._changed(summary)
        return created

    # Context -----------------------------------------------------------------------

    # Helpers -----------------------------------------------------------------------

    def _changed(self, conversation: Conversation) -> None:
        if isinstance(conversation, ConversationDetail):
            conversation = conversation.summary()
        self.bus.publish(
            ConversationChanged(conversation_id=conversation.id, conversation=conversation)
        )

    async def _agent_of(self, conversation: Conversation) -> Agent | None:
        if conversation.agent_id is not None:
            return await self.store.run(lambda r: r.agents.get(conversation.agent_id or ""))
        return await self.store.run(lambda r: r.agents.default())

    async def _require_agent(self, conversation: Conversation) -> Agent:
        agent = await self._agent_of(conversation)
        if agent is None:
            raise NoAgentError()
        return agent


def _with_files(repository: Repository, archive: ConversationArchive) -> ConversationArchive:
    """An archive whose attachments carry their bytes, for an export file."""
    for message in [*archive.messages, *archive.every_message]:
        for attachment in message.attachments:
            try:
                attachment.data = repository.files.read(attachment.sha256)
            except NotFoundError:
                attachment.data = None  # removed by hand: exported without its bytes
    return archive

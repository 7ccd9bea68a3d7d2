"""What the window is doing, without Qt: the open conversation, drafts, editing, search.

The main window only lays out widgets and renders; every decision about which
conversation is open, what a send means (a new message or an edit), where drafts go and
which answer to a search is still wanted lives here, where it is tested headless.

State changes that the next event must already see (the open conversation, the message
being edited) happen synchronously; the slow part of each intent is a coroutine the
window runs (and whose result it renders), so nothing here waits on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop_chat.engine import ConversationService
from desktop_chat.engine.attachments import NewAttachment
from desktop_chat.schemas import (
    Agent,
    Conversation,
    ConversationDetail,
    Message,
    MessageStatus,
    SearchHit,
)
from desktop_chat.store import NotFoundError

PAGE_SIZE = 200  # conversations the list asks for at a time: a few screens of it


@dataclass(frozen=True)
class ListPage:
    conversations: list[Conversation]
    more: bool  # another page may follow
    hits: dict[str, SearchHit] = field(default_factory=dict)  # where a search matched each


class ChatSession:
    """One window's view of the engine: which conversation is open and what is typed."""

    def __init__(self, service: ConversationService) -> None:
        self.service = service
        self.agents: list[Agent] = []
        self.current_id: str | None = None
        self.current: ConversationDetail | None = None  # None until it has loaded
        self.editing: Message | None = None  # sending makes a new version of it
        self.search = ""
        self.hits: dict[str, SearchHit] = {}  # the listed search results' matches
        self._drafts: dict[str, str] = {}
        self._queued: dict[str, list[str]] = {}  # sent one by one as replies end
        self._list_generation = 0  # answers to superseded list loads are dropped
        self._missed = False  # a message changed while the open conversation was being read

    # Agents ---------------------------------------------------------------------------

    async def load_agents(self) -> list[Agent]:
        self.agents = await self.service.list_agents()
        return self.agents

    def agent_of(self, conversation: Conversation | None) -> Agent | None:
        """The conversation's agent, else the default one (as the engine would use)."""
        if conversation is None:
            return None
        for agent in self.agents:
            if agent.agent_id == conversation.agent_id:
                return agent
        return next(
            (a for a in self.agents if a.is_default), self.agents[0] if self.agents else None
        )

    @property
    def current_agent(self) -> Agent | None:
        return self.agent_of(self.current)

    def choose_agent(self, agent_id: str) -> Awaitable[Conversation] | None:
        """Move the open conversation to another agent; None when nothing changes."""
        current = self.current
        if current is None or agent_id == current.agent_id:
            return None
        current.agent_id = agent_id
        return self.service.update_conversation(current.id, agent_id=agent_id)

    # The list -------------------------------------------------------------------------

    def set_search(self, text: str) -> None:
        self.search = text.strip()

    async def first_page(self) -> ListPage | None:
        """The list's first page (of the search results while searching); None if superseded."""
        self._list_generation += 1
        generation = self._list_generation
        found = await self.service.list_conversations(query=self.search or None, limit=PAGE_SIZE)
        hits = await self._hits(found)
        if generation != self._list_generation:
            return None  # a newer search is already on its way
        self.hits = hits
        return ListPage(found, more=len(found) == PAGE_SIZE, hits=hits)

    async def next_page(self, after: Conversation) -> ListPage | None:
        """The page after `after`; None when the list it continues was replaced meanwhile."""
        generation = self._list_generation
        found = await self.service.list_conversations(
            query=self.search or None, limit=PAGE_SIZE, after=after
        )
        hits = await self._hits(found)
        if generation != self._list_generation:
            return None
        self.hits.update(hits)
        return ListPage(found, more=len(found) == PAGE_SIZE, hits=hits)

    async def _hits(self, found: list[Conversation]) -> dict[str, SearchHit]:
        if not self.search or not found:
            return {}
        hits = await self.service.search_hits([c.id for c in found], self.search)
        return {hit.conversation_id: hit for hit in hits}

    def landing(self) -> SearchHit | None:
        """Where to land in the open conversation: its search match, while searching."""
        if not self.search or self.current_id is None:
            return None
        return self.hits.get(self.current_id)

    async def summary(self, conversation_id: str) -> Conversation | None:
        """A conversation as the list shows it, or None when it is gone."""
        try:
            return await self.service.conversation_summary(conversation_id)
        except NotFoundError:
            return None

    def current_summary(self) -> Conversation | None:
        return self.current.summary() if self.current is not None else None

    # Opening --------------------------------------------------------------------------

    def switch_to(self, conversation_id: str, typed: str) -> Awaitable[None] | None:
        """Make `conversation_id` the open one; `typed` is the composer's text for the old one.

        Returns the saving of the old conversation's draft, when it changed. Events for the
        new conversation are not shown until `load()` has read it (`current` is None).
        """
        saving = self.keep_draft(typed)
        self.current_id = conversation_id
        self.current = None
        self.editing = None
        return saving

    async def load(self) -> ConversationDetail | None:
        """Read the open conversation; None when the user moved on while it loaded."""
        conversation_id = self.current_id
        if conversation_id is None:
            return None
        self._missed = True
        while self._missed:  # read again what changed during the read: it was not shown
            self._missed = False
            detail = await self.service.get_conversation(conversation_id)
            if conversation_id != self.current_id:
                return None
        detail = await self._on_the_hits_path(detail)
        if conversation_id != self.current_id:
            return None
        self.current = detail
        return detail

    async def _on_the_hits_path(self, detail: ConversationDetail) -> ConversationDetail:
        """Opened from a search: the path that holds the match, whichever version it is."""
        hit = self.hits.get(detail.id) if self.search else None
        if hit is None or any(m.id == hit.message_id for m in detail.messages):
            return detail
        if self.service.in_flight(detail.id) is not None:
            return detail  # the path cannot change under a reply: it opens as it is
        return await self.service.show_version(detail.id, hit.message_id)

    def note_change(self, conversation_id: str) -> None:
        """A message of `conversation_id` was stored; a read running now may predate it."""
        if conversation_id == self.current_id and self.current is None:
            self._missed = True

    def reopen(self) -> Awaitable[ConversationDetail | None]:
        """Read the open conversation again (its messages changed)."""
        self.current = None
        self.editing = None
        return self.load()

    def closed(self, conversation_id: str) -> bool:
        """The conversation was deleted; True when it was the open one."""
        self._drafts.pop(conversation_id, None)
        self._queued.pop(conversation_id, None)
        if conversation_id != self.current_id:
            return False
        self.current_id = None
        self.current = None
        self.editing = None
        return True

    async def create_conversation(self) -> ConversationDetail:
        """A new conversation with the open one's agent (else the default)."""
        agent = self.current_agent
        return await self.service.create_conversation(agent_id=agent.agent_id if agent else None)

    def is_open(self, conversation_id: str) -> bool:
        return conversation_id == self.current_id and self.current is not None

    @property
    def replying(self) -> bool:
        return self.current_id is not None and self.service.in_flight(self.current_id) is not None

    # Drafts ---------------------------------------------------------------------------

    def draft(self) -> str:
        """What the composer shows for the open conversation."""
        if self.current_id is None:
            return ""
        stored = self.current.draft if self.current is not None else ""
        return self._drafts.get(self.current_id, stored)

    def keep_draft(self, typed: str) -> Awaitable[None] | None:
        """Remember the open conversation's draft; returns its saving when it changed."""
        if self.current_id is None:
            return None
        if typed == self.draft():
            return None
        self._drafts[self.current_id] = typed
        return self.service.save_draft(self.current_id, typed)

    # Sending and changing messages ------------------------------------------------------

    def begin_edit(self, message: Message) -> None:
        self.editing = message

    def send(
        self, text: str, attachments: Sequence[NewAttachment] = ()
    ) -> Awaitable[None] | None:
        """Send `text` with `attachments` (or resend it in place of the message edited).

        While a reply is being written the text is queued instead (`queued()`), to be sent
        when it ends: None then, as when no conversation is open. Files are not queued:
        the window keeps them until the reply ends.
        """
        conversation_id = self.current_id
        if conversation_id is None:
            return None
        self._drafts[conversation_id] = ""
        if self.replying:
            self._queued.setdefault(conversation_id, []).append(text)
            return None
        editing, self.editing = self.editing, None

        async def go() -> None:
            if editing is not None and editing.id is not None:
                await self.service.edit_and_resend(conversation_id, editing.id, text)
            else:
                await self.service.send(conversation_id, text, attachments=attachments)
            await self.service.save_draft(conversation_id, "")

        return go()

    def queued(self, conversation_id: str | None = None) -> list[str]:
        """The messages waiting for the reply in flight to end (the open conversation's)."""
        return list(self._queued.get(conversation_id or self.current_id or "", []))

    def cancel_queued(self, index: int) -> str:
        """Take a queued message back; returns its text."""
        assert self.current_id is not None
        waiting = self._queued[self.current_id]
        text = waiting.pop(index)
        if not waiting:
            del self._queued[self.current_id]
        return text

    def reply_ended(self, conversation_id: str, status: MessageStatus) -> Awaitable[None] | None:
        """A reply ended: send the next queued message, if the reply went well.

        Stopping a reply sends the next one too ("stop that, go on with this"). After a
        failure the rest would likely fail the same way, and after an interruption the
        app is closing, so the queued text goes back into the conversation's draft
        instead (`draft()`), for the user to decide.
        """
        waiting = self._queued.get(conversation_id)
        if not waiting:
            return None
        if status in (MessageStatus.COMPLETE, MessageStatus.STOPPED):
            text = waiting.pop(0)
            if not waiting:
                del self._queued[conversation_id]
            return self.service.send(conversation_id, text)
        del self._queued[conversation_id]
        draft = "\n\n".join([*waiting, self._drafts.get(conversation_id, "")]).strip()
        self._drafts[conversation_id] = draft
        return self.service.save_draft(conversation_id, draft)

    def stop(self) -> Awaitable[bool] | None:
        if not self.replying:
            return None
        assert self.current_id is not None
        return self.service.stop(self.current_id)

    def show_version(self, message_id: int) -> Awaitable[ConversationDetail] | None:
        """Show another version of a message (and where the conversation went from it)."""
        if self.current_id is None:
            return None
        return self.service.show_version(self.current_id, message_id)

    def fork(self, message_id: int) -> Awaitable[ConversationDetail] | None:
        """A new conversation with the open one's messages up to `message_id`."""
        if self.current_id is None:
            return None
        return self.service.fork(self.current_id, message_id)

    def message_stored(self, message: Message) -> bool:
        """A message was added to the open path (sent, or a reply stored); True if shown."""
        current = self.current
        if current is None or current.id != message.conversation_id:
            return False
        if all(m.id != message.id for m in current.messages):
            current.messages.append(message)
            current.current_message_id = message.id
        return True

    def path_changed(self, detail: ConversationDetail) -> bool:
        """The open conversation's path changed (from any client); True when it is shown."""
        if not self.is_open(detail.id):
            return False
        self.current = detail
        return True

    def regenerate(self) -> Awaitable[None] | None:
        if self.current_id is None:
            return None
        return self.service.regenerate(self.current_id)

    def followed(self, message_id: int) -> bool:
        """Whether messages of the open path follow `message_id` (deleting asks about them)."""
        messages = self.current.messages if self.current is not None else []
        ids = [m.id for m in messages]
        return message_id in ids and ids.index(message_id) < len(ids) - 1

    def delete_message(
        self, message_id: int, *, with_replies: bool = False
    ) -> Awaitable[None] | None:
        """Delete a message; what follows it moves up, or goes too with `with_replies`."""
        if self.current_id is None:
            return None
        return self.service.delete_message(
            self.current_id, message_id, with_replies=with_replies
        )

    # Export ----------------------------------------------------------------------------

    async def export(self, conversation_id: str, path: Path, as_json: bool) -> None:
        conversations = await self.service.export([conversation_id])
        from desktop_chat.transfer import write_export  # loaded with the first export

        await asyncio.to_thread(write_export, path, conversations, as_json)

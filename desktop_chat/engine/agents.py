"""Agents and their API keys: the rules the window and the command line both follow.

An agent refers to its key by name (`key_ref`); the key itself lives in the SecretStore.
Duplicating an agent shares the name, so several agents can use one stored key. The rules
that follow from that, each a promise to the user:

* **Typing a key for one agent never changes another agent's key.** When the agent's
  key_ref is shared, the new key is stored under a key_ref of this agent's own and the
  other agents keep the old one. Someone who duplicated an agent and now types a key for
  it is setting up a variation (another account, another project's key); silently
  changing the original as well would break a conversation they are not looking at.
  Who wants the new key everywhere types it in each agent, and sees each change.
* **Removing an agent deletes its key only when no other agent uses it.** Forgetting the
  key of an agent that shares it only makes this agent let go of it.
* **No keyring, no silent fallback.** Where no keyring works, a key is kept in memory for
  this session only, and only when the caller's `keep_for_session` says the user agreed
  (the window asks); without that choice the save fails before anything is stored.
* An agent without a key of its own uses OPENAI_API_KEY when it is set.

Keyring calls run in a worker thread: a keyring may talk over D-Bus, and must not hold
up the event loop the window paints from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from desktop_chat.engine.errors import EngineError
from desktop_chat.engine.service import ConversationService
from desktop_chat.schemas import Agent, new_id, utcnow
from desktop_chat.secrets import KeyringUnavailableError, SecretStore
from desktop_chat.sentences import N_

KEY_NOT_KEPT = N_("Nothing was saved: the API key has nowhere to be kept.")

# Asked when no keyring works: may the key be kept for this session only?
KeepForSession = Callable[[], Awaitable[bool]]


class KeyStatus(StrEnum):
    """Where an agent's key comes from; a session key is never called stored."""

    STORED = "stored"  # in the system keyring, kept across restarts
    SESSION = "session"  # in memory only, forgotten when desktop_chat quits
    ENVIRONMENT = "environment"  # none of its own: OPENAI_API_KEY is used
    NONE = "none"  # no key at all; local servers need none


class KeyNotKeptError(EngineError):
    """No keyring works and the user chose not to keep the key for this session."""

    def __init__(self) -> None:
        super().__init__("key_not_kept", KEY_NOT_KEPT)


@dataclass(frozen=True)
class SavedAgent:
    agent: Agent
    key: KeyStatus | None  # where the typed key went (STORED or SESSION); None: no key typed


class AgentService:
    """Creates, edits, duplicates and removes agents, keeping their keys by the rules above."""

    def __init__(self, service: ConversationService, secrets: SecretStore) -> None:
        self._service = service
        self._secrets = secrets

    async def list(self) -> list[Agent]:
        return await self._service.list_agents()

    async def get(self, name_or_id: str) -> Agent:
        return await self._service.get_agent(name_or_id)

    async def save(
        self, agent: Agent, key: str = "", keep_for_session: KeepForSession | None = None
    ) -> SavedAgent:
        """Create or update `agent`; a non-blank `key` is stored first, as its own.

        The key goes under the agent's key_ref when no other agent uses it, else under a
        new key_ref for this agent alone. If the agent cannot be stored, a key written
        under a new key_ref is deleted again: nothing would refer to it.
        """
        key = key.strip()
        if not key:
            return SavedAgent(await self._service.save_agent(agent), None)
        ref = await self._own_ref(agent)
        where = await self._store_key(ref, key, keep_for_session)
        try:
            saved = await self._service.save_agent(agent.model_copy(update={"key_ref": ref}))
        except BaseException:
            if ref != agent.key_ref:
                await asyncio.to_thread(self._secrets.delete, ref)
            raise
        return SavedAgent(saved, where)

    async def duplicate(self, agent: Agent, name: str) -> Agent:
        """A copy named `name` that shares the original's key and is not the default."""
        now = utcnow()
        copy = Agent.model_validate(
            {
                **agent.model_dump(),
                "id": None,
                "agent_id": new_id(),
                "name": name[:200],
                "is_default": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        return await self._service.save_agent(copy)

    async def forget_key(self, agent: Agent) -> Agent:
        """This agent stops using its key; the key is deleted unless another agent uses it."""
        if agent.key_ref is None:
            return agent
        if await self._shared(agent):
            return await self._service.save_agent(agent.model_copy(update={"key_ref": None}))
        await asyncio.to_thread(self._secrets.delete, agent.key_ref)
        self._service.session_keys.kept_for_good(agent.key_ref)
        return agent

    async def remove(self, name_or_id: str) -> Agent:
        """Delete the agent (its conversations stay) and its key, unless the key is shared."""
        agent = await self.get(name_or_id)
        await self._service.delete_agent(agent.agent_id)
        if agent.key_ref and not await self._shared(agent):
            await asyncio.to_thread(self._secrets.delete, agent.key_ref)
            self._service.session_keys.kept_for_good(agent.key_ref)
        return agent

    async def key_status(self, key_ref: str | None) -> KeyStatus:
        """Where the key of an agent referring to `key_ref` comes from (None: no key_ref)."""
        kept_in = await asyncio.to_thread(self._secrets.kept_in, key_ref)
        if kept_in == "keyring":
            return KeyStatus.STORED
        if kept_in == "session":
            return KeyStatus.SESSION
        return KeyStatus.ENVIRONMENT if self.fallback_available() else KeyStatus.NONE

    def fallback_available(self) -> bool:
        """Whether an agent without a key of its own would use OPENAI_API_KEY."""
        return self._secrets.fallback_available()

    # Keys -------------------------------------------------------------------------

    async def _others_refs(self, agent: Agent) -> set[str]:
        agents = await self._service.list_agents()
        return {a.key_ref for a in agents if a.key_ref and a.agent_id != agent.agent_id}

    async def _shared(self, agent: Agent) -> bool:
        """Whether an agent other than `agent` refers to the same key."""
        return agent.key_ref in await self._others_refs(agent)

    async def _own_ref(self, agent: Agent) -> str:
        """A key_ref no other agent uses: the agent's own, `agent:<id>`, or a fresh one."""
        taken = await self._others_refs(agent)
        for ref in (agent.key_ref, f"agent:{agent.agent_id}"):
            if ref and ref not in taken:
                return ref
        # The original of a duplicate: its `agent:<id>` is what the copies share.
        return f"agent:{agent.agent_id}:{new_id()}"

    async def _store_key(
        self, ref: str, key: str, keep_for_session: KeepForSession | None
    ) -> KeyStatus:
        """Keyring first; session memory only when the user agrees."""
        notes = self._service.session_keys
        try:
            await asyncio.to_thread(self._secrets.set, ref, key)
            notes.kept_for_good(ref)
            return KeyStatus.STORED
        except KeyringUnavailableError:
            if keep_for_session is None:
                raise
            if not await keep_for_session():
                raise KeyNotKeptError() from None
        self._secrets.set(ref, key, session_only=True)
        notes.kept_for_session(ref)  # so that after a restart the engine can say it is gone
        return KeyStatus.SESSION

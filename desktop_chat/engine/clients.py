"""The way upstream: one LLMClient per server, key and network setting, and the request slots.

Replies, automatic titles and the local API's gateway all reach servers through here, so
the limit on requests at once holds for all of them together.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from typing import TYPE_CHECKING

from desktop_chat.engine.session_keys import SessionKeyNotes
from desktop_chat.llm import ErrorKind, LLMError, load_sdk
from desktop_chat.schemas import Agent
from desktop_chat.secrets import KeyringUnavailableError, SecretStore
from desktop_chat.sentences import N_

SESSION_KEY_GONE = N_(
    "This agent's API key was kept for the last session only, so it is gone since "
    "desktop_chat restarted. Enter it again in Settings → Agents."
)

if TYPE_CHECKING:
    from desktop_chat.llm.client import LLMClient


class ClientPool:
    def __init__(self, timeout: float, proxy: str | None) -> None:
        self.timeout = timeout
        self.proxy = proxy
        self._clients: dict[tuple[str, str], LLMClient] = {}

    async def get(self, base_url: str, api_key: str | None) -> LLMClient:
        # Keyed by a digest so the map itself never holds keys as dictionary keys in dumps.
        digest = hashlib.sha256((api_key or "").encode()).hexdigest()
        key = (base_url, digest)
        client = self._clients.get(key)
        if client is None:
            # Made in a worker thread: importing the SDK (the first time) and loading the
            # system's certificates (every time) would stall the window for 40-500 ms.
            made = await asyncio.to_thread(_new_client, base_url, api_key, self.timeout, self.proxy)
            client = self._clients.setdefault(key, made)
            if client is not made:  # another request made one meanwhile
                await made.aclose()
        return client

    async def preload(self) -> None:
        """Import the SDK in a worker thread, ahead of the first request.

        Imported on the event loop when the first message is sent, it would freeze the
        window for the half second the import takes.
        """
        if "desktop_chat.llm.client" not in sys.modules:
            await asyncio.to_thread(load_sdk)

    async def reconfigure(self, timeout: float, proxy: str | None) -> None:
        if (timeout, proxy) != (self.timeout, self.proxy):
            self.timeout, self.proxy = timeout, proxy
            await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def _new_client(base_url: str, api_key: str | None, timeout: float, proxy: str | None) -> LLMClient:
    from desktop_chat.llm.client import LLMClient  # the SDK loads with the first client

    return LLMClient(base_url, api_key, timeout=timeout, proxy=proxy)


class Upstream:
    """Clients by server and key, and the semaphore every request upstream waits on."""

    def __init__(
        self,
        secrets: SecretStore,
        session_keys: SessionKeyNotes,
        max_concurrent: int,
        timeout: float,
        proxy: str | None,
    ) -> None:
        self.secrets = secrets
        self.session_keys = session_keys
        self.max_concurrent = max_concurrent
        self.slots = asyncio.Semaphore(max_concurrent)
        self.pool = ClientPool(timeout, proxy)

    async def client_for(self, agent: Agent) -> LLMClient:
        """The pooled client for the agent's server and key (replies, titles, the gateway)."""
        # The keyring may talk over D-Bus: keep that off the event loop.
        try:
            key = await asyncio.to_thread(self.secrets.get, agent.key_ref)
        except KeyringUnavailableError as exc:  # e.g. it would ask for a password: say so
            raise LLMError(ErrorKind.NO_KEY, exc.user_message) from None
        if key is None and self.session_keys.lapsed(agent.key_ref):
            raise LLMError(ErrorKind.NO_KEY, SESSION_KEY_GONE)
        return await self.pool.get(agent.base_url, key)

    async def reconfigure(self, max_concurrent: int, timeout: float, proxy: str | None) -> None:
        """New settings; the concurrency limit changes for requests not yet queued."""
        if max_concurrent != self.max_concurrent:
            self.max_concurrent = max_concurrent
            self.slots = asyncio.Semaphore(max_concurrent)
        await self.pool.reconfigure(timeout, proxy)

    async def aclose(self) -> None:
        await self.pool.aclose()

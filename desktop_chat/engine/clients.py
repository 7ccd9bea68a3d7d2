"""One LLMClient per server, key and network setting, closed with the engine."""

from __future__ import annotations

import hashlib

from desktop_chat.llm import LLMClient


class ClientPool:
    def __init__(self, timeout: float, proxy: str | None) -> None:
        self.timeout = timeout
        self.proxy = proxy
        self._clients: dict[tuple[str, str], LLMClient] = {}

    def get(self, base_url: str, api_key: str | None) -> LLMClient:
        # Keyed by a digest so the map itself never holds keys as dictionary keys in dumps.
        digest = hashlib.sha256((api_key or "").encode()).hexdigest()
        key = (base_url, digest)
        client = self._clients.get(key)
        if client is None:
            client = LLMClient(base_url, api_key, timeout=self.timeout, proxy=self.proxy)
            self._clients[key] = client
        return client

    async def reconfigure(self, timeout: float, proxy: str | None) -> None:
        if (timeout, proxy) != (self.timeout, self.proxy):
            self.timeout, self.proxy = timeout, proxy
            await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

"""The composition root: the one place that picks concrete parts and wires them together."""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop_chat.engine import ConversationService, CrashJournal, EngineConfig
from desktop_chat.engine.agents import AgentService
from desktop_chat.engine.session_keys import SessionKeyNotes
from desktop_chat.paths import AppPaths, default_paths
from desktop_chat.secrets import SecretStore
from desktop_chat.settings import Settings, load_settings, save_settings
from desktop_chat.store import Store


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        max_concurrent_requests=settings.max_concurrent_requests,
        request_timeout=settings.request_timeout,
        http_proxy=settings.http_proxy,
        auto_title=settings.auto_title,
    )


@dataclass
class Core:
    """Everything the window, the CLI and the API share; opened and closed on one loop."""

    paths: AppPaths
    settings: Settings
    store: Store
    secrets: SecretStore
    service: ConversationService
    agents: AgentService = field(init=False)

    def __post_init__(self) -> None:
        self.agents = AgentService(self.service, self.secrets)

    @classmethod
    async def open(cls, paths: AppPaths | None = None, secrets: SecretStore | None = None) -> Core:
        paths = (paths or default_paths()).ensure()
        settings = load_settings(paths.settings_file)
        store = await Store.open(paths.database)
        secrets = secrets or SecretStore()
        service = ConversationService(
            store,
            secrets,
            CrashJournal(paths.journal),
            engine_config(settings),
            session_keys=SessionKeyNotes(paths.session_keys),
        )
        try:
            await service.recover()
        except BaseException:
            await store.close()
            raise
        return cls(paths, settings, store, secrets, service)

    async def apply_settings(self, settings: Settings) -> None:
        save_settings(self.paths.settings_file, settings)
        self.settings = settings
        await self.service.reconfigure(engine_config(settings))

    async def aclose(self) -> None:
        await self.service.aclose()
        await self.store.close()

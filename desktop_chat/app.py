"""The composition root: the one place that picks concrete parts and wires them together."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from desktop_chat.api.runner import ApiRunner
from desktop_chat.engine import ConversationService, CrashJournal, EngineConfig
from desktop_chat.engine.agents import AgentService
from desktop_chat.engine.api_tokens import TokenService
from desktop_chat.engine.attachments import Limits
from desktop_chat.engine.backups import BackupSchedule
from desktop_chat.engine.data_folder import DataFolder
from desktop_chat.engine.gateway import GatewayService
from desktop_chat.engine.memory import map_large_blocks_apart
from desktop_chat.engine.session_keys import SessionKeyNotes
from desktop_chat.engine.tools import ToolService
from desktop_chat.paths import AppPaths, default_paths
from desktop_chat.secrets import SecretStore
from desktop_chat.settings import Settings, load_settings, save_settings
from desktop_chat.store import Store, StoreError
from desktop_chat.store.backup import apply_pending_restore
from desktop_chat.store.database import repair_search_index
from desktop_chat.store.errors import from_os_error
from desktop_chat.store.relocation import apply_planned_move

log = logging.getLogger(__name__)


def rebuild_search_index(paths: AppPaths) -> int:
    """Rebuild a damaged search index before the database is opened; returns the messages."""
    return repair_search_index(paths.database)


def set_damaged_database_aside(paths: AppPaths) -> Path:
    """Keep a damaged database file beside, renamed, so a fresh one can start."""
    kept = paths.database.with_name(f"{paths.database.name}.damaged-{int(time.time())}")
    paths.database.rename(kept)
    log.warning("Damaged database kept as %s", kept)
    return kept


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        max_concurrent_requests=settings.max_concurrent_requests,
        request_timeout=settings.request_timeout,
        http_proxy=settings.http_proxy,
        auto_title=settings.auto_title,
        attachments=Limits(
            max_file_bytes=settings.attachment_max_file_mb * 1024 * 1024,
            max_message_bytes=settings.attachment_max_message_mb * 1024 * 1024,
            max_files=settings.attachment_max_files,
            max_image_side=settings.image_max_side,
        ),
    )


@dataclass
class Core:
    """Everything the window, the CLI and the API share; opened and closed on one loop."""

    paths: AppPaths
    settings: Settings
    store: Store
    secrets: SecretStore
    service: ConversationService
    backups: BackupSchedule
    agents: AgentService = field(init=False)
    tokens: TokenService = field(init=False)
    gateway: GatewayService = field(init=False)
    api: ApiRunner = field(init=False)  # the local API, when the settings turn it on
    data_folder: DataFolder = field(init=False)
    tools: ToolService = field(init=False)  # MCP servers, their tools, approvals

    def __post_init__(self) -> None:
        if self.service.tools is None:  # the core offers tools to every reply it runs
            self.service.use_tools(
                ToolService(
                    self.store,
                    self.secrets,
                    log_folder=self.paths.logs,
                    call_timeout=self.settings.tool_timeout,
                    max_rounds=self.settings.tool_rounds,
                )
            )
        assert self.service.tools is not None
        self.tools = self.service.tools
        self.tools.approvals.always = set(self.settings.tools_always_allowed)
        self.tools.approvals.on_always = self._remember_always
        self.agents = AgentService(self.service, self.secrets)
        self.tokens = TokenService(self.store)
        self.gateway = GatewayService(self.service, self.tokens)
        self.api = ApiRunner(self.service, self.tokens, self.gateway)
        self.data_folder = DataFolder(self.paths)

    @classmethod
    async def open(
        cls,
        paths: AppPaths | None = None,
        secrets: SecretStore | None = None,
        *,
        for_reading: bool = False,
    ) -> Core:
        """Open everything; `for_reading`: the caller only reads, so a data folder that
        cannot be written (read-only, full) is opened read-only rather than refused."""
        paths = paths or default_paths()
        map_large_blocks_apart()
        if not for_reading:  # like a restore below: only before anything opens the database
            paths = await asyncio.to_thread(apply_planned_move, paths)
        try:
            paths.ensure()
        except OSError as exc:
            if not (for_reading and paths.journal.is_dir()):
                raise from_os_error(exc, paths.database) from exc
        settings = load_settings(paths.settings_file)
        if not for_reading:  # asked for in the window, which cannot restore under itself
            restored = await asyncio.to_thread(apply_pending_restore, paths.database)
            if restored is not None:
                log.warning("Restored the conversations from %s", restored)
        store = await Store.open(paths.database, for_reading=for_reading)
        secrets = secrets or SecretStore()
        service = ConversationService(
            store,
            secrets,
            CrashJournal(paths.journal),
            engine_config(settings),
            session_keys=SessionKeyNotes(paths.session_keys),
        )
        if not store.read_only:
            try:
                await service.recover()
            except StoreError:
                if not for_reading:  # reading needs no recovered reply: the next start has it
                    await store.close()
                    raise
                log.warning("Crash journal not recovered; left for the next start")
            except BaseException:
                await store.close()
                raise
        backups = BackupSchedule(paths.database, settings.backup_every_hours, settings.backups_kept)
        return cls(paths, settings, store, secrets, service, backups)

    def _remember_always(self, key: str) -> None:
        """A tool the user allowed for good: kept in the settings, across restarts."""
        if key not in self.settings.tools_always_allowed:
            allowed = [*self.settings.tools_always_allowed, key]
            self.settings = self.settings.model_copy(update={"tools_always_allowed": allowed})
            save_settings(self.paths.settings_file, self.settings)

    async def apply_settings(self, settings: Settings) -> None:
        save_settings(self.paths.settings_file, settings)
        self.settings = settings
        self.tools.call_timeout = settings.tool_timeout
        self.tools.max_rounds = settings.tool_rounds
        self.tools.approvals.always = set(settings.tools_always_allowed)
        await self.service.reconfigure(engine_config(settings))
        self.backups.reconfigure(settings.backup_every_hours, settings.backups_kept)

    async def aclose(self) -> None:
        await self.api.stop()
        await self.gateway.aclose()
        await self.tokens.aclose()
        await self.backups.aclose()
        await self.service.aclose()
        await self.store.close()

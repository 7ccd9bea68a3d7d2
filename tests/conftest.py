"""Fixtures shared by every test: a private home folder, a fake server, a real core."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import keyring
import pytest
import pytest_asyncio

from desktop_chat.app import Core
from desktop_chat.paths import HOME_ENV, AppPaths, default_paths
from desktop_chat.schemas import Agent, AppPreset, ChatMessage
from desktop_chat.secrets import SecretStore
from desktop_chat.store import Store
from tests.fake_openai import FakeOpenAI
from tests.gui_support import new_qt_loop
from tests.hermetic import clear_callers_environment
from tests.memory_keyring import MemoryKeyring

clear_callers_environment()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

QT_FIXTURES = {"qapp", "qtbot"}


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The loop an async test runs on: qasync for tests that use Qt, asyncio's own otherwise.

    A Qt test's body, its async fixtures and their teardown all run on one fresh qasync
    loop over the QApplication, as the window runs in the app; the CLI and the API server
    run on asyncio's default loop, so their tests do too.
    """
    if QT_FIXTURES & set(item.fixturenames):
        return {"qasync": new_qt_loop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data, config and log folders."""
    root = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(root))
    return root


@pytest.fixture
def paths(home: Path) -> AppPaths:
    return default_paths().ensure()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def secrets(memory_keyring: MemoryKeyring) -> SecretStore:
    return SecretStore()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def agent(fake: FakeOpenAI) -> Agent:
    return Agent(
        name="Fake",
        base_url=fake.base_url,
        model="fake-model",
        preset_messages=[ChatMessage(role="system", content="You are terse.")],
        app_preset=AppPreset(greetings=["Hi! Ask me anything."], suggested_questions=["Why?"]),
        key_ref="agent:fake",
        is_default=True,
    )


@pytest_asyncio.fixture
async def core(paths: AppPaths, secrets: SecretStore, agent: Agent) -> AsyncIterator[Core]:
    """A real core on a real SQLite file, with one default agent pointing at the fake."""
    secrets.set("agent:fake", "sk-test-key-1234567890")
    opened = await Core.open(paths, secrets)
    opened.service.config.auto_title = False
    await opened.service.save_agent(agent)
    yield opened
    await opened.aclose()


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """The store alone, on a fresh SQLite file."""
    opened = await Store.open(tmp_path / "data" / "conversations.sqlite3")
    yield opened
    await opened.close()

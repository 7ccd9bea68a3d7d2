"""Agents and their keys (engine.agents), against a real store and a real keyring backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from desktop_chat.app import Core
from desktop_chat.engine.agents import KeyNotKeptError, KeyStatus
from desktop_chat.paths import AppPaths
from desktop_chat.schemas import Agent
from desktop_chat.secrets import SERVICE, KeyringUnavailableError, SecretStore
from tests.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.asyncio

KEY = "sk-typed-key-0123456789"
ORIGINAL_KEY = "sk-test-key-1234567890"  # the `core` fixture's key for agent:fake


@pytest_asyncio.fixture
async def keyless_core(paths: AppPaths) -> AsyncIterator[Core]:
    """A core where no keyring works, as on a Linux machine without a Secret Service."""
    opened = await Core.open(paths, SecretStore(use_keyring=False))
    yield opened
    await opened.aclose()


def new_agent(name: str = "New") -> Agent:
    return Agent(name=name, base_url="http://localhost:11434/v1", model="llama3.2")


async def test_a_typed_key_is_stored_under_the_agents_own_name(
    core: Core, memory_keyring: MemoryKeyring
) -> None:
    saved = await core.agents.save(new_agent(), f"  {KEY}\n")

    assert saved.key is KeyStatus.STORED
    assert saved.agent.key_ref == f"agent:{saved.agent.agent_id}"
    assert memory_keyring.passwords[(SERVICE, saved.agent.key_ref)] == KEY
    assert await core.agents.key_status(saved.agent.key_ref) is KeyStatus.STORED
    unchanged = await core.agents.save(saved.agent.model_copy(update={"model": "qwen3"}), "  ")
    assert unchanged.key is None and unchanged.agent.key_ref == saved.agent.key_ref
    assert memory_keyring.passwords[(SERVICE, saved.agent.key_ref)] == KEY


@pytest.mark.parametrize("edited", ["original", "copy"])
async def test_a_new_key_for_one_of_two_sharing_agents_leaves_the_other_alone(
    core: Core, agent: Agent, edited: str
) -> None:
    original = await core.agents.get(agent.agent_id)
    original = await core.agents.save(original.model_copy(update={"key_ref": None}), KEY)
    original = original.agent  # now on `agent:<its id>`, the name a copy must not take over
    copy = await core.agents.duplicate(original, "Fake (copy)")
    assert copy.key_ref == original.key_ref and not copy.is_default
    target, other = (original, copy) if edited == "original" else (copy, original)

    saved = (await core.agents.save(target, "sk-another-key-999999")).agent

    assert saved.key_ref not in (None, other.key_ref)
    assert core.secrets.get(saved.key_ref) == "sk-another-key-999999"
    assert core.secrets.get(other.key_ref) == KEY
    assert (await core.agents.get(other.agent_id)).key_ref == other.key_ref


async def test_removing_an_agent_deletes_its_key_only_when_no_other_agent_uses_it(
    core: Core, agent: Agent, memory_keyring: MemoryKeyring
) -> None:
    copy = await core.agents.duplicate(agent, "Fake (copy)")

    removed = await core.agents.remove(agent.agent_id)

    assert removed.agent_id == agent.agent_id
    assert [a.agent_id for a in await core.agents.list()] == [copy.agent_id]
    assert memory_keyring.passwords[(SERVICE, "agent:fake")] == ORIGINAL_KEY
    await core.agents.remove(copy.name)
    assert memory_keyring.passwords == {}


async def test_forgetting_a_shared_key_only_lets_this_agent_go_of_it(
    core: Core, agent: Agent, memory_keyring: MemoryKeyring
) -> None:
    copy = await core.agents.duplicate(agent, "Fake (copy)")

    let_go = await core.agents.forget_key(copy)

    assert let_go.key_ref is None
    assert await core.agents.key_status(let_go.key_ref) is KeyStatus.NONE
    assert memory_keyring.passwords[(SERVICE, "agent:fake")] == ORIGINAL_KEY
    forgotten = await core.agents.forget_key(agent)
    assert (SERVICE, "agent:fake") not in memory_keyring.passwords
    assert await core.agents.key_status(forgotten.key_ref) is KeyStatus.NONE


async def test_without_a_keyring_a_key_is_kept_for_the_session_only_when_agreed(
    keyless_core: Core,
) -> None:
    agents = keyless_core.agents
    asked: list[bool] = []

    async def answer(agreed: bool) -> bool:
        asked.append(agreed)
        return agreed

    with pytest.raises(KeyringUnavailableError):
        await agents.save(new_agent(), KEY)  # nobody to ask: the command line
    with pytest.raises(KeyNotKeptError):
        await agents.save(new_agent(), KEY, lambda: answer(False))
    assert await agents.list() == []
    assert asked == [False]

    saved = await agents.save(new_agent(), KEY, lambda: answer(True))

    assert saved.key is KeyStatus.SESSION
    assert await agents.key_status(saved.agent.key_ref) is KeyStatus.SESSION
    assert keyless_core.secrets.get(saved.agent.key_ref) == KEY


async def test_key_status_tells_stored_session_environment_and_none_apart(
    core: Core, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyless = (await core.agents.save(new_agent("Keyless"))).agent
    session = new_agent("Session").model_copy(update={"key_ref": "agent:session"})
    core.secrets.set("agent:session", KEY, session_only=True)
    assert await core.agents.key_status(agent.key_ref) is KeyStatus.STORED
    assert await core.agents.key_status(session.key_ref) is KeyStatus.SESSION
    assert await core.agents.key_status(keyless.key_ref) is KeyStatus.NONE
    assert not core.agents.fallback_available()

    monkeypatch.setenv("OPENAI_API_KEY", ORIGINAL_KEY)  # the same text as the stored key

    assert core.agents.fallback_available()
    assert await core.agents.key_status(keyless.key_ref) is KeyStatus.ENVIRONMENT
    assert await core.agents.key_status(agent.key_ref) is KeyStatus.STORED
    assert await core.agents.key_status(session.key_ref) is KeyStatus.SESSION

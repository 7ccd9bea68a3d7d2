"""Known failures read the same in the window, on the command line and from the local API."""

from __future__ import annotations

import sqlite3

import pytest

from desktop_chat.api.errors import STATUS
from desktop_chat.commands import EXIT_CODES
from desktop_chat.engine import InputError, NoAgentError, ReplyInProgressError
from desktop_chat.engine.errors import EngineError
from desktop_chat.engine.failures import Category, describe
from desktop_chat.llm import ErrorKind, LLMError
from desktop_chat.secrets import KeyringUnavailableError
from desktop_chat.store import NotFoundError
from desktop_chat.store.errors import classify
from desktop_chat.ui.bridge import EngineBridge
from tests.gui_support import CoreOnLoop, wait_until
from tests.test_api_support import running_api
from tests.test_cli import cli


@pytest.mark.parametrize(
    ("exc", "kind", "category"),
    [
        (NotFoundError("conversation", "abc"), "not_found", Category.NOT_FOUND),
        (
            classify(sqlite3.OperationalError("database is locked"), "/data/c.sqlite3"),
            "locked",
            Category.LOCAL,
        ),
        (KeyringUnavailableError(), "keyring_unavailable", Category.LOCAL),
        (LLMError(ErrorKind.AUTH, "The server rejected the API key."), "auth", Category.UPSTREAM),
        (ReplyInProgressError(), "reply_in_progress", Category.CONFLICT),
        (NoAgentError(), "no_agent", Category.CONFLICT),
        (InputError("The message is empty."), "invalid_input", Category.INVALID),
        (EngineError("closing", "desktop_chat is shutting down."), "closing", Category.UNAVAILABLE),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_every_known_failure_has_its_sentence_kind_and_category(
    exc: Exception, kind: str, category: Category
) -> None:
    failure = describe(exc)
    assert failure is not None
    assert (failure.message, failure.kind, failure.category) == (str(exc), kind, category)


def test_anything_else_is_a_bug_and_has_no_sentence() -> None:
    assert describe(ValueError("a bug")) is None
    assert describe(KeyError("missing")) is None


def test_every_category_has_an_exit_code_and_an_http_status() -> None:
    assert set(EXIT_CODES) == set(Category)
    assert set(STATUS) == set(Category)
    assert EXIT_CODES[Category.NOT_FOUND] == 3 and STATUS[Category.NOT_FOUND] == 404
    assert EXIT_CODES[Category.LOCAL] == 4 and STATUS[Category.LOCAL] == 503


@pytest.mark.asyncio
async def test_one_failure_reads_the_same_in_every_client(
    qapp, paths, secrets, agent, fake
) -> None:
    expected = NotFoundError("conversation", "no-such-id").user_message

    exported = cli("export", "no-such-id")
    assert exported.returncode == 3
    assert exported.stderr.strip() == f"desktop-chat: {expected}"

    async with CoreOnLoop(paths, secrets, agent) as core:
        async with running_api(core) as api:
            answer = await api.call("GET", "/api/conversations/no-such-id")
        assert answer.status == 404
        assert answer.body["error"]["message"] == expected

        bridge = EngineBridge(core.service)
        told: list[str] = []
        bridge.failed.connect(told.append)
        bridge.spawn(core.service.get_conversation("no-such-id"))
        await wait_until(lambda: told, what="the window's sentence")
        bridge.close()
        assert told == [expected]

"""API keys: where they are kept, where they are refused, and where they must never show up."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from keyring.errors import PasswordSetError

from desktop_chat.app import Core
from desktop_chat.engine.events import ReplyFailed
from desktop_chat.logs import setup_logging
from desktop_chat.redaction import RedactingFilter, redact
from desktop_chat.secrets import SERVICE, KeyringUnavailableError, SecretStore
from desktop_chat.transfer import export_json, export_markdown
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog
from tests.memory_keyring import MemoryKeyring

SENTINEL = "sk-test-key-1234567890"  # what the `core` fixture stores for the fake agent


class FakePlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt's PlaintextKeyring: it works, but writes keys in clear."""


class LockedKeyring(MemoryKeyring):
    """A keyring that is there but refuses writes (a locked collection, a denied prompt)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("the collection is locked")


@pytest.fixture
def use_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Install a keyring backend for one test, as if keyring had picked it on its own."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


# Keeping keys ------------------------------------------------------------------------


def test_set_get_delete_through_the_keyring(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.keyring_available and store.backend_name == "MemoryKeyring"

    store.set("agent:one", "  sk-one-abcdef  \n")

    assert memory_keyring.passwords == {(SERVICE, "agent:one"): "sk-one-abcdef"}
    assert store.get("agent:one") == "sk-one-abcdef"
    assert SecretStore().get("agent:one") == "sk-one-abcdef", "kept beyond this session"
    assert store.has("agent:one") and not store.has("agent:two")

    store.delete("agent:one")
    store.delete("agent:one")  # deleting twice is fine
    assert memory_keyring.passwords == {}
    assert store.get("agent:one") is None
    with pytest.raises(ValueError, match="non-empty"):
        store.set("agent:one", "   ")


def test_session_only_keys_stay_out_of_the_keyring(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.set("agent:temp", "sk-session-only-42", session_only=True)

    assert memory_keyring.passwords == {}
    assert store.get("agent:temp") == "sk-session-only-42"
    assert SecretStore().get("agent:temp") is None, "a session key outlived its session"

    store.set("agent:temp", "sk-now-kept-43")
    assert memory_keyring.passwords == {(SERVICE, "agent:temp"): "sk-now-kept-43"}
    assert store.get("agent:temp") == "sk-now-kept-43"


def test_openai_api_key_is_the_fallback(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SecretStore()
    assert store.get("agent:none") is None and store.get(None) is None

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-environment-1")
    assert store.get(None) == "sk-from-environment-1"
    assert store.get("agent:none") == "sk-from-environment-1"

    store.set("agent:own", "sk-agent-own-key-2")
    assert store.get("agent:own") == "sk-agent-own-key-2", "the agent's own key comes first"


# No safe keyring ---------------------------------------------------------------------


def test_without_a_keyring_the_session_only_choice_is_offered(use_keyring) -> None:
    use_keyring(keyring.backends.fail.Keyring())
    store = SecretStore()
    assert not store.keyring_available

    with pytest.raises(KeyringUnavailableError) as caught:
        store.set("agent:x", "sk-nowhere-to-go-1")

    message = caught.value.user_message
    assert message == str(caught.value)
    assert "session only" in message
    assert "PYTHON_KEYRING_BACKEND" in message
    assert store.get("agent:x") is None

    store.set("agent:x", "sk-nowhere-to-go-1", session_only=True)
    assert store.get("agent:x") == "sk-nowhere-to-go-1"
    store.delete("agent:x")
    assert store.get("agent:x") is None


def test_a_plaintext_keyring_picked_implicitly_is_not_trusted(
    use_keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    plaintext = FakePlaintextKeyring()
    plaintext.passwords[(SERVICE, "agent:old")] = "sk-left-in-a-file-1"
    use_keyring(plaintext)

    store = SecretStore()
    assert not store.keyring_available
    with pytest.raises(KeyringUnavailableError):
        store.set("agent:new", "sk-must-not-be-written-2")
    assert (SERVICE, "agent:new") not in plaintext.passwords
    assert store.get("agent:old") is None

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.test_secrets.FakePlaintextKeyring")
    chosen = SecretStore()
    assert chosen.keyring_available, "an explicit choice is respected"
    chosen.set("agent:new", "sk-written-on-request-3")
    assert plaintext.passwords[(SERVICE, "agent:new")] == "sk-written-on-request-3"


def test_a_keyring_that_refuses_the_write_offers_the_session(use_keyring) -> None:
    use_keyring(LockedKeyring())
    store = SecretStore()

    with pytest.raises(KeyringUnavailableError, match="session only"):
        store.set("agent:x", "sk-refused-by-keyring-1")

    store.set("agent:x", "sk-refused-by-keyring-1", session_only=True)
    assert store.get("agent:x") == "sk-refused-by-keyring-1"


# Redaction ---------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_redacting_filter_masks_a_known_key(captured, secrets: SecretStore) -> None:
    logger, stream = captured
    key = "sk-redact-me-0987654321"
    secrets.set("agent:r", key)

    logger.info(f"message holds {key} itself")
    logger.info("argument holds %s", key)
    logger.info("mapping holds %(auth)s", {"auth": f"Bearer {key}"})
    logger.debug("harmless %d %s", 42, "text")
    try:
        raise RuntimeError(f"upstream said: bad key {key}")
    except RuntimeError:
        logger.exception("call failed")

    output = stream.getvalue()
    assert key not in output
    assert output.count("***") == 4
    assert "message holds *** itself" in output
    assert "mapping holds Bearer ***" in output
    assert "harmless 42 text" in output
    assert "RuntimeError: upstream said: bad key ***" in output


def test_redacting_filter_cleans_the_record_itself() -> None:
    key = "sk-record-level-5555555"
    redact.add(key)
    try:
        raise ValueError(f"with {key}")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key=%s", (key,), exc_info)

    assert RedactingFilter().filter(record) is True

    assert key not in record.getMessage() and record.getMessage() == "key=***"
    assert record.exc_text and key not in record.exc_text and "with ***" in record.exc_text
    assert key not in logging.Formatter().format(record)


# The key never leaves the keyring -----------------------------------------------------


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """setup_logging at DEBUG into a file, with the HTTP stack at its most talkative too."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {
        name: logging.getLogger(name).level
        for name in ("openai", "httpx", "httpx2", "httpcore", "httpcore2")
    }
    log_file = tmp_path / "logs" / "desktop_chat.log"
    setup_logging(log_file, debug=True)
    for name in noisy:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield log_file
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, previous in noisy.items():
        logging.getLogger(name).setLevel(previous)


@pytest.mark.asyncio
async def test_the_key_never_leaves_the_keyring(
    core: Core, fake: FakeOpenAI, debug_log: Path, home: Path, tmp_path: Path
) -> None:
    events = EventLog(core.service)

    ok = await core.service.create_conversation(title="Secrecy check")
    await core.service.send(ok.id, "Hello there")
    assert (await events.done(ok.id)).status == "complete"

    fake.scenario = Scenario(
        status=401, error_message=f"Incorrect API key provided: {SENTINEL}. Check it."
    )
    failing = await core.service.create_conversation(title="Rejected key")
    await core.service.send(failing.id, "Hello again")
    assert (await events.done(failing.id)).status == "failed"

    assert fake.requests[0]["headers"]["authorization"] == f"Bearer {SENTINEL}", (
        "the sentinel must be the key actually in use, or this test proves nothing"
    )
    # A careless debug line, as a future change might add one: the log must still be clean.
    logging.getLogger("desktop_chat.engine").debug("request headers: %s", fake.requests[0])

    conversations = await core.service.export()
    exports = {"json": export_json(conversations), "md": export_markdown(conversations)}
    for fmt, text in exports.items():
        (tmp_path / f"export.{fmt}").write_text(text, encoding="utf-8")
    for handler in logging.getLogger().handlers:
        handler.flush()

    errors = events.of(ReplyFailed)
    assert [e.kind for e in errors] == ["auth"]
    assert SENTINEL not in repr(events.events)  # every field of every event published
    stored = await core.service.get_conversation(failing.id)
    assert stored.messages[-1].error and SENTINEL not in stored.messages[-1].error

    log_text = debug_log.read_text(encoding="utf-8")
    assert "request headers:" in log_text and "Bearer ***" in log_text
    database = core.paths.database
    wal = database.with_name(database.name + "-wal")
    assert database.exists() and wal.exists() and core.paths.journal.is_dir()

    searched = [
        database,
        wal,
        debug_log,
        *(p for p in home.rglob("*") if p.is_file()),
        *(p for p in core.paths.journal.rglob("*") if p.is_file()),
        *(tmp_path / f"export.{fmt}" for fmt in exports),
    ]
    leaks = [str(p) for p in searched if SENTINEL.encode() in p.read_bytes()]
    assert leaks == []
    for text in exports.values():
        assert "Secrecy check" in text and SENTINEL not in text

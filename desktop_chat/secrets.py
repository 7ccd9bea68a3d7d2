"""API keys: the only module that reads or writes them.

Keys live in the operating system's keyring under the service `desktop_chat`, and agents
refer to them by name (`key_ref`). Where no keyring works (a headless Linux without a
Secret Service), we say so plainly and offer two explicit choices: keep the key in memory
for this session only, or opt in to a file backend by naming it in
`PYTHON_KEYRING_BACKEND`. A plaintext backend that keyring picked on its own is never used.
A backend that would ask for its password where nobody can type it (keyrings.alt's
encrypted file, without a terminal) is refused with a sentence, before it prompts.

The keyring is imported and its backend detected when a key is first needed, not when
the store is made: both take 100-250 ms, and an agent for a local server has no key.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, TypeVar

from desktop_chat.redaction import redact
from desktop_chat.sentences import N_

if TYPE_CHECKING:
    import keyring.backend

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE = "desktop_chat"
ENV_FALLBACK = "OPENAI_API_KEY"
_PLAINTEXT_BACKENDS = ("PlaintextKeyring", "fail.Keyring", "Null")
KeptIn = Literal["keyring", "session"]

KEYRING_MISSING_MESSAGE = N_(
    "No system keyring is available to store API keys safely. You can keep the key for "
    "this session only, or install a keyring (GNOME Keyring, KWallet or KeePassXC) and "
    "restart. To store keys in a file instead, set PYTHON_KEYRING_BACKEND to a file "
    "backend such as keyrings.alt.file.EncryptedKeyring."
)


def keyring_prompt_message(backend: str) -> str:
    return (
        f"The keyring {backend} asks for its password on a terminal, and desktop_chat has "
        "none to ask on here. Run desktop_chat from a terminal to type it, or use a keyring "
        "that unlocks with your login (GNOME Keyring, KWallet, KeePassXC) by unsetting "
        "PYTHON_KEYRING_BACKEND."
    )


def keyring_broken_message(backend: str, reason: str) -> str:
    return (
        f"The keyring named in PYTHON_KEYRING_BACKEND ({backend}) cannot be used: {reason}. "
        "Install what it needs, or unset PYTHON_KEYRING_BACKEND to use the system's keyring."
    )


class KeyringUnavailableError(Exception):
    def __init__(self, message: str = KEYRING_MISSING_MESSAGE) -> None:
        super().__init__(message)
        self.user_message = message


def _would_prompt(backend: keyring.backend.KeyringBackend) -> bool:
    """keyrings.alt's encrypted file backends ask (getpass) for a password on first use.

    getpass falls back to reading stdin, where a script's input or /dev/null is: refuse
    rather than read a password from there or fail with EOFError.
    """
    locked = hasattr(type(backend), "_unlock") and "keyring_key" not in vars(backend)
    return locked and not (sys.stdin is not None and sys.stdin.isatty())


def _backend_is_trusted(backend: keyring.backend.KeyringBackend) -> bool:
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    explicit = os.environ.get("PYTHON_KEYRING_BACKEND")
    if explicit:
        return True
    if any(part in name for part in _PLAINTEXT_BACKENDS):
        return False
    return getattr(backend, "priority", 0) > 0


class SecretStore:
    """Reads and writes keys; falls back to a per-session memory store only when asked."""

    def __init__(self, use_keyring: bool = True) -> None:
        self._session: dict[str, str] = {}
        self._unavailable = KEYRING_MISSING_MESSAGE
        self._use_keyring = use_keyring
        self._backend: keyring.backend.KeyringBackend | None = None
        self._detected = False
        self._detecting = threading.Lock()  # keys are read from worker threads

    @property
    def _keyring(self) -> keyring.backend.KeyringBackend | None:
        """The trusted backend, detected on first use; None where no keyring is usable."""
        if not self._detected:
            with self._detecting:
                if not self._detected:
                    self._backend = self._detect() if self._use_keyring else None
                    self._detected = True
        return self._backend

    def _detect(self) -> keyring.backend.KeyringBackend | None:
        import keyring

        try:
            backend = keyring.get_keyring()
        except Exception as exc:  # a backend named in the environment that cannot load
            named = os.environ.get("PYTHON_KEYRING_BACKEND", "")
            log.warning("Keyring backend %s cannot be used: %s", named, exc)
            self._unavailable = keyring_broken_message(named, str(exc).rstrip("."))
            return None
        if not _backend_is_trusted(backend):
            log.warning(
                "Keyring backend %s is not safe or not working; not used", type(backend).__name__
            )
            return None
        return backend

    @property
    def keyring_available(self) -> bool:
        return self._keyring is not None

    @property
    def backend_name(self) -> str:
        return type(self._keyring).__name__ if self._keyring else "session memory"

    def get(self, key_ref: str | None) -> str | None:
        """The key for `key_ref`, else OPENAI_API_KEY, else None (local servers need none)."""
        secret = self.get_own(key_ref)
        if secret is None:
            secret = os.environ.get(ENV_FALLBACK) or None
        if secret:
            redact.add(secret)
        return secret

    def get_own(self, key_ref: str | None) -> str | None:
        """The secret kept under `key_ref` itself, with no fallback (MCP header values)."""
        secret = None
        if key_ref:
            secret = self._session.get(key_ref)
            if secret is None and self._keyring is not None:
                import keyring.errors

                backend = self._keyring
                try:
                    secret = self._ask(lambda: backend.get_password(SERVICE, key_ref))
                except keyring.errors.KeyringError as exc:
                    log.warning("Keyring lookup failed: %s", type(exc).__name__)
        if secret:
            redact.add(secret)
        return secret

    def kept_in(self, key_ref: str | None) -> KeptIn | None:
        """Where the key of `key_ref` itself is kept, OPENAI_API_KEY aside; None: nowhere.

        A session key wins over the keyring, as it does in `get`.
        """
        if not key_ref:
            return None
        if key_ref in self._session:
            return "session"
        if self._keyring is None:
            return None
        import keyring.errors

        try:
            found = self._keyring.get_password(SERVICE, key_ref) is not None
        except keyring.errors.KeyringError as exc:
            log.warning("Keyring lookup failed: %s", type(exc).__name__)
            return None
        return "keyring" if found else None

    @staticmethod
    def fallback_available() -> bool:
        """Whether OPENAI_API_KEY would serve an agent that has no key of its own."""
        return bool(os.environ.get(ENV_FALLBACK))

    def has(self, key_ref: str | None) -> bool:
        return bool(key_ref) and self.get(key_ref) is not None

    def set(self, key_ref: str, secret: str, session_only: bool = False) -> None:
        """Store a key; raises KeyringUnavailableError unless `session_only` is chosen."""
        secret = secret.strip()
        if not key_ref or not secret:
            raise ValueError("Both a key name and a non-empty key are needed.")
        redact.add(secret)
        if session_only:
            self._session[key_ref] = secret
            return
        if self._keyring is None:
            raise KeyringUnavailableError(self._unavailable)
        import keyring.errors

        backend = self._keyring
        try:
            self._ask(lambda: backend.set_password(SERVICE, key_ref, secret))
        except keyring.errors.KeyringError as exc:
            log.warning("Keyring write failed: %s", type(exc).__name__)
            raise KeyringUnavailableError() from None
        self._session.pop(key_ref, None)

    def delete(self, key_ref: str) -> None:
        self._session.pop(key_ref, None)
        if self._keyring is None:
            return
        import keyring.errors

        backend = self._keyring
        try:
            self._ask(lambda: backend.delete_password(SERVICE, key_ref))
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            log.warning("Keyring delete failed: %s", type(exc).__name__)

    def _ask(self, operation: Callable[[], T]) -> T:
        """Call the backend, unless it would prompt where nobody can answer (a sentence then)."""
        assert self._keyring is not None
        kind = type(self._keyring)
        problem = KeyringUnavailableError(
            keyring_prompt_message(f"{kind.__module__}.{kind.__qualname__}")
        )
        if _would_prompt(self._keyring):
            raise problem
        try:
            return operation()
        except EOFError:  # it prompted anyway, and read the end of its input
            log.warning("Keyring backend %s prompted with no terminal", kind.__name__)
            raise problem from None

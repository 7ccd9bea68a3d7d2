"""API tokens: who may use the local API, and what through its OpenAI-compatible gateway.

One service for the window's settings, the command line and the API alike, so that the
rules (valid names, hashing, the agents a token may use) live in one place. A token is 32
random bytes, shown once when it is made and stored only as its SHA-256, so a copy of the
database lets nobody in.

Every check reads the (small) token table again, so a token revoked from the command line
stops working at once in a server running in another process. Requests that outlive a
check (an open stream) `hold` their token: a revoke here ends them at once, and one made
in another process is noticed within `watch_interval` seconds, while any is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence

from desktop_chat.engine.errors import InputError
from desktop_chat.schemas import ApiToken
from desktop_chat.store import Store, StoreError

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
OWNER_PREFIX = "token:"
# Longer than any token or ticket made here; anything longer is refused unhashed.
MAX_SECRET_CHARS = 256
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class TokenNameError(InputError):
    """A token name that cannot be used; the message says which names can."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name!r} cannot name a token: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or a digit."
        )


def owner_for(name: str) -> str:
    """The owner of the conversations a token's client creates (or has kept)."""
    return OWNER_PREFIX + name


def token_of(owner: str) -> str:
    """The name of the token an owner stands for."""
    return owner.removeprefix(OWNER_PREFIX)


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """128+ random bits, URL-safe: a token, or a stream ticket."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class TokenService:
    """Creates, lists, revokes and checks API tokens in the conversation database."""

    def __init__(
        self, store: Store, touch_interval: float = 60.0, watch_interval: float = 5.0
    ) -> None:
        self._store = store
        self._touch_interval = touch_interval
        self._touched: dict[str, float] = {}
        self.watch_interval = watch_interval
        self._holds: dict[str, dict[int, Callable[[], None]]] = {}
        self._hold_ids = itertools.count()
        self._watch: asyncio.Task[None] | None = None

    async def create(
        self, name: str, agents: Sequence[str] | None = None, store_conversations: bool = False
    ) -> tuple[ApiToken, str]:
        """A new token: the stored record, and the token's text, returned only here.

        `agents` (names or ids) limits the agents the token may use through the gateway;
        None allows every agent, also those added later.
        """
        if not _NAME.fullmatch(name):
            raise TokenNameError(name)
        agent_ids = await self._agent_ids(agents) if agents is not None else None
        token = new_secret()
        hashed = digest(token)
        record = await self._store.run(
            lambda r: r.tokens.create(name, hashed, agent_ids, store_conversations)
        )
        return record, token

    async def list(self) -> list[ApiToken]:
        return await self._store.run(lambda r: r.tokens.list())

    async def get(self, name: str) -> ApiToken | None:
        """The token of that name, if it still exists (read again: it may be revoked)."""
        return next((t for t in await self.list() if t.name == name), None)

    async def revoke(self, name: str) -> None:
        """Forget a token and end what is held with it; NotFoundError when there is none."""
        await self._store.run(lambda r: r.tokens.revoke(name))
        self._touched.pop(name, None)
        self._end_holds(name)

    async def verify(self, token: str) -> ApiToken | None:
        """The token `token` is, or None; digests are compared in constant time."""
        if not token or len(token) > MAX_SECRET_CHARS:
            return None
        presented = digest(token)
        known = await self._store.run(lambda r: r.tokens.with_hashes())
        match: ApiToken | None = None
        for record, stored in known:  # no early exit: the time taken names no token
            if hmac.compare_digest(presented, stored):
                match = record
        if match is not None:
            await self._touch(match.name)
        return match

    def hold(self, name: str, on_revoked: Callable[[], None]) -> Callable[[], None]:
        """Call `on_revoked` once if token `name` is revoked; returns the release."""
        key = next(self._hold_ids)
        self._holds.setdefault(name, {})[key] = on_revoked
        if self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(
                self._watch_revokes(), name="api-token-watch"
            )

        def release() -> None:
            held = self._holds.get(name)
            if held is not None:
                held.pop(key, None)
                if not held:
                    del self._holds[name]
            if not self._holds and self._watch is not None:
                self._watch.cancel()
                self._watch = None

        return release

    async def aclose(self) -> None:
        """Stop watching for revokes made elsewhere (what is held stays held)."""
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch

    async def _agent_ids(self, agents: Sequence[str]) -> list[str]:
        wanted = [a.strip() for a in agents if a.strip()]
        if not wanted:
            raise InputError("Name at least one agent the token may use, or leave --agents out.")
        known = await self._store.run(lambda r: r.agents.list())
        ids: list[str] = []
        for name in wanted:
            agent = next((a for a in known if name in (a.agent_id, a.name)), None)
            if agent is None:
                raise InputError(
                    f"There is no agent named {name!r}; `desktop-chat agents list` shows them."
                )
            ids.append(agent.agent_id)
        return list(dict.fromkeys(ids))

    async def _touch(self, name: str) -> None:
        """Record the last use, at most once a minute per token: a read should not write."""
        now = time.monotonic()
        last = self._touched.get(name)
        if last is not None and now - last < self._touch_interval:
            return
        self._touched[name] = now
        try:
            await self._store.run(lambda r: r.tokens.touch(name))
        except StoreError as exc:
            # Bookkeeping only: a database busy in another program (or full) must not turn
            # a request that only reads into a failure.
            log.info("Could not record the use of API token %s (%s)", name, exc.kind)

    def _end_holds(self, name: str) -> None:
        for on_revoked in list(self._holds.pop(name, {}).values()):
            on_revoked()
        if not self._holds and self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def _watch_revokes(self) -> None:
        """While anything is held: notice tokens revoked by another process."""
        while self._holds:
            await asyncio.sleep(self.watch_interval)
            try:
                names = {t.name for t in await self.list()}
            except StoreError as exc:
                log.info("Could not check for revoked API tokens (%s)", exc.kind)
                continue
            for name in [n for n in self._holds if n not in names]:
                log.info("API token %s was revoked elsewhere; ending its requests", name)
                self._end_holds(name)

"""Who is calling: API tokens (one per client) and short-lived stream tickets.

A token is 32 random bytes, shown once when it is made and stored only as its SHA-256, so
a copy of the database lets nobody in. Each token is an owner: the conversations it
creates carry ``token:<name>`` and it never sees anyone else's.

Browsers' EventSource cannot send an Authorization header, so a client holding a token
trades it (``POST /api/stream-tickets``) for a ticket that opens one stream of one
conversation, once, within a minute. A ticket in a URL may end up in a browser's history;
being single-use and short-lived, it is worth nothing there.

No aiohttp here: the ``tokens`` command of the CLI uses this module without a server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from desktop_chat.schemas import ApiToken
from desktop_chat.store import Store, StoreError

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
TICKET_TTL = 60.0
OWNER_PREFIX = "token:"
# Longer than any token or ticket this module makes; anything longer is refused unhashed.
MAX_SECRET_CHARS = 256
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class TokenNameError(ValueError):
    """A token name that cannot be used; the message says which names can."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name!r} cannot name a token: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or a digit."
        )
        self.user_message = str(self)


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def owner_for(name: str) -> str:
    """The conversation owner a token stands for."""
    return OWNER_PREFIX + name


class TokenStore:
    """Creates, lists, revokes and checks API tokens in the conversation database.

    Every check reads the (small) token table again, so a token revoked from the command
    line stops working at once in a server running in another process.
    """

    def __init__(self, store: Store, touch_interval: float = 60.0) -> None:
        self._store = store
        self._touch_interval = touch_interval
        self._touched: dict[str, float] = {}

    async def create(self, name: str) -> tuple[ApiToken, str]:
        """A new token for `name`: the stored record and the token text, returned only here."""
        if not _NAME.fullmatch(name):
            raise TokenNameError(name)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        hashed = digest(token)
        record = await self._store.run(lambda r: r.tokens.create(name, hashed))
        return record, token

    async def list(self) -> list[ApiToken]:
        return await self._store.run(lambda r: r.tokens.list())

    async def revoke(self, name: str) -> None:
        """Forget a token; raises NotFoundError when there is none of that name."""
        await self._store.run(lambda r: r.tokens.revoke(name))
        self._touched.pop(name, None)

    async def verify(self, token: str) -> str | None:
        """The name of the token `token` is, or None; digests are compared in constant time."""
        if not token or len(token) > MAX_SECRET_CHARS:
            return None
        presented = digest(token)
        known = await self._store.run(lambda r: r.tokens.hashes())
        match: str | None = None
        for name, stored in known:  # no early exit: the time taken names no token
            if hmac.compare_digest(presented, stored):
                match = name
        if match is not None:
            await self._touch(match)
        return match

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


@dataclass(frozen=True)
class _Ticket:
    owner: str
    conversation_id: str
    expires: float


class TicketBook:
    """Single-use, short-lived tickets that open one conversation's stream.

    Held in memory only (a restart voids them, which costs a client one more POST), keyed
    by digest so that a lookup's timing says nothing about the ticket, and bounded: the
    oldest tickets give way when `limit` are outstanding.
    """

    def __init__(
        self,
        ttl: float = TICKET_TTL,
        limit: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._limit = limit
        self._clock = clock
        self._tickets: dict[str, _Ticket] = {}

    def __len__(self) -> int:
        return len(self._tickets)

    def mint(self, owner: str, conversation_id: str) -> str:
        self._purge()
        while len(self._tickets) >= self._limit:
            del self._tickets[next(iter(self._tickets))]
        ticket = secrets.token_urlsafe(TOKEN_BYTES)
        expires = self._clock() + self.ttl
        self._tickets[digest(ticket)] = _Ticket(owner, conversation_id, expires)
        return ticket

    def redeem(self, ticket: str, conversation_id: str) -> str | None:
        """The owner the ticket was minted for, if it is valid for this conversation.

        A ticket is spent by any attempt to use it, right or wrong, so it cannot be probed.
        """
        if not ticket or len(ticket) > MAX_SECRET_CHARS:
            return None
        entry = self._tickets.pop(digest(ticket), None)
        if entry is None or entry.expires < self._clock():
            return None
        if entry.conversation_id != conversation_id:
            return None
        return entry.owner

    def _purge(self) -> None:
        now = self._clock()
        for key in [k for k, t in self._tickets.items() if t.expires < now]:
            del self._tickets[key]

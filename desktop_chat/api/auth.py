"""Who is calling: owners (one per API token) and short-lived stream tickets.

Tokens themselves are an engine service (engine/api_tokens.py), shared with the window
and the command line. Each token is an owner: the conversations it creates carry
``token:<name>`` and it never sees anyone else's.

Browsers' EventSource cannot send an Authorization header, so a client holding a token
trades it (``POST /api/stream-tickets``) for a ticket that opens one stream of one
conversation, once, within a minute. A ticket in a URL may end up in a browser's history;
being single-use and short-lived, it is worth nothing there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from desktop_chat.engine.api_tokens import MAX_SECRET_CHARS, digest, new_secret

TICKET_TTL = 60.0


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
        ticket = new_secret()
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

"""Who lets a tool run: the user, once or always, or nobody (then the model is told).

A call waits here for a decision. The command line answers through an `approver` it
installs (a question on the terminal, `--allow-tools`, or a refusal with no terminal);
otherwise the call is published as a request that the window or the local API answers
with `answer()`, and a request nobody answers in time is refused. "Always" is kept per
tool (server and tool name), in the settings through `on_always`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    ONCE = "once"
    ALWAYS = "always"
    DENY = "deny"


@dataclass(frozen=True)
class ApprovalRequest:
    """A call waiting for a decision; `arguments` is the JSON text as the model sent it."""

    call_id: str
    conversation_id: str
    server: str
    tool: str
    arguments: str


Approver = Callable[[ApprovalRequest], Awaitable[Decision]]

DEFAULT_WAIT = 600.0  # seconds a published request waits for an answer before refusal


def always_key(server: str, tool: str) -> str:
    return f"{server}/{tool}"


class ToolApprovals:
    def __init__(self, always: set[str] | None = None, wait: float = DEFAULT_WAIT) -> None:
        self.always: set[str] = set(always or ())
        self.approver: Approver | None = None
        self.on_always: Callable[[str], None] | None = None
        self.wait = wait
        self._pending: dict[str, tuple[ApprovalRequest, asyncio.Future[Decision]]] = {}

    async def decide(
        self, request: ApprovalRequest, publish: Callable[[ApprovalRequest], None]
    ) -> bool:
        """Whether the call may run; asks the approver, or publishes and waits for answer()."""
        key = always_key(request.server, request.tool)
        if key in self.always:
            return True
        if self.approver is not None:
            decision = await self.approver(request)
        else:
            future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
            self._pending[request.call_id] = (request, future)
            try:
                publish(request)
                async with asyncio.timeout(self.wait):
                    decision = await future
            except TimeoutError:
                decision = Decision.DENY
            finally:
                self._pending.pop(request.call_id, None)
        if decision is Decision.ALWAYS:
            self.always.add(key)
            if self.on_always is not None:
                self.on_always(key)
        return decision is not Decision.DENY

    def answer(self, call_id: str, decision: Decision) -> bool:
        """Answer a waiting call; False when no call with that id waits (any more)."""
        found = self._pending.get(call_id)
        if found is None or found[1].done():
            return False
        found[1].set_result(decision)
        return True

    def waiting(self, conversation_id: str | None = None) -> list[ApprovalRequest]:
        return [
            request
            for request, _ in self._pending.values()
            if conversation_id is None or request.conversation_id == conversation_id
        ]

    def aclose(self) -> None:
        """Refuse every call still waiting (the app is closing)."""
        for _, future in list(self._pending.values()):
            with contextlib.suppress(asyncio.InvalidStateError):
                future.set_result(Decision.DENY)

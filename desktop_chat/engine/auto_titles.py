"""The title a model writes for a conversation after its first reply.

A nicety: it runs as a task of its own once the reply is stored, and a failure keeps the
title made from the first words.
"""

from __future__ import annotations

import logging

from desktop_chat.engine.clients import Upstream
from desktop_chat.engine.events import EventBus
from desktop_chat.engine.notices import set_title
from desktop_chat.engine.titles import clean_title, title_request
from desktop_chat.llm import LLMError
from desktop_chat.schemas import Agent
from desktop_chat.store import Store, StoreError

log = logging.getLogger(__name__)


async def write_title(
    upstream: Upstream,
    store: Store,
    bus: EventBus,
    agent: Agent,
    conversation_id: str,
    first_user: str,
) -> None:
    """Ask `agent` for a title for a conversation that began with `first_user`; set it."""
    try:
        async with upstream.slots:
            client = await upstream.client_for(agent)
            raw = await client.complete(agent.model, title_request(first_user))
    except LLMError as exc:
        log.info("Automatic title failed (%s); keeping the first words", exc.kind)
        return
    title = clean_title(raw)
    if title:
        try:
            await set_title(store, bus, conversation_id, title)
        except StoreError:
            log.info("Conversation %s went away before its title", conversation_id)

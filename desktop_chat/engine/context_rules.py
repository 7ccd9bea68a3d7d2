"""How a context edited in the window is stored: what the user saw is what gets sent.

An editor shows a copy of the history read a while ago; by the time the user applies it,
a message it shows may have gone (deleted, or replaced by Regenerate, elsewhere). A
strict replace (the local API's) refuses such a context; the window's editor cannot ask
the user to start over, and must not silently drop text they may have edited, so its
entries whose message is gone are stored again as new messages.
"""

from __future__ import annotations

from collections.abc import Iterable

from desktop_chat.schemas import ContextEntry


def rebase_history(
    history: list[ContextEntry], stored_ids: Iterable[int | None]
) -> list[ContextEntry]:
    """`history` to store over the messages `stored_ids` the conversation holds now.

    An entry whose stored message has gone becomes a new message. Each stored message is
    kept by one entry at most: a second entry naming the same id becomes a copy.
    """
    alive = {i for i in stored_ids if i is not None}
    rebased = []
    for entry in history:
        if entry.id in alive:
            alive.remove(entry.id)  # claimed: a second entry with this id is a copy
        elif entry.id is not None:
            entry = entry.model_copy(update={"id": None})
        rebased.append(entry)
    return rebased

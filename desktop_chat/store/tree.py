"""A conversation's messages as a tree: every version kept, one path current.

Regenerating a reply adds a sibling of it, editing a question adds a sibling of the
question; nothing is overwritten. The conversation remembers its current leaf, and what
is shown and sent is the path from the root to it. This module is the shape alone (ids
and parent ids, read in one small query), so walking it costs no database round trips.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


class Tree:
    """The parent links of one conversation's messages."""

    def __init__(self, links: Iterable[tuple[int, int | None]]) -> None:
        self.parent: dict[int, int | None] = {}
        self.children: dict[int | None, list[int]] = defaultdict(list)
        for message_id, parent_id in sorted(links):
            self.parent[message_id] = parent_id
        for message_id, parent_id in self.parent.items():
            if parent_id is not None and parent_id not in self.parent:
                parent_id = self.parent[message_id] = None  # a dangling link: a root
            self.children[parent_id].append(message_id)  # in id order: oldest first

    def __contains__(self, message_id: object) -> bool:
        return message_id in self.parent

    def path_to(self, message_id: int | None) -> list[int]:
        """The ids from the root down to `message_id` (empty for None)."""
        path: list[int] = []
        seen: set[int] = set()
        node = message_id
        while node is not None and node in self.parent and node not in seen:
            seen.add(node)  # a cycle can only come from a damaged file: stop, never loop
            path.append(node)
            node = self.parent[node]
        path.reverse()
        return path

    def newest_leaf(self, message_id: int | None) -> int | None:
        """The leaf reached from `message_id` by always taking the newest child.

        From None, it starts at the newest root. Switching to a version shows where the
        conversation went on from it most recently.
        """
        node = message_id
        if node is None:
            roots = self.children.get(None)
            if not roots:
                return None
            node = roots[-1]
        seen: set[int] = set()
        while self.children.get(node) and node not in seen:
            seen.add(node)
            node = self.children[node][-1]
        return node

    def siblings(self, message_id: int) -> list[int]:
        """Every version at `message_id`'s place, itself included, oldest first."""
        return list(self.children.get(self.parent.get(message_id), [message_id]))

    def versions(self, path: list[int]) -> dict[int, list[int]]:
        """For the messages of `path` that have other versions: all of them."""
        found: dict[int, list[int]] = {}
        for message_id in path:
            siblings = self.siblings(message_id)
            if len(siblings) > 1:
                found[message_id] = siblings
        return found

    def subtree(self, message_id: int) -> list[int]:
        """`message_id` and everything below it."""
        found: list[int] = []
        stack = [message_id]
        while stack:
            node = stack.pop()
            if node in found:
                continue
            found.append(node)
            stack.extend(self.children.get(node, []))
        return found

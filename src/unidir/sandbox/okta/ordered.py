"""An insertion-ordered key set that pages cheaply.

Okta pages with an opaque ``after`` cursor. Keeping every key's slot in an append-only list
lets a page start exactly where the previous one ended, in O(1), without rescanning from the
beginning; removal leaves a hole so that cursors handed out earlier stay valid.
"""

from __future__ import annotations

from collections.abc import Iterator


class OrderedIndex:
    def __init__(self) -> None:
        self._slots: list[str | None] = []
        self._position: dict[str, int] = {}
        self._live = 0

    def add(self, key: str) -> None:
        if key in self:
            return
        self._position[key] = len(self._slots)
        self._slots.append(key)
        self._live += 1

    def discard(self, key: str) -> None:
        if key in self:
            self._slots[self._position[key]] = None
            self._live -= 1

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        position = self._position.get(key)
        return position is not None and self._slots[position] == key

    def __len__(self) -> int:
        return self._live

    def knows(self, key: str) -> bool:
        """True for any key ever added, removed or not: such a key is a valid cursor."""
        return key in self._position

    def iter_after(self, after: str | None) -> Iterator[str]:
        start = 0 if after is None else self._position[after] + 1
        slots = self._slots
        for index in range(start, len(slots)):
            key = slots[index]
            if key is not None:
                yield key

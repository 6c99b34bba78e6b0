"""One record type's records by ID, with the IDs also kept ascending for paging.

``crm.*.list`` walks a large base by ``>ID`` in ID order (REST docs: big data; the fast
walk). A :class:`RecordStore` is the plain ``{id: record}`` mapping the rest of the
emulator uses, plus a sorted list of its IDs, so that a page starts with a ``bisect``
instead of a scan and sort of the whole type.

The list follows every change made through the mapping (``store[id] = record``,
``del store[id]``, ``pop``, ``clear``, ...). IDs are given out ascending, so an add is
an append; a seeded ID below the highest is inserted in place. A delete only counts
the ID as stale: readers skip IDs no longer in the mapping, and the list is rebuilt
once a quarter of it is stale, so deleting many records costs no more than adding them.
The list holds the same int objects as the mapping's keys: 8 bytes a record.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]

# Rebuild the ID list when this many entries, and a quarter of it, are stale.
COMPACT_AT = 1024


@dataclass(frozen=True)
class IdRange:
    """``low < ID < high``; either end may be open (None) or inclusive."""

    low: float | None = None
    low_inclusive: bool = False
    high: float | None = None
    high_inclusive: bool = False


class RecordStore(dict[int, Record]):
    """``{id: record}`` that can also be read in ID order from any ID on."""

    __slots__ = ("_ids", "_stale")

    def __init__(self, records: Iterable[tuple[int, Record]] = ()) -> None:
        super().__init__()
        self._ids: list[int] = []
        self._stale = 0
        for key, record in records:
            self[key] = record

    # -- the mapping, kept in step with the ID list --------------------------
    def __setitem__(self, key: int, record: Record) -> None:
        if not dict.__contains__(self, key):
            self._index(key)
        dict.__setitem__(self, key, record)

    def __delitem__(self, key: int) -> None:
        dict.__delitem__(self, key)
        self._forget()

    def pop(self, key: int, *default: Any) -> Any:
        if dict.__contains__(self, key):
            record = dict.pop(self, key)
            self._forget()
            return record
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[int, Record]:
        item = dict.popitem(self)
        self._forget()
        return item

    def setdefault(self, key: int, default: Record) -> Record:
        if not dict.__contains__(self, key):
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, record in dict(*args, **kwargs).items():
            self[key] = record

    def __ior__(self, other: Any) -> RecordStore:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        dict.clear(self)
        self._ids = []
        self._stale = 0

    def copy(self) -> RecordStore:
        return RecordStore(self.items())

    def __reduce__(self) -> Any:
        return (RecordStore, (list(self.items()),))

    def _index(self, key: int) -> None:
        ids = self._ids
        if not ids or key > ids[-1]:
            ids.append(key)
            return
        at = bisect_left(ids, key)
        if at < len(ids) and ids[at] == key:
            self._stale -= 1  # a deleted ID comes back: its entry is still there
        else:
            ids.insert(at, key)

    def _forget(self) -> None:
        self._stale += 1
        if self._stale >= COMPACT_AT and self._stale * 4 >= len(self._ids):
            self.compact()

    def compact(self) -> None:
        """Drop the IDs of deleted records from the ID list."""
        if self._stale:
            self._ids = [key for key in self._ids if dict.__contains__(self, key)]
            self._stale = 0

    # -- reading in ID order ---------------------------------------------------
    def _positions(self, span: IdRange) -> tuple[int, int]:
        ids = self._ids
        low, high = 0, len(ids)
        if span.low is not None:
            low = (bisect_left if span.low_inclusive else bisect_right)(ids, span.low)
        if span.high is not None:
            high = (bisect_right if span.high_inclusive else bisect_left)(ids, span.high)
        return low, max(low, high)

    def walk(self, span: IdRange = IdRange(), *, descending: bool = False) -> Iterator[Record]:
        """The records in ``span``, in ID order: a bisect, then one step per record.

        Take a page with ``itertools.islice`` or a ``break``; do not change the store
        while the iterator is in use.
        """
        low, high = self._positions(span)
        ids = self._ids
        get = dict.get
        for at in range(high - 1, low - 1, -1) if descending else range(low, high):
            record = get(self, ids[at])
            if record is not None:  # None: a deleted record's stale ID
                yield record

    def window(
        self, span: IdRange, offset: int, limit: int, *, descending: bool = False
    ) -> tuple[int, list[Record]]:
        """How many records ``span`` holds, and ``limit`` of them from ``offset`` on."""
        self.compact()
        low, high = self._positions(span)
        if descending:
            end = max(low, high - offset)
            chosen = self._ids[max(low, end - limit) : end][::-1]
        else:
            begin = min(high, low + offset)
            chosen = self._ids[begin : min(high, begin + limit)]
        return high - low, [dict.__getitem__(self, key) for key in chosen]

    def ids(self) -> list[int]:
        """Every ID, ascending (a copy)."""
        self.compact()
        return list(self._ids)

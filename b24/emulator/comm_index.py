"""An index from a normalised phone or email to the records that carry it.

findbycomm answers from this index instead of scanning every record, so that a
portal with tens of thousands of records answers as fast as a real one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from b24.emulator.phones import normalise_communication

Key = tuple[str, str]  # (TYPE_ID, normalised value)


def record_keys(record: Mapping[str, Any]) -> set[Key]:
    keys: set[Key] = set()
    for type_id in ("PHONE", "EMAIL"):
        for item in record.get(type_id) or []:
            normalised = normalise_communication(type_id, str(item.get("VALUE", "")))
            if normalised:
                keys.add((type_id, normalised))
    return keys


class CommunicationIndex:
    def __init__(self) -> None:
        self._ids: dict[Key, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        self._keys: dict[tuple[str, int], set[Key]] = {}

    def put(self, entity_name: str, entity_id: int, record: Mapping[str, Any]) -> None:
        self.remove(entity_name, entity_id)
        keys = record_keys(record)
        self._keys[(entity_name, entity_id)] = keys
        for key in keys:
            self._ids[key][entity_name].add(entity_id)

    def remove(self, entity_name: str, entity_id: int) -> None:
        for key in self._keys.pop((entity_name, entity_id), set()):
            self._ids[key][entity_name].discard(entity_id)

    def find(self, type_id: str, values: Iterable[str], entity_name: str) -> set[int]:
        found: set[int] = set()
        for value in values:
            key = (type_id, normalise_communication(type_id, value))
            if key[1] and key in self._ids:
                found |= self._ids[key].get(entity_name, set())
        return found

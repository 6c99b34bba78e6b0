"""findbycomm's index: each record's communication codes, and the records of a code.

Bitrix24 keeps the same in ``b_crm_dp_comm_mcd``: one row per record and code, the
codes of its phones and e-mails as :mod:`b24.emulator.phones` makes them, written when
the record is saved (``duplicatecommunicationcriterion.php:312-353``). A search reads
the rows of one code, ordered by record type id (lead 1, contact 3, company 4) and then
by id, at most ``limit`` of them (:757-820).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from b24.emulator.phones import EMAIL, PHONE, communication_codes

Key = tuple[str, str]  # (TYPE_ID, code)

# Record types by type id, as the index orders its rows.
TYPE_ORDER = ("LEAD", "CONTACT", "COMPANY")


def record_keys(record: Mapping[str, Any]) -> set[Key]:
    keys: set[Key] = set()
    for type_id in (PHONE, EMAIL):
        values = [item.get("VALUE") for item in record.get(type_id) or []]
        keys.update((type_id, code) for code in communication_codes(type_id, values))
    return keys


class CommunicationIndex:
    def __init__(self) -> None:
        self._ids: dict[Key, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        self._keys: dict[tuple[str, int], set[Key]] = {}

    def put(self, entity_name: str, entity_id: int, record: Mapping[str, Any]) -> None:
        self.remove(entity_name, entity_id)
        keys = record_keys(record)
        if keys:
            self._keys[(entity_name, entity_id)] = keys
        for key in keys:
            self._ids[key][entity_name].add(entity_id)

    def remove(self, entity_name: str, entity_id: int) -> None:
        for key in self._keys.pop((entity_name, entity_id), set()):
            ids = self._ids.get(key)
            if ids is None:
                continue
            ids[entity_name].discard(entity_id)
            if not ids[entity_name]:
                del ids[entity_name]
            if not ids:
                del self._ids[key]

    def find(
        self, type_id: str, code: str, entity_names: Iterable[str], limit: int
    ) -> list[tuple[str, int]]:
        """The first ``limit`` rows of one code: by type (lead, contact, company), then id."""
        rows: list[tuple[str, int]] = []
        by_type = self._ids.get((type_id, code))
        if by_type is None:
            return rows
        for name in TYPE_ORDER:
            if name not in entity_names or len(rows) >= limit:
                continue
            ids = by_type.get(name)
            if ids:
                rows.extend((name, i) for i in heapq.nsmallest(limit - len(rows), ids))
        return rows

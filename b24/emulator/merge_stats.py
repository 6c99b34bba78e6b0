"""What the emulated mergeBatch did, for ``GET /_emulator/stats`` (not part of Bitrix24).

The real merger stops at the first conflicting field and says nothing of it; the
emulator keeps that field so that a test or a benchmark can see why merges conflict.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

RECENT = 50


@dataclass
class MergeStats:
    statuses: Counter[str] = field(default_factory=Counter)
    # "CONTACT.NAME": how many merges of that type conflicted first on that field.
    conflict_fields: Counter[str] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT))

    def note(
        self, entity_name: str, ids: list[int], status: str, conflict_field: str | None = None
    ) -> None:
        self.statuses[status] += 1
        if conflict_field is not None:
            self.conflict_fields[f"{entity_name}.{conflict_field}"] += 1
        self.recent.append(
            {"entity": entity_name, "ids": ids, "status": status, "conflict_field": conflict_field}
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "statuses": dict(self.statuses),
            "conflict_fields": dict(self.conflict_fields),
            "recent": list(self.recent),
        }

"""PHONE, EMAIL, WEB and IM united on the survivor (``entitymerger.php:2475-2603``).

The survivor's entries stay as they are. Seed by seed, in the order of ``entityIds``,
each entry whose key is not among the survivor's keys is appended with the seed's raw
VALUE and VALUE_TYPE. Keys: a phone's :func:`~b24.emulator.phones.normalize_phone`, else
the lower-cased value, both of the trimmed value; empty values and keys are skipped,
VALUE_TYPE is not part of the key. The keys are taken from the survivor (with what
earlier seeds added) before each seed, so two same-key entries *within one seed* are
both appended (:2494-2540, :1571-1600).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from b24.crm import MULTIFIELDS
from b24.emulator.phones import multifield_key


def merge_multifields(
    target: Mapping[str, Any], seeds: Sequence[Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """The entries each multifield gains, in order (``{}`` when none)."""
    united: dict[str, list[dict[str, Any]]] = {
        type_id: [dict(item) for item in target.get(type_id) or []] for type_id in MULTIFIELDS
    }
    added: dict[str, list[dict[str, Any]]] = {}
    for seed in seeds:
        keys = {
            type_id: {multifield_key(type_id, str(item.get("VALUE") or "")) for item in items}
            for type_id, items in united.items()
        }
        for type_id in MULTIFIELDS:
            for item in seed.get(type_id) or []:
                value = str(item.get("VALUE") or "")
                key = multifield_key(type_id, value)
                if key == "" or key in keys[type_id]:
                    continue
                entry = {"VALUE": value, "VALUE_TYPE": item.get("VALUE_TYPE")}
                united[type_id].append(entry)
                added.setdefault(type_id, []).append(entry)
    return added

"""PHONE, EMAIL, WEB, IM (and any other ``crm_multifield``): union by normalised key.

Source: ``EntityMerger::mergeBoundEntitiesBatch`` and ``mergeMultiFields``
(``modules/crm/lib/merger/entitymerger.php:1535-1601,2475-2603``; sheet 2.8).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from b24.predict.phones import normalize_phone
from b24.predict.php import mb_lower, php_string, php_trim
from b24.predict.resolvers import Record

Entry = Mapping[str, Any]


def multifield_key(type_id: str, value: Any) -> str:
    """entitymerger.php:2518-2526: PHONE -> normalizePhone(trim(VALUE)); others -> trim +
    mb_strtolower. '' means "skip this entry"."""
    text = php_trim(php_string(value))
    if text == "":
        return ""
    return normalize_phone(text) if type_id == "PHONE" else mb_lower(text)


def _entries(record: Record, type_id: str) -> list[Entry]:
    value = record.get(type_id)
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]


def merge_multifields(
    target: Record, seeds: Sequence[Record], type_ids: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    """The survivor's multifield lists after the merge, per type present anywhere.

    The target's entries stay as they are (copied). Seeds are processed one by one in
    request order (entitymerger.php:1591-1595); before each seed the target's keys are
    collected afresh (:2494-2540), so a key added by an earlier seed is not added again,
    but two same-key entries *within one seed* are both appended (:2573-2599, the keys are
    not updated inside the seed loop). A new entry is ``{"VALUE", "VALUE_TYPE"}`` with the
    seed's raw VALUE and its VALUE_TYPE; VALUE_TYPE does not take part in the key.
    """
    result: dict[str, list[dict[str, Any]]] = {}
    for type_id in type_ids:
        merged: list[dict[str, Any]] = [dict(entry) for entry in _entries(target, type_id)]
        changed = False
        for seed in seeds:
            target_keys = {multifield_key(type_id, entry.get("VALUE")) for entry in merged}
            target_keys.discard("")
            for entry in _entries(seed, type_id):
                key = multifield_key(type_id, entry.get("VALUE"))
                if key != "" and key not in target_keys:
                    merged.append(
                        {"VALUE": entry.get("VALUE"), "VALUE_TYPE": entry.get("VALUE_TYPE")}
                    )
                    changed = True
        if changed or type_id in target:
            result[type_id] = merged
    return result

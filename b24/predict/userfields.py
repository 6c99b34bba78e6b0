"""User fields ``UF_CRM_*``: single ones compared, multiple ones united (sheet 2.7).

Source: ``EntityMerger::mergeUserFieldsBatch``
(``modules/crm/lib/merger/entitymerger.php:2066-2440``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from b24.predict.php import php_intval, php_string
from b24.predict.resolvers import Record, file_id


def uf_is_set(value: Any) -> bool:
    """``isset($seed[$fieldID])`` (entitymerger.php:2129): any non-null value, '' and 0 too.

    REST shows a user field without a value as null, false, '' or [] (a stored NULL); those
    are "not set" here (predictor choice). A stored 0 ("0", boolean No) is a value.
    """
    return not (value is None or value is False or value == "" or value == [])


def _key(value: Any, is_file: bool) -> str:
    """``array_diff`` compares ``(string)`` forms; file values by their id."""
    return php_string(file_id(value) if is_file else value)


def union_multiple(
    target_value: Any, seed_values: Sequence[Any], *, is_file: bool
) -> list[Any] | None:
    """The merged value of a multiple user field, or None to leave the target as it is.

    entitymerger.php:2174-2188: the seeds' values are collected in order, each seed adding
    those not collected yet (a seed's own repeats stay). :2410-2432: the target keeps its
    values and gets the collected ones it lacks (string comparison), or takes them all if it
    has none. Files likewise, by id (:2272-2349).
    """
    collected: list[Any] = []
    for value in seed_values:
        if not isinstance(value, list):
            collected.append(value)
            continue
        seen = {_key(item, is_file) for item in collected}
        collected.extend(item for item in value if _key(item, is_file) not in seen)
    if not collected:
        return None
    if isinstance(target_value, list) and uf_is_set(target_value):
        if is_file:
            # entitymerger.php:2278-2295: the target's file ids, compared as integers
            previous = {php_intval(file_id(item)) for item in target_value}
            return list(target_value) + [
                item for item in collected if php_intval(file_id(item)) not in previous
            ]
        present = {_key(item, False) for item in target_value}
        return list(target_value) + [item for item in collected if _key(item, False) not in present]
    return collected


def is_multiple(info: Mapping[str, Any]) -> bool:
    """``$fieldInfo['MULTIPLE'] === 'Y'`` (entitymerger.php:2110) = REST ``isMultiple``."""
    return bool(info.get("isMultiple"))


def seed_value_map(code: str, seed_map: Mapping[int, Record]) -> dict[int, Any]:
    """entitymerger.php:2120-2133: the seeds (in order) whose value is set."""
    return {sid: seed[code] for sid, seed in seed_map.items() if uf_is_set(seed.get(code))}

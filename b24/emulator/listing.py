"""``crm.*.list``: filter, order, select and pages of 50 (facts.md, Entities).

Filter keys carry their operator as a prefix (``>ID``, ``>=DATE_MODIFY``, ``!NAME``,
``%TITLE``, ``@ID``), as in the REST docs' filter syntax. ``PHONE`` and ``EMAIL``
match one of the record's values exactly (emails case-insensitively, as MySQL compares).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from b24.crm import MULTIFIELDS, EntityType
from b24.emulator import errors
from b24.emulator.fields import FIELDS

_OPERATOR = re.compile(r"^(>=|<=|!=|!@|=%|%=|[><=!%@])?(.+)$")
_NUMERIC_TYPES = {"integer", "double", "user", "crm_company", "crm_contact", "crm_lead"}


@dataclass
class Page:
    """A list method's answer: ``result`` plus ``total``/``next`` unless counting is off."""

    rows: list[dict[str, Any]]
    total: int | None
    next: int | None


def _field_type(entity: EntityType, code: str) -> str:
    desc = FIELDS[entity.name].get(code)
    return str(desc["type"]) if desc else "string"


def _to_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip().replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed


def _comparable(kind: str, value: Any, tz: Any) -> Any:
    if kind in _NUMERIC_TYPES:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if kind in ("datetime", "date"):
        parsed = _to_datetime(value)
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed
    return None if value is None else str(value).lower()


def _matches(entity: EntityType, record: Mapping[str, Any], key: str, wanted: Any, tz: Any) -> bool:
    match = _OPERATOR.match(key)
    if not match:
        return True
    op, code = match.group(1) or "=", match.group(2)
    if code in MULTIFIELDS:
        values = [str(item["VALUE"]) for item in record.get(code) or []]
        targets = wanted if isinstance(wanted, list) else [wanted]
        if code == "EMAIL":
            values = [v.lower() for v in values]
            targets = [str(t).lower() for t in targets]
        hit = any(str(t) in values for t in targets)
        return not hit if op.startswith("!") else hit
    kind = _field_type(entity, code)
    actual = _comparable(kind, record.get(code), tz)
    if op in ("@", "!@"):
        options = wanted if isinstance(wanted, list) else [wanted]
        hit = actual in {_comparable(kind, o, tz) for o in options}
        return hit if op == "@" else not hit
    if op in ("%", "=%", "%="):
        needle = str(wanted).lower().strip("%")
        return actual is not None and needle in str(actual)
    target = _comparable(kind, wanted, tz)
    if isinstance(wanted, list):
        choices = {_comparable(kind, o, tz) for o in wanted}
        hit = actual in choices
        return not hit if op in ("!", "!=") else hit
    if op in ("=",):
        return bool(actual == target or (actual is None and wanted in ("", None)))
    if op in ("!", "!="):
        return not (actual == target or (actual is None and wanted in ("", None)))
    if actual is None or target is None:
        return False
    try:
        if op == ">":
            return bool(actual > target)
        if op == ">=":
            return bool(actual >= target)
        if op == "<":
            return bool(actual < target)
        if op == "<=":
            return bool(actual <= target)
    except TypeError:
        return False
    return True


def _select(entity: EntityType, select: Any, user_fields: Iterable[str]) -> list[str]:
    standard = [c for c in FIELDS[entity.name] if c not in MULTIFIELDS]
    if not select:
        return standard
    if isinstance(select, str):
        select = [select]
    if isinstance(select, Mapping):
        select = list(select.values())
    chosen: list[str] = []
    for code in select:
        code = str(code)
        if code == "*":
            chosen.extend(standard)
        elif code == "UF_*":
            chosen.extend(user_fields)
        elif code in FIELDS[entity.name] or code in user_fields:
            chosen.append(code)
    # Choice: ID is always part of a row, so that paging by ID works with any select.
    if "ID" not in chosen:
        chosen.insert(0, "ID")
    return list(dict.fromkeys(chosen))


def list_records(
    entity: EntityType,
    records: Iterable[Mapping[str, Any]],
    params: Mapping[str, Any],
    *,
    user_fields: Iterable[str],
    tz: Any,
    page_size: int = 50,
) -> Page:
    """Apply ``filter``, ``order``, ``select`` and ``start`` as crm.*.list does."""
    flt = params.get("filter") or {}
    if not isinstance(flt, Mapping):
        raise errors.invalid_argument("Parameter 'filter' must be an object.")
    order = params.get("order") or {"ID": "ASC"}
    if not isinstance(order, Mapping):
        raise errors.invalid_argument("Parameter 'order' must be an object.")
    try:
        start = int(params.get("start") or 0)
    except (TypeError, ValueError):
        start = 0
    user_fields = list(user_fields)
    rows = [r for r in records if all(_matches(entity, r, k, v, tz) for k, v in flt.items())]
    for code, direction in reversed(list(order.items())):
        kind = _field_type(entity, str(code))
        descending = str(direction).upper() == "DESC"

        def key(row: Mapping[str, Any], code: str = str(code), kind: str = kind) -> tuple[int, Any]:
            value = _comparable(kind, row.get(code), tz)
            return (0, 0) if value is None else (1, value)

        rows.sort(key=key, reverse=descending)
    columns = _select(entity, params.get("select"), user_fields)
    no_count = start < 0
    offset = 0 if no_count else start
    chunk = rows[offset : offset + page_size]
    shown = []
    for row in chunk:
        shown.append(
            {c: _copy_value(row.get(c)) for c in columns if c not in MULTIFIELDS or row.get(c)}
        )
    if no_count:
        return Page(shown, None, None)
    following = offset + page_size
    return Page(shown, len(rows), following if following < len(rows) else None)


def _copy_value(value: Any) -> Any:
    if isinstance(value, list):
        return [dict(item) for item in value]
    return value

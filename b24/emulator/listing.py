"""``crm.*.list``: filter, order, select and pages of 50 (REST docs: big data).

Filter keys carry their operator as a prefix (``>ID``, ``>=DATE_MODIFY``, ``!NAME``,
``%TITLE``, ``@ID``), as in the REST docs' filter syntax. ``PHONE`` and ``EMAIL``
match one of the record's values exactly (emails case-insensitively, as MySQL compares).

A list ordered by ID first (the default) is read from the store's ID index: ``>ID``,
``>=ID``, ``<ID``, ``<=ID`` give the range, ``ID``/``@ID`` the candidates, and with
``start=-1`` a page costs its own rows, whatever the portal's size: the fast walk of a
large base (REST docs: big data). Any other order tests and sorts every record.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any

from b24.crm import MULTIFIELDS, EntityType
from b24.emulator import errors
from b24.emulator.fields import FIELDS
from b24.emulator.record_store import IdRange, RecordStore

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
    store: RecordStore,
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
    columns = _select(entity, params.get("select"), list(user_fields))
    no_count = start < 0
    offset = 0 if no_count else start
    plan = plan_by_id(flt, order, tz)
    if plan is None:
        total, chunk = _scan(entity, store.values(), flt, order, tz, offset, page_size)
    else:
        total, chunk = _walk_by_id(entity, store, plan, tz, no_count, offset, page_size)
    shown = []
    for row in chunk:
        shown.append(
            {c: _copy_value(row.get(c)) for c in columns if c not in MULTIFIELDS or row.get(c)}
        )
    if no_count:
        return Page(shown, None, None)
    following = offset + page_size
    return Page(shown, total, following if following < total else None)


def _scan(
    entity: EntityType,
    records: Iterable[Mapping[str, Any]],
    flt: Mapping[str, Any],
    order: Mapping[str, Any],
    tz: Any,
    offset: int,
    page_size: int,
) -> tuple[int, Sequence[Mapping[str, Any]]]:
    """Any filter and order: test every record, sort the matches, cut out the page."""
    rows = [r for r in records if all(_matches(entity, r, k, v, tz) for k, v in flt.items())]
    for code, direction in reversed(list(order.items())):
        kind = _field_type(entity, str(code))
        descending = str(direction).upper() == "DESC"

        def key(row: Mapping[str, Any], code: str = str(code), kind: str = kind) -> tuple[int, Any]:
            value = _comparable(kind, row.get(code), tz)
            return (0, 0) if value is None else (1, value)

        rows.sort(key=key, reverse=descending)
    return len(rows), rows[offset : offset + page_size]


@dataclass
class ByIdPlan:
    """A list ordered by ID first: the ID range to read and the filters left to test.

    ``ids`` holds the only IDs that can match (from ``ID`` or ``@ID``), ``nothing`` is
    set when an ID bound matches no record (not a number: as in :func:`_matches`).
    """

    descending: bool
    span: IdRange = field(default_factory=IdRange)
    ids: set[int] | None = None
    rest: dict[str, Any] = field(default_factory=dict)
    nothing: bool = False

    def holds(self, entity_id: int) -> bool:
        low, high = self.span.low, self.span.high
        above = low is None or entity_id > low or (self.span.low_inclusive and entity_id == low)
        below = high is None or entity_id < high or (self.span.high_inclusive and entity_id == high)
        return above and below


def plan_by_id(flt: Mapping[str, Any], order: Mapping[str, Any], tz: Any) -> ByIdPlan | None:
    """The plan when the first ``order`` key is ``ID``; None for any other order.

    IDs are unique, so any order keys after ``ID`` change nothing. ``>ID``, ``>=ID``,
    ``<ID`` and ``<=ID`` narrow the range read; ``ID`` and ``@ID`` name the candidates;
    every other filter is tested record by record, exactly as the full scan tests it.
    """
    code, direction = next(iter(order.items()))
    if str(code) != "ID":
        return None
    plan = ByIdPlan(descending=str(direction).upper() == "DESC")
    for key, wanted in flt.items():
        match = _OPERATOR.match(str(key))
        if not match or match.group(2) != "ID":
            plan.rest[key] = wanted
            continue
        op = match.group(1) or "="
        if op in (">", ">=", "<", "<=") and not isinstance(wanted, list):
            bound = _comparable("integer", wanted, tz)
            if bound is None or math.isnan(bound):
                plan.nothing = True
            else:
                plan.span = _narrowed(plan.span, op, bound)
        elif op in ("=", "@"):
            options = wanted if isinstance(wanted, list) else [wanted]
            numbers = {_comparable("integer", o, tz) for o in options}
            ids = {int(n) for n in numbers if n is not None and float(n).is_integer()}
            plan.ids = ids if plan.ids is None else plan.ids & ids
        else:
            plan.rest[key] = wanted
    return plan


def _narrowed(span: IdRange, op: str, bound: float) -> IdRange:
    inclusive = op in (">=", "<=")
    if op.startswith(">"):
        if span.low is None or bound > span.low or (bound == span.low and not inclusive):
            return replace(span, low=bound, low_inclusive=inclusive)
    elif span.high is None or bound < span.high or (bound == span.high and not inclusive):
        return replace(span, high=bound, high_inclusive=inclusive)
    return span


def _walk_by_id(
    entity: EntityType,
    store: RecordStore,
    plan: ByIdPlan,
    tz: Any,
    no_count: bool,
    offset: int,
    page_size: int,
) -> tuple[int, Sequence[Mapping[str, Any]]]:
    """The page in ID order without looking at records outside it (when it can)."""
    if plan.nothing:
        return 0, []
    rest = plan.rest.items()
    if plan.ids is not None:
        candidates = (i for i in plan.ids if i in store and plan.holds(i))
        ordered = sorted(candidates, reverse=plan.descending)
        records: Iterable[Mapping[str, Any]] = (store[i] for i in ordered)
    elif not rest and not no_count:
        return store.window(plan.span, offset, page_size, descending=plan.descending)
    else:
        records = store.walk(plan.span, descending=plan.descending)
    matching = (r for r in records if all(_matches(entity, r, k, v, tz) for k, v in rest))
    if no_count:
        return 0, list(islice(matching, page_size))
    rows = list(matching)
    return len(rows), rows[offset : offset + page_size]


def _copy_value(value: Any) -> Any:
    if isinstance(value, list):
        # multifield items, or a multiple custom field's strings
        return [dict(item) if isinstance(item, Mapping) else item for item in value]
    return value

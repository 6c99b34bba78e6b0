"""Settling, before the merge, the differences Bitrix24's merger would refuse.

Pure. Given the group in survival order, the fields the prediction says the merger
refuses (:mod:`worker.prediction`), the field rules (:mod:`b24_dedupe.merge_rules`)
and a person's choices, :func:`resolve` says for each field which value wins and
which records must be written (``crm.*.update``) so that all of them hold it; or that
a person has to decide (rule ``review``), or that the group must never be merged
(rule ``block``).

Name and title fields the identity rules already called one customer (:mod:`worker.identity`:
"Sergey" and "Сергей", "ООО «Ромашка»" and "Ромашка") take the survivor's spelling.
Files (a photo, a logo) cannot be written back through REST as they were read: a
difference in one waits for a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from b24.crm import EntityType
from b24_dedupe.merge_rules import MergeRules, Rule
from worker.identity import NAME_FIELDS

Record = Mapping[str, Any]
FILE_TYPES = frozenset({"file"})
# Bitrix24's TextField separator (docs/decisions.md): a blank line, the moment, a line.
JOIN_DATE_FORMATS = {"ru": "%d.%m.%Y %H:%M", "en": "%m/%d/%Y %I:%M %p"}


@dataclass(frozen=True)
class FieldResolution:
    """How one differing field is settled."""

    code: str
    rule: str  # a Rule value, or "choice" (a person picked a record), or "identity"
    value: Any  # the value every record will hold
    source: int | None  # the record it comes from (None for a joined value)


@dataclass
class Resolution:
    """What to write before the merge; ``ready`` when nothing is left for a person."""

    fields: dict[str, FieldResolution] = field(default_factory=dict)
    writes: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> code -> value
    review: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> id -> value
    blocked: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> id -> value

    @property
    def ready(self) -> bool:
        return not self.review and not self.blocked

    def applied_to(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        """The records as they will be once the writes are made."""
        result = []
        for record in records:
            changed = dict(record)
            changed.update(self.writes.get(int(record["ID"]), {}))
            result.append(changed)
        return result


def is_empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def _same(a: Any, b: Any) -> bool:
    return str(a).strip() == str(b).strip()


def _modified(record: Record) -> datetime:
    raw = str(record.get("DATE_MODIFY") or "")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _winner_by_time(records: Sequence[Record], code: str, newest: bool) -> Record | None:
    """The most (least) recently modified record that has a value. Bitrix24 stamps
    DATE_MODIFY to the second: within one, the later (earlier) created record, by ID."""
    valued = [r for r in records if not is_empty(r.get(code))]
    if not valued:
        return None
    return (max if newest else min)(valued, key=lambda r: (_modified(r), int(r["ID"])))


def _joined(records: Sequence[Record], code: str, language: str, now: datetime) -> str:
    """Values joined as Bitrix24 joins a text field: each value not already contained
    (ignoring case) is appended after a blank line and a dated separator."""
    stamp = now.strftime(JOIN_DATE_FORMATS.get(language, JOIN_DATE_FORMATS["en"]))
    joined = ""
    for record in records:
        value = str(record.get(code) or "").strip()
        if not value or value.casefold() in joined.casefold():
            continue
        joined = value if not joined else f"{joined}\n\n ----- {stamp} -----\n{value}"
    return joined


def resolve(
    entity: EntityType,
    records: Sequence[Record],
    conflicts: Mapping[str, Mapping[int, Any]],
    rules: MergeRules,
    fields: Mapping[str, Mapping[str, Any]],
    *,
    choices: Mapping[str, int] | None = None,
    language: str = "ru",
    now: datetime | None = None,
) -> Resolution:
    """Settle each field of ``conflicts`` (code -> record id -> value) for ``records``
    (survival order, survivor first)."""
    choices = dict(choices or {})
    by_id = {int(r["ID"]): r for r in records}
    moment = now or datetime.now()
    resolution = Resolution()
    for code, values in conflicts.items():
        shown = {str(i): v for i, v in values.items()}
        if code in choices:
            chosen = by_id.get(int(choices[code]))
            if chosen is None:
                resolution.review[code] = shown
                continue
            resolution.fields[code] = FieldResolution(
                code, "choice", chosen.get(code), int(chosen["ID"])
            )
            continue
        info = fields.get(code, {})
        if str(info.get("type", "")) in FILE_TYPES:
            resolution.review[code] = shown
            continue
        if code in NAME_FIELDS[entity]:
            winner = next((r for r in records if not is_empty(r.get(code))), None)
            if winner is not None:
                resolution.fields[code] = FieldResolution(
                    code, "identity", winner.get(code), int(winner["ID"])
                )
            continue
        rule = rules.rule_for(entity, code)
        if rule in (Rule.BLOCK, Rule.IDENTITY):
            resolution.blocked[code] = shown
        elif rule is Rule.REVIEW:
            resolution.review[code] = shown
        elif rule is Rule.JOIN:
            resolution.fields[code] = FieldResolution(
                code, rule.value, _joined(records, code, language, moment), None
            )
        else:
            if rule is Rule.SURVIVOR:
                source = next((r for r in records if not is_empty(r.get(code))), None)
            else:
                source = _winner_by_time(records, code, newest=rule is Rule.NEWEST)
            if source is None:
                continue
            resolution.fields[code] = FieldResolution(
                code, rule.value, source.get(code), int(source["ID"])
            )
    if resolution.ready:
        _plan_writes(records, resolution)
    return resolution


def _plan_writes(records: Sequence[Record], resolution: Resolution) -> None:
    """Each record that would still differ gets the winning value: the survivor always,
    a seed only when it holds another non-empty value (Bitrix24 ignores empty ones)."""
    for position, record in enumerate(records):
        rid = int(record["ID"])
        for code, settled in resolution.fields.items():
            current = record.get(code)
            if is_empty(settled.value):
                needs = not is_empty(current)
            elif position == 0:
                needs = is_empty(current) or not _same(current, settled.value)
            else:
                needs = not is_empty(current) and not _same(current, settled.value)
            if needs:
                resolution.writes.setdefault(rid, {})[code] = (
                    "" if is_empty(settled.value) else settled.value
                )

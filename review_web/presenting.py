"""Records side by side: what the group page and a merge's history show.

Pure: from a review group (or an audit entry) to rows of fields, one cell per record,
with what differs, which values were the evidence, and for each field Bitrix24 would
refuse the choice the rules pre-set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from b24.crm import EntityType
from b24_dedupe.merge_rules import MergeRules, Rule
from b24_dedupe.review import ReviewGroup
from review_web.rendering import shown

Record = Mapping[str, Any]
MULTIFIELDS = ("PHONE", "EMAIL", "WEB", "IM")
# The order a person reads a card in; any other field follows by name, bookkeeping last.
FIRST = (
    "TITLE", "HONORIFIC", "NAME", "SECOND_NAME", "LAST_NAME", "COMPANY_TITLE",
    "PHONE", "EMAIL", "WEB", "IM", "POST", "COMPANY_ID", "ASSIGNED_BY_ID", "TYPE_ID",
    "STATUS_ID", "SOURCE_ID", "SOURCE_DESCRIPTION", "BIRTHDATE", "ADDRESS", "COMMENTS",
)  # fmt: skip
LAST = (
    "OPENED", "EXPORT", "CREATED_BY_ID", "MODIFY_BY_ID", "DATE_CREATE", "DATE_MODIFY", "ID",
)  # fmt: skip
LABELS = {
    "TITLE": "Title", "HONORIFIC": "Salutation", "NAME": "First name",
    "SECOND_NAME": "Second name", "LAST_NAME": "Last name", "COMPANY_TITLE": "Company name",
    "PHONE": "Phones", "EMAIL": "E-mails", "WEB": "Websites", "IM": "Messengers",
    "POST": "Position", "COMPANY_ID": "Company", "ASSIGNED_BY_ID": "Responsible person",
    "TYPE_ID": "Type", "STATUS_ID": "Stage", "SOURCE_ID": "Source",
    "SOURCE_DESCRIPTION": "Source information", "BIRTHDATE": "Date of birth",
    "ADDRESS": "Address", "COMMENTS": "Comments", "OPENED": "Available to everyone",
    "EXPORT": "Included in export", "CREATED_BY_ID": "Created by",
    "MODIFY_BY_ID": "Modified by", "DATE_CREATE": "Created", "DATE_MODIFY": "Modified",
    "ID": "ID",
}  # fmt: skip
RULE_WORDS = {
    Rule.SURVIVOR: "the rules say: the survivor's value",
    Rule.NEWEST: "the rules say: the most recently modified record's value",
    Rule.OLDEST: "the rules say: the least recently modified record's value",
    Rule.JOIN: "the rules say: the values joined",
    Rule.REVIEW: "no rule settles it: pre-set to the survivor's value, as Bitrix24's own "
    "merge form does; check it",
    Rule.BLOCK: "the rules say: a difference means two customers (block); choose only if "
    "you are sure",
    Rule.IDENTITY: "the rules say: an identity field; a difference means two customers",
}
JOINED = "join"
# Each record's own: they differ between any two records and the merge keeps the survivor's.
BOOKKEEPING = frozenset(
    {"ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID", "ORIGIN_ID"}
)


def is_empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def label(code: str) -> str:
    return LABELS.get(code, code)


def field_order(codes: set[str]) -> list[str]:
    first = [c for c in FIRST if c in codes]
    last = [c for c in LAST if c in codes]
    middle = sorted(codes - set(first) - set(last))
    return first + middle + last


@dataclass
class Item:
    text: str
    matched: bool = False  # one of the values the records were found by


@dataclass
class Cell:
    items: list[Item]

    @property
    def empty(self) -> bool:
        return not self.items


@dataclass
class Option:
    value: str  # a record id, or "join"
    text: str
    checked: bool


@dataclass
class Row:
    code: str
    label: str
    cells: list[Cell]
    differs: bool  # the records hold different values
    refused: bool = False  # Bitrix24 would refuse the merge over it: a choice is asked
    note: str = ""
    options: list[Option] = field(default_factory=list)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _matches(code: str, raw: str, evidence: Sequence[str]) -> bool:
    for typed in evidence:
        kind, _, value = typed.partition(":")
        if kind != code:
            continue
        if code == "PHONE":
            left, right = _digits(raw), _digits(value)
            if left and right and left[-10:] == right[-10:]:
                return True
        elif raw.strip().lower() == value.strip().lower():
            return True
    return False


def _cell(code: str, value: Any, evidence: Sequence[str]) -> Cell:
    if is_empty(value):
        return Cell([])
    if isinstance(value, list):
        items = []
        for element in value:
            raw = str(element.get("VALUE", "")) if isinstance(element, dict) else str(element)
            items.append(Item(shown([element]), _matches(code, raw, evidence)))
        return Cell(items)
    return Cell([Item(shown(value))])


def _comparable(value: Any) -> str:
    if isinstance(value, list):
        parts = [str(v.get("VALUE", v)) if isinstance(v, dict) else str(v) for v in value]
        return "|".join(sorted(p.strip().lower() for p in parts))
    return shown(value).strip()


def rows_of(records: Sequence[Record], evidence: Sequence[str] = ()) -> list[Row]:
    """One row per field filled in any of ``records``; ``evidence``: the values they
    were found by (``PHONE:+79991234567``), marked wherever a record holds one."""
    codes = {code for record in records for code, value in record.items() if not is_empty(value)}
    rows = []
    for code in field_order(codes):
        cells = [_cell(code, r.get(code), evidence) for r in records]
        filled = {_comparable(r.get(code)) for r in records if not is_empty(r.get(code))}
        differs = len(filled) > 1 and code not in BOOKKEEPING
        rows.append(Row(code, label(code), cells, differs=differs))
    return rows


def _modified(record: Record) -> datetime:
    try:
        moment = datetime.fromisoformat(str(record.get("DATE_MODIFY") or ""))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def preset(rule: Rule, code: str, records: Sequence[Record]) -> str:
    """The record whose value the rule makes win (its id), ``join``, or the survivor's."""
    valued = [r for r in records if not is_empty(r.get(code))]
    if rule is Rule.JOIN:
        return JOINED
    if rule in (Rule.NEWEST, Rule.OLDEST) and valued:
        pick = max if rule is Rule.NEWEST else min
        return str(pick(valued, key=lambda r: (_modified(r), int(r["ID"])))["ID"])
    winner = valued[0] if valued else records[0]
    return str(winner["ID"])


@dataclass
class GroupView:
    group: ReviewGroup
    records: Sequence[Record]
    rows: list[Row]
    links: dict[int, str]  # record id -> its card in the portal
    merge_form: str  # Bitrix24's own merge form for the group
    evidence: list[str]  # the values the records share (``PHONE:+7999…``)

    @property
    def refused(self) -> list[Row]:
        return [row for row in self.rows if row.refused]


def group_view(group: ReviewGroup, rules: MergeRules, portal_url: str) -> GroupView:
    records = [group.records.get(str(i), {"ID": i}) for i in group.ids]
    shared = sorted({value for values in group.evidence.values() for value in values})
    rows = rows_of(records, shared)
    by_code = {row.code: row for row in rows}
    for code, values in group.differing.items():
        row = by_code.get(code)
        if row is None:  # differs only in being empty here and not there
            row = Row(code, label(code), [Cell([]) for _ in records], differs=True)
            rows.append(row)
        row.refused = True
        rule = rules.rule_for(group.entity, code)
        row.note = RULE_WORDS[rule]
        chosen = preset(rule, code, records)
        if rule is Rule.JOIN:
            row.options.append(Option(JOINED, "joined, as the rule says", True))
        for record in records:
            rid = str(record.get("ID"))
            value = record.get(code, values.get(rid))
            row.options.append(Option(rid, shown(value) or "(empty)", rid == chosen))
    base = portal_url.rstrip("/")
    return GroupView(
        group=group,
        records=records,
        rows=rows,
        links={i: base + group.entity.details_path(i) for i in group.ids} if base else {},
        merge_form=base + group.entity.merge_path(group.ids) if base else "",
        evidence=shared,
    )


def record_link(portal_url: str, entity: EntityType, record_id: int) -> str:
    base = portal_url.rstrip("/")
    return base + entity.details_path(record_id) if base else ""


@dataclass
class MergeView:
    """A merge's records before it, and the survivor after it (history)."""

    headings: list[str]
    rows: list[Row]


def merge_view(
    entity: EntityType,
    group: Sequence[int],
    snapshots: Mapping[str, Record],
    after: Record | None,
) -> MergeView:
    records = [snapshots[str(i)] for i in group if str(i) in snapshots]
    headings = [
        f"{entity.label} {r.get('ID')}" + (" (survivor) before" if n == 0 else ", merged away")
        for n, r in enumerate(records)
    ]
    columns = list(records)
    if after:
        headings.append(f"{entity.label} {after.get('ID')} after the merge")
        columns.append(after)
    rows = rows_of(columns)
    if after and records:
        # Highlighted: what the merge changed on the survivor.
        for row in rows:
            row.differs = _comparable(records[0].get(row.code)) != _comparable(after.get(row.code))
    return MergeView(headings, rows)

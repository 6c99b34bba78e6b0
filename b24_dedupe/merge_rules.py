"""Field rules: which value wins when records about to be merged differ in a field.

Bitrix24's ``crm.entity.mergeBatch`` has no forced mode: a difference its own field
rules do not settle ends in CONFLICT (docs/decisions.md, "What Bitrix24 settles
itself"). Before sending it, the worker writes the winning value of each such field
onto the records (``crm.*.update``), so the merger finds nothing to refuse. Which
value wins is said here, per record type and field code::

    [contact]
    POST = "newest"
    ASSIGNED_BY_ID = "survivor"
    [company]
    UF_CRM_INN = "identity"

Rules (:class:`Rule`):

- ``survivor``: the survivor's value; an empty one falls to the next record in
  survival order;
- ``newest`` / ``oldest``: the value of the most / least recently modified record
  that has one;
- ``join``: text values joined as Bitrix24 joins COMMENTS; a multiple field's values
  united;
- ``review``: a person decides (the group waits in the review queue);
- ``block``: a difference means two different customers: never merge;
- ``identity``: a field that identifies the customer (a company's tax number): equal
  values are stronger evidence than the names, different values mean two customers.

Defaults, for a field the file does not name: the names and titles are identity by
nature (the worker's identity rules compare them); every other field Bitrix24 would
refuse is ``review``. A field Bitrix24 settles itself needs no rule.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b24.crm import EntityType


class Rule(enum.StrEnum):
    SURVIVOR = "survivor"
    NEWEST = "newest"
    OLDEST = "oldest"
    JOIN = "join"
    REVIEW = "review"
    BLOCK = "block"
    IDENTITY = "identity"


# The rule of a differing field no rule names (see the module's docstring).
DEFAULT_RULE = Rule.REVIEW
# Field types (crm.*.fields "type") whose values can be joined as text.
TEXT_TYPES = frozenset({"string", "text"})
# What a rules file cannot change: the record's own bookkeeping and its communications
# (multifields are united by Bitrix24 itself).
NOT_RULABLE = frozenset({"ID", "PHONE", "EMAIL", "WEB", "IM"})


class RulesError(ValueError):
    """A rules file that cannot be applied; the message names the file, type and field."""


@dataclass(frozen=True)
class MergeRules:
    """The rules of every record type; :meth:`rule_for` answers for any field."""

    by_type: Mapping[EntityType, Mapping[str, Rule]] = field(default_factory=dict)
    source: str = "defaults"

    def rule_for(self, entity: EntityType, code: str) -> Rule:
        return self.by_type.get(entity, {}).get(code, DEFAULT_RULE)

    def named(self, entity: EntityType) -> dict[str, Rule]:
        """The fields the file names for ``entity``."""
        return dict(self.by_type.get(entity, {}))

    def identity_fields(self, entity: EntityType) -> list[str]:
        return [code for code, rule in self.named(entity).items() if rule is Rule.IDENTITY]


def parse_rules(text: str, source: str = "<rules>") -> MergeRules:
    """Rules from TOML text; :class:`RulesError` when a type, field or rule is unknown.

    Field types are checked against the portal later (:func:`check_against_fields`).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not TOML: {exc}") from None
    by_type: dict[EntityType, dict[str, Rule]] = {}
    for type_name, table in raw.items():
        try:
            entity = EntityType.parse(type_name)
        except ValueError:
            raise RulesError(
                f"{source}: [{type_name}] is not a record type: use [lead], [contact] or [company]"
            ) from None
        if not isinstance(table, dict):
            raise RulesError(f'{source}: {type_name} must be a table of FIELD = "rule"')
        rules: dict[str, Rule] = {}
        for code, value in table.items():
            where = f"{source}: [{type_name}] {code}"
            if not isinstance(value, str):
                raise RulesError(f'{where}: the rule must be a string such as "survivor"')
            try:
                rule = Rule(value.strip().lower())
            except ValueError:
                known = ", ".join(r.value for r in Rule)
                raise RulesError(f"{where}: unknown rule {value!r} (one of {known})") from None
            field_code = code.strip().upper()
            if field_code in NOT_RULABLE:
                raise RulesError(
                    f"{where}: {field_code} is not settled by rules (phones, e-mails, web and "
                    "messengers are united by Bitrix24; ID is the record's own)"
                )
            rules[field_code] = rule
        by_type[entity] = rules
    return MergeRules(by_type, source)


def load_rules(path: str | None) -> MergeRules:
    """The rules of ``MERGE_RULES_FILE``; the defaults when no file is named."""
    if not path:
        return MergeRules()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"MERGE_RULES_FILE {path}: cannot read it ({exc.strerror})") from None
    return parse_rules(text, source=path)


def check_against_fields(
    rules: MergeRules, entity: EntityType, fields: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """What is wrong with ``rules`` for ``entity`` given the portal's ``crm.*.fields``:
    unknown fields, read-only fields, ``join`` on a field that is neither text nor
    multiple. Empty when all is well."""
    problems = []
    for code, rule in rules.named(entity).items():
        where = f"{rules.source}: [{entity.value.lower()}] {code}"
        info = fields.get(code)
        if info is None:
            problems.append(f"{where}: the portal has no such {entity.label.lower()} field")
            continue
        if info.get("isReadOnly"):
            problems.append(f"{where}: read-only on the portal, nothing can be written to it")
            continue
        if rule is Rule.JOIN and not (
            info.get("isMultiple") or str(info.get("type", "")) in TEXT_TYPES
        ):
            problems.append(
                f'{where}: "join" needs a text or multiple field, this one is {info.get("type")}'
            )
    return problems

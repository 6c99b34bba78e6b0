"""The merge decision: is this group of records one customer, and who survives?

Pure: it takes the records as read from the portal and returns a :class:`PolicyDecision`.
A merge is safe only when every rule holds (docs/decisions.md explains them to
administrators); anything else is no merge, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from b24.crm import EntityType
from b24_dedupe.merge_rules import MergeRules, Rule
from b24_dedupe.review import ReviewReason
from worker import identity
from worker.communications import Communication
from worker.identity import IdentityRules

Record = Mapping[str, Any]
SurvivorRule = Literal["oldest", "newest", "most_complete"]

# Identity fields per type: two non-empty values that differ mean two different people.
IDENTITY_FIELDS: dict[EntityType, tuple[str, ...]] = {
    EntityType.CONTACT: ("NAME", "SECOND_NAME", "LAST_NAME"),
    EntityType.LEAD: ("NAME", "SECOND_NAME", "LAST_NAME", "COMPANY_TITLE"),
    EntityType.COMPANY: ("TITLE",),
}
# STATUS_SEMANTIC_ID of a lead that is won (S) or lost (F): its history is final.
FINAL_LEAD_SEMANTICS = frozenset({"S", "F"})
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Policy:
    max_group_size: int = 5
    survivor: SurvivorRule = "oldest"
    # IDENTITY_FIELDS: must not differ, whatever the record type.
    extra_identity_fields: tuple[str, ...] = ()
    # The rules file (b24_dedupe.merge_rules): fields ruled ``block`` must not differ
    # either; fields ruled ``identity`` also prove one customer when equal.
    merge_rules: MergeRules = field(default_factory=MergeRules)

    def identity_fields(self, entity: EntityType) -> tuple[str, ...]:
        return IDENTITY_FIELDS[entity] + tuple(
            f for f in self.extra_identity_fields if f not in IDENTITY_FIELDS[entity]
        )

    def differences(self, entity: EntityType, a: Record, b: Record) -> list[str]:
        """The identity fields in which two records name different customers
        (:func:`worker.identity.differences`)."""
        named = self.merge_rules.named(entity)
        blocking = tuple(code for code, rule in named.items() if rule is Rule.BLOCK)
        rules = IdentityRules(
            (*self.extra_identity_fields, *blocking),
            tuple(self.merge_rules.identity_fields(entity)),
        )
        return identity.differences(entity, a, b, rules)


@dataclass
class PolicyDecision:
    """What to do with a record and the candidates that share its values."""

    merge: bool
    reason: str
    group: list[int] = field(default_factory=list)  # survivor first when merging
    excluded: dict[int, str] = field(default_factory=dict)  # candidate -> why left out
    # Not merged, but a person could settle it: why, and the group they would look at.
    review: ReviewReason | None = None

    @property
    def survivor(self) -> int | None:
        return self.group[0] if self.merge and self.group else None


def identity_value(value: Any) -> str:
    """Names compare without case and with runs of spaces folded."""
    if value is None:
        return ""
    return _SPACE.sub(" ", str(value)).strip().casefold()


def identity_conflicts(a: Record, b: Record, fields: Iterable[str]) -> list[str]:
    """Fields in which both records hold a value and the values differ."""
    differing = []
    for code in fields:
        left, right = identity_value(a.get(code)), identity_value(b.get(code))
        if left and right and left != right:
            differing.append(code)
    return differing


def _created(record: Record) -> datetime:
    raw = str(record.get("DATE_CREATE") or "")
    try:
        created = datetime.fromisoformat(raw)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _completeness(record: Record) -> int:
    filled = 0
    for value in record.values():
        if isinstance(value, list):
            filled += len(value)
        elif value not in (None, "", "0", "N"):
            filled += 1
    return filled


def order_by_survival(records: list[Record], rule: SurvivorRule) -> list[Record]:
    """Records sorted so that the survivor comes first."""

    def rid(record: Record) -> int:
        return int(record["ID"])

    if rule == "newest":
        return sorted(records, key=lambda r: (_created(r), rid(r)), reverse=True)
    if rule == "most_complete":
        return sorted(records, key=lambda r: (-_completeness(r), _created(r), rid(r)))
    return sorted(records, key=lambda r: (_created(r), rid(r)))


def is_final_lead(entity: EntityType, record: Record) -> bool:
    return (
        entity == EntityType.LEAD
        and str(record.get("STATUS_SEMANTIC_ID") or "") in FINAL_LEAD_SEMANTICS
    )


def decide(
    entity: EntityType,
    record: Record,
    candidates: list[Record],
    shared: Mapping[int, set[Communication]],
    policy: Policy,
    *,
    not_duplicates: set[frozenset[int]] | None = None,
) -> PolicyDecision:
    """Decide for ``record`` and the ``candidates`` found by its values.

    ``shared`` maps each candidate's ID to the evidence values it shares with the
    record (already normalised and filtered by the exclusion rules).
    """
    own_id = int(record["ID"])
    not_duplicates = not_duplicates or set()
    if is_final_lead(entity, record):
        return PolicyDecision(False, "lead in a final status is left alone")
    excluded: dict[int, str] = {}
    kept: list[Record] = []
    strangers: list[Record] = []  # share a value but are someone else
    for candidate in candidates:
        cid = int(candidate["ID"])
        if cid == own_id:
            continue
        if not shared.get(cid):
            excluded[cid] = "shares no normalised value"
        elif frozenset({own_id, cid}) in not_duplicates:
            excluded[cid] = "marked as not duplicates"
        elif is_final_lead(entity, candidate):
            excluded[cid] = "lead in a final status"
        elif differing := policy.differences(entity, record, candidate):
            excluded[cid] = "identity differs: " + ", ".join(differing)
            strangers.append(candidate)
        else:
            kept.append(candidate)
    # A candidate that would fit someone else who shares the value as well (a record
    # with no name, between Ivan and Pyotr) cannot be told apart: it is left alone.
    for candidate in list(kept):
        cid = int(candidate["ID"])
        for stranger in strangers:
            sid = int(stranger["ID"])
            if shared.get(cid, set()) & shared.get(sid, set()) and not policy.differences(
                entity, candidate, stranger
            ):
                excluded[cid] = f"could as well be the same as {sid}"
                kept.remove(candidate)
                break
    if not kept:
        reason = "no duplicates" if not excluded else "no safe duplicate"
        ambiguous = [cid for cid, why in excluded.items() if why.startswith("could as well")]
        if ambiguous:
            pair = order_by_survival(
                [record, *(c for c in candidates if int(c["ID"]) == ambiguous[0])],
                policy.survivor,
            )
            return PolicyDecision(
                False,
                f"{ambiguous[0]} {excluded[ambiguous[0]]}",
                [int(r["ID"]) for r in pair],
                excluded,
                ReviewReason.AMBIGUOUS,
            )
        return PolicyDecision(False, reason, excluded=excluded)
    group = [record, *kept]
    for index, left in enumerate(group):
        for right in group[index + 1 :]:
            lid, rid = int(left["ID"]), int(right["ID"])
            if frozenset({lid, rid}) in not_duplicates:
                return PolicyDecision(
                    False, f"{lid} and {rid} are marked as not duplicates", excluded=excluded
                )
            if differing := policy.differences(entity, left, right):
                return PolicyDecision(
                    False,
                    f"candidates {lid} and {rid} differ in " + ", ".join(differing),
                    excluded=excluded,
                )
    if len(group) > policy.max_group_size:
        return PolicyDecision(
            False,
            f"group of {len(group)} records exceeds MAX_GROUP_SIZE {policy.max_group_size}",
            [int(r["ID"]) for r in order_by_survival(group, policy.survivor)],
            excluded,
            ReviewReason.TOO_LARGE,
        )
    ordered = order_by_survival(group, policy.survivor)
    return PolicyDecision(
        True, "same identity, shared values", [int(r["ID"]) for r in ordered], excluded
    )

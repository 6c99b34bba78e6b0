"""What must hold after any fault, checked against the portal's final state.

- Every record an accepted event named was processed after its last event: an audit
  entry about it written after the ingress accepted that event, and, unless it changed
  again after that event (whose own event was then lost: the scan's business), the
  job that wrote it read the record as it is now (its ``processed`` marker is the
  record's DATE_MODIFY). While the portal blocks us, a job waiting in the queue for the record
  counts too: deferred, not lost.
- Every deletion on the portal that the user did not make is explained by exactly
  one completed merge audit entry holding the snapshots of the merged records, and
  every deletion an entry claims happened: no merge twice, none half-way, none
  without its audit record. No entry is left ``pending``, none is ``PARTIAL``.
- No safe duplicate is left: the decision policy, run over the final portal state,
  finds nothing to merge.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from b24.emulator.fields import ENTITY_TYPES
from b24.emulator.portal import Portal
from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import Decision, Outcome
from worker.communications import Communication, EvidenceRules, communications, evidence
from worker.finding import SHARED_THRESHOLD
from worker.policy import Policy, decide

ENTITIES = ("LEAD", "CONTACT", "COMPANY")
ACCEPTED = ("enqueued", "coalesced", "rerun")
RecordKey = tuple[str, int]


@dataclass
class AcceptedEvents:
    """The ingress's "event accepted" log lines, read back."""

    count: int = 0
    deletes: int = 0
    last: dict[RecordKey, float] = field(default_factory=dict)  # ADD/UPDATE only

    @classmethod
    def from_log(cls, lines: Iterable[str]) -> AcceptedEvents:
        found = cls()
        for line in lines:
            if '"event accepted"' not in line:
                continue
            entry = json.loads(line)
            if entry.get("outcome") not in (*ACCEPTED, "deleted"):
                continue
            found.count += 1
            if entry["outcome"] == "deleted":
                found.deletes += 1
                continue
            key = (str(entry["entity"]), int(entry["entity_id"]))
            at = datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()
            found.last[key] = max(found.last.get(key, 0.0), at)
        return found


@dataclass
class Findings:
    records_checked: int = 0
    merges: int = 0
    deleted_by_merges: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # the problems counted by kind, for the soak report
    lost_events: int = 0
    double_merges: int = 0
    unrecorded_merges: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "lost_events": self.lost_events,
            "double_merges": self.double_merges,
            "unrecorded_merges": self.unrecorded_merges,
            "problems": len(self.problems),
        }


def check(
    portal: Portal,
    audit: list[AuditEntry],
    accepted: AcceptedEvents,
    processed: Mapping[RecordKey, str | None],
    *,
    changed: Mapping[RecordKey, float],
    deleted_by_user: set[RecordKey],
    deleted_on_portal: set[RecordKey],
    rules: EvidenceRules,
    policy: Policy,
    waiting: set[RecordKey] | None = None,
) -> Findings:
    """Every invariant of the module docstring; ``problems`` lists what failed.

    ``waiting``: records whose job waits in the queue (deferred while the portal
    blocks us); they are not done yet, so only their being queued is checked.
    """
    findings = Findings()
    waiting = waiting or set()
    for entry in audit:
        findings.decisions[entry.decision] = findings.decisions.get(entry.decision, 0) + 1
    _every_event_processed(portal, audit, accepted, processed, changed, waiting, findings)
    _every_deletion_explained(audit, deleted_by_user, deleted_on_portal, findings)
    _no_safe_duplicate_left(portal, audit, rules, policy, waiting, findings)
    return findings


def _every_event_processed(
    portal: Portal,
    audit: list[AuditEntry],
    accepted: AcceptedEvents,
    processed: Mapping[RecordKey, str | None],
    changed: Mapping[RecordKey, float],
    waiting: set[RecordKey],
    findings: Findings,
) -> None:
    latest: dict[RecordKey, float] = {}
    for entry in audit:
        key = (entry.entity, entry.entity_id)
        latest[key] = max(latest.get(key, 0.0), entry.at)
    for key, accepted_at in sorted(accepted.last.items()):
        entity, record_id = key
        record = portal.records[entity].get(record_id)
        if record is None:
            continue  # deleted: the deletion checks cover it
        findings.records_checked += 1
        if key in waiting:
            continue
        # The log's time has milliseconds; the entry's is exact.
        if latest.get(key, 0.0) < accepted_at - 0.001:
            findings.lost_events += 1
            findings.problems.append(
                f"{entity} {record_id}: no audit entry after its last event at {accepted_at:.3f}"
            )
        elif changed.get(key, 0.0) <= accepted_at and processed.get(key) != record["DATE_MODIFY"]:
            findings.lost_events += 1
            findings.problems.append(
                f"{entity} {record_id}: last read at {processed.get(key)}, "
                f"changed at {record['DATE_MODIFY']}"
            )


def _every_deletion_explained(
    audit: list[AuditEntry],
    deleted_by_user: set[RecordKey],
    deleted_on_portal: set[RecordKey],
    findings: Findings,
) -> None:
    claims: dict[RecordKey, list[str]] = defaultdict(list)
    for entry in audit:
        status = entry.outcome.get("status")
        if entry.decision == Decision.PENDING:
            findings.unrecorded_merges += 1
            findings.problems.append(f"audit {entry.id}: merge left pending")
        if status == Outcome.PARTIAL:
            findings.problems.append(f"audit {entry.id}: merge done half-way {entry.outcome}")
        if entry.decision != Decision.MERGED:
            continue
        findings.merges += 1
        deleted = [int(i) for i in entry.outcome.get("deleted") or []]
        missing = {str(i) for i in [*entry.group]} - set(entry.snapshots)
        if missing or entry.survivor is None or not deleted:
            findings.problems.append(f"audit {entry.id}: merge without snapshots of {missing}")
        for record_id in deleted:
            claims[(entry.entity, record_id)].append(entry.id)
    by_merges = deleted_on_portal - deleted_by_user
    findings.deleted_by_merges = len(by_merges)
    for key in sorted(by_merges - set(claims)):
        findings.unrecorded_merges += 1
        findings.problems.append(
            f"{key[0]} {key[1]}: deleted on the portal, no merge entry says so"
        )
    for key, ids in sorted(claims.items()):
        if key not in by_merges:
            findings.problems.append(f"{key[0]} {key[1]}: {ids} claim a deletion that never was")
        if len(ids) > 1:
            findings.double_merges += 1
            findings.problems.append(f"{key[0]} {key[1]}: merged away by {len(ids)} entries {ids}")


def _no_safe_duplicate_left(
    portal: Portal,
    audit: list[AuditEntry],
    rules: EvidenceRules,
    policy: Policy,
    waiting: set[RecordKey],
    findings: Findings,
) -> None:
    last: dict[RecordKey, AuditEntry] = {}
    for entry in audit:
        last[(entry.entity, entry.entity_id)] = entry
    for entity in ENTITIES:
        kind = ENTITY_TYPES[entity]
        records = {i: portal.present(kind, r) for i, r in portal.records[entity].items()}
        values = {i: communications(r, rules) for i, r in records.items()}
        holders: dict[Communication, set[int]] = defaultdict(set)
        for record_id, comms in values.items():
            for comm in comms:
                holders[comm].add(record_id)
        for record_id, record in records.items():
            usable, _ = evidence(record, rules)
            usable = {c: v for c, v in usable.items() if len(holders[c]) < SHARED_THRESHOLD}
            found = {i for c in usable for i in holders[c]} - {record_id}
            if not found:
                continue
            candidates = [records[i] for i in sorted(found)]
            shared = {i: set(values[i]) & set(usable) for i in found}
            decision = decide(entity, record, candidates, shared, policy)
            if not decision.merge or {(entity, i) for i in decision.group} & waiting:
                continue
            explained = last.get((entity, record_id))
            if explained is not None and explained.decision in (Decision.CONFLICT, Decision.ERROR):
                continue
            history = "; ".join(
                f"{i}: {e.decision} ({e.reason}) at {e.at:.3f}"
                for i in decision.group
                for e in audit
                if (e.entity, e.entity_id) == (entity, i)
            )
            findings.problems.append(
                f"{entity} {record_id}: safe duplicate left, group {decision.group}; "
                f"last decision {explained.decision if explained else None}; "
                f"their audit: {history or 'none'}"
            )

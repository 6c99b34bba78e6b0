"""One dedupe run for one record: read, find, read candidates, decide, lock, merge, record.

The steps follow the product's promise — correct first: nothing is merged unless
:func:`worker.policy.decide` calls the group safe on records re-read under a lock on
their values, and the audit entry with every record's full state is stored before
``crm.entity.mergeBatch`` is sent. Errors of the portal reach :mod:`worker.jobs`,
which maps them onto arq's retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from b24.client import Bitrix24Client, MethodError, NotFound, OutcomeUnknown
from b24_dedupe.dedupe_queue import enqueue_event
from b24_dedupe.keys import Keys
from worker import metrics
from worker.audit import AuditEntry, AuditLog, merge_link
from worker.communications import PHONE, Communication, EvidenceRules, communications, evidence
from worker.locks import ValueLock
from worker.not_duplicates import NotDuplicates
from worker.policy import Decision, Policy, decide

log = logging.getLogger("worker.dedupe")

ENTITY_TYPE_IDS = {"LEAD": 1, "CONTACT": 3, "COMPANY": 4}
FINDBYCOMM_MAX_VALUES = 20  # docs: at most 20 values a call
SHARED_THRESHOLD = 20  # docs: 20 or more matches in a type: treated as a shared value
MERGED_MARKER_TTL = 86_400
PROCESSED_MARKER_TTL = 7 * 86_400
CONFLICT_MEMORY_TTL = 7 * 86_400
LOCK_TTL_SECONDS = 120.0


class LockBusy(Exception):
    """Another worker is merging records that share a value with this group."""


@dataclass
class Worker:
    """What a run needs; built once per process in ``on_startup``."""

    client: Bitrix24Client
    redis: Redis
    keys: Keys
    audit: AuditLog
    not_duplicates: NotDuplicates
    rules: EvidenceRules
    policy: Policy
    dry_run: bool = False


@dataclass
class Run:
    """The state of one run, for its audit entry and its log line."""

    entity: str
    entity_id: int
    started: float = field(default_factory=time.monotonic)
    commands: int = 0
    candidates: list[int] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)

    def entry(self, decision: str, reason: str, **fields: Any) -> AuditEntry:
        return AuditEntry(
            entity=self.entity,
            entity_id=self.entity_id,
            decision=decision,
            reason=reason,
            evidence=self.evidence,
            excluded=self.excluded,
            requests=self.commands,
            duration=round(time.monotonic() - self.started, 3),
            **fields,
        )


def _method(entity: str, action: str) -> str:
    return f"crm.{entity.lower()}.{action}"


async def _get(worker: Worker, run: Run, entity: str, entity_id: int) -> dict[str, Any] | None:
    run.commands += 1
    try:
        record: dict[str, Any] = await worker.client.call(_method(entity, "get"), {"id": entity_id})
    except NotFound:
        return None
    return record


async def _get_many(
    worker: Worker, run: Run, entity: str, ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    wanted = list(dict.fromkeys(ids))
    records = await asyncio.gather(*(_get(worker, run, entity, i) for i in wanted))
    return {i: r for i, r in zip(wanted, records, strict=True) if r is not None}


def _query_values(comm: Communication, raw: str) -> list[str]:
    """What findbycomm is asked for one value: as written, and in international digits
    (the portal matches ``79991234567`` but not a bare ``9991234567``, facts.md)."""
    values = [raw.strip()]
    if comm.type == PHONE and comm.value.startswith("+"):
        values.append(comm.value[1:])
    return [v for v in dict.fromkeys(values) if v]


async def _find(
    worker: Worker, run: Run, entity: str, comm_type: str, values: list[str]
) -> list[int]:
    run.commands += 1
    result = await worker.client.call(
        "crm.duplicate.findbycomm", {"type": comm_type, "values": values, "entity_type": entity}
    )
    if not isinstance(result, dict):
        return []  # no match answers [] (facts.md)
    return [int(i) for i in result.get(entity) or []]


async def find_candidates(
    worker: Worker, run: Run, entity: str, usable: dict[Communication, str]
) -> tuple[set[int], set[Communication]]:
    """IDs that findbycomm relates to the record's values, and the values it calls shared.

    Values go 20 a call; a call that answers 20 or more IDs is asked again value by
    value, so that only the values really shared (a switchboard, a shared mailbox)
    are left out and the others still count.
    """
    found: set[int] = set()
    shared: set[Communication] = set()
    for comm_type in ("PHONE", "EMAIL"):
        queries = {c: _query_values(c, raw) for c, raw in usable.items() if c.type == comm_type}
        chunks: list[list[Communication]] = [[]]
        for comm, values in queries.items():
            if (
                len(chunks[-1])
                and sum(len(queries[c]) for c in chunks[-1]) + len(values) > FINDBYCOMM_MAX_VALUES
            ):
                chunks.append([])
            chunks[-1].append(comm)
        chunks = [c for c in chunks if c]
        answers = await asyncio.gather(
            *(
                _find(worker, run, entity, comm_type, [v for c in chunk for v in queries[c]])
                for chunk in chunks
            )
        )
        for chunk, ids in zip(chunks, answers, strict=True):
            if len(ids) < SHARED_THRESHOLD:
                found.update(ids)
                continue
            singles = await asyncio.gather(
                *(_find(worker, run, entity, comm_type, queries[c]) for c in chunk)
            )
            for comm, single in zip(chunk, singles, strict=True):
                if len(single) >= SHARED_THRESHOLD:
                    shared.add(comm)
                else:
                    found.update(single)
    return found, shared


async def process(worker: Worker, entity: str, entity_id: int) -> AuditEntry:
    """Run the dedupe steps for one record and return the audit entry written."""
    run = Run(entity, entity_id)
    entry = await _process(worker, run)
    await worker.audit.write(entry)
    await metrics.record(worker.redis, worker.keys, entry, worker.client.stats.take())
    _log(entry, run)
    return entry


async def _process(worker: Worker, run: Run) -> AuditEntry:
    entity, entity_id = run.entity, run.entity_id
    if await worker.redis.exists(worker.keys.deleted(entity, entity_id)):
        return run.entry("gone", "deleted before its job ran")
    record = await _get(worker, run, entity, entity_id)
    if record is None:
        return run.entry("gone", "not found on the portal")
    await worker.redis.set(
        worker.keys.processed(entity, entity_id),
        str(record.get("DATE_MODIFY")),
        ex=PROCESSED_MARKER_TTL,
    )
    marker = await worker.redis.get(worker.keys.merged(entity, entity_id))
    if marker is not None and marker.decode() == str(record.get("DATE_MODIFY")):
        return run.entry("skipped", "survivor of our own merge, unchanged since")
    usable, excluded = evidence(record, worker.rules)
    banned = await worker.not_duplicates.values()
    for comm in [c for c in usable if str(c) in banned]:
        excluded[comm] = "marked as not duplicates"
        del usable[comm]
    if not usable:
        run.excluded = {str(c): why for c, why in excluded.items()}
        return run.entry("no_merge", "no phone or e-mail that can identify anyone")
    found, shared_values = await find_candidates(worker, run, entity, usable)
    for comm in shared_values:
        excluded[comm] = f"shared by {SHARED_THRESHOLD} or more records"
        del usable[comm]
    run.excluded = {str(c): why for c, why in excluded.items()}
    found.discard(entity_id)
    if not found:
        reason = "no duplicates" if not shared_values else "only shared values in common"
        return run.entry("no_merge", reason)
    candidates = await _get_many(worker, run, entity, sorted(found))
    run.candidates = sorted(candidates)
    decision = await _decide(worker, run, record, candidates, usable)
    if not decision.merge:
        return run.entry("no_merge", decision.reason)
    group_records = [record, *(candidates[i] for i in decision.group if i in candidates)]
    return await _merge_under_lock(worker, run, decision, group_records)


async def _decide(
    worker: Worker,
    run: Run,
    record: dict[str, Any],
    candidates: dict[int, dict[str, Any]],
    usable: dict[Communication, str],
) -> Decision:
    shared: dict[int, set[Communication]] = {}
    for cid, candidate in candidates.items():
        common = set(communications(candidate, worker.rules)) & set(usable)
        shared[cid] = common
        if common:
            run.evidence[str(cid)] = sorted(str(c) for c in common)
    ids = [run.entity_id, *candidates]
    marked = await worker.not_duplicates.pairs(run.entity, ids)
    decision = decide(
        run.entity, record, list(candidates.values()), shared, worker.policy, not_duplicates=marked
    )
    run.excluded.update({str(cid): why for cid, why in decision.excluded.items()})
    return decision


async def _merge_under_lock(
    worker: Worker, run: Run, decision: Decision, group_records: list[dict[str, Any]]
) -> AuditEntry:
    """Lock the values of the group as read, re-read it under the lock, decide again, merge.

    Another merge that touches any of these values holds one of the locks; one that
    changed the records before we locked is seen by the re-read.
    """
    entity = run.entity
    values = {str(c) for r in group_records for c in communications(r, worker.rules)}
    lock = ValueLock(worker.redis, worker.keys, values, LOCK_TTL_SECONDS)
    if not await lock.acquire():
        raise LockBusy(f"{entity} {run.entity_id}: values locked by another merge")
    try:
        # Re-read under the lock: the state stored in the audit is the state merged.
        fresh = await _get_many(worker, run, entity, decision.group)
        record = fresh.get(run.entity_id)
        if record is None:
            return run.entry("gone", "merged or deleted by someone else meanwhile")
        fresh_values = {str(c) for r in fresh.values() for c in communications(r, worker.rules)}
        if not fresh_values <= values:
            # Changed between reading and locking: its new values are not ours yet.
            raise LockBusy(f"{entity} {run.entity_id}: group changed before the lock")
        others = {i: r for i, r in fresh.items() if i != run.entity_id}
        usable, _ = evidence(record, worker.rules)
        decision = await _decide(worker, run, record, others, usable)
        if not decision.merge:
            return run.entry("no_merge", decision.reason + " (on re-reading)")
        snapshots = {str(i): fresh[i] for i in decision.group}
        fingerprint = "|".join(str(fresh[i].get("DATE_MODIFY")) for i in sorted(decision.group))
        conflict_key = worker.keys.conflict(entity, decision.group)
        refused = await worker.redis.get(conflict_key)
        if refused is not None and refused.decode() == fingerprint:
            return run.entry(
                "no_merge",
                "Bitrix24 refused this merge (CONFLICT) and the records are unchanged since",
                group=decision.group,
                outcome={"status": "CONFLICT", "link": merge_link(entity, decision.group)},
            )
        if worker.dry_run:
            return run.entry(
                "dry_run",
                "would merge: " + decision.reason,
                group=decision.group,
                survivor=decision.survivor,
                snapshots=snapshots,
            )
        pending = run.entry(
            "pending",
            decision.reason,
            group=decision.group,
            survivor=decision.survivor,
            snapshots=snapshots,
            outcome={"status": "PENDING"},
        )
        await worker.audit.write(pending, durable=True)
        outcome = await _merge(worker, run, decision.group)
        pending.outcome = outcome
        if outcome["status"] == "CONFLICT":
            await worker.redis.set(conflict_key, fingerprint, ex=CONFLICT_MEMORY_TTL)
        pending.decision = {"SUCCESS": "merged", "CONFLICT": "conflict"}.get(
            outcome["status"], "error"
        )
        pending.requests = run.commands
        pending.duration = round(time.monotonic() - run.started, 3)
        return pending
    finally:
        await lock.release()


async def _merge(worker: Worker, run: Run, group: list[int]) -> dict[str, Any]:
    entity = run.entity
    survivor, others = group[0], group[1:]
    run.commands += 1
    try:
        result = await worker.client.call(
            "crm.entity.mergeBatch",
            {"params": {"entityTypeId": ENTITY_TYPE_IDS[entity], "entityIds": group}},
        )
    except OutcomeUnknown:
        # The answer was lost: re-read before anything is sent again.
        remaining = await _get_many(worker, run, entity, group)
        if survivor in remaining and not any(o in remaining for o in others):
            await _mark_survivor(worker, entity, survivor, remaining[survivor])
            return {"status": "SUCCESS", "deleted": others, "verified": "answer lost; re-read"}
        return {
            "status": "ERROR",
            "error": "answer lost; records re-read",
            "remaining": sorted(remaining),
            "link": merge_link(entity, group),
        }
    except MethodError as exc:
        return {
            "status": "ERROR",
            "error": f"{exc.code}: {exc.description}",
            "link": merge_link(entity, group),
        }
    status = str(result.get("STATUS")) if isinstance(result, dict) else "ERROR"
    if status == "SUCCESS":
        deleted = [int(i) for i in result.get("ENTITY_IDS") or []]
        after = await _get(worker, run, entity, survivor)
        if after is not None:
            await _mark_survivor(worker, entity, survivor, after)
        return {"status": "SUCCESS", "deleted": deleted, "survivor_after": after}
    if status == "CONFLICT":
        return {"status": "CONFLICT", "link": merge_link(entity, group)}
    return {
        "status": "ERROR",
        "error": f"mergeBatch answered {result!r}"[:500],
        "link": merge_link(entity, group),
    }


async def _mark_survivor(
    worker: Worker, entity: str, survivor: int, record: dict[str, Any]
) -> None:
    """Remember the survivor's DATE_MODIFY: its own update event then needs no work."""
    await worker.redis.set(
        worker.keys.merged(entity, survivor), str(record.get("DATE_MODIFY")), ex=MERGED_MARKER_TTL
    )


def _log(entry: AuditEntry, run: Run) -> None:
    log.info(
        "decision",
        extra={
            "audit_id": entry.id,
            "entity": entry.entity,
            "record": entry.entity_id,
            "candidates": run.candidates,
            "evidence": entry.evidence,
            "excluded": entry.excluded,
            "decision": entry.decision,
            "reason": entry.reason,
            "survivor": entry.survivor,
            "group": entry.group,
            "outcome": entry.outcome.get("status"),
            "requests": entry.requests,
            "duration": entry.duration,
        },
    )


async def reconcile_interrupted(worker: Worker, older_than: float) -> list[AuditEntry]:
    """Complete merge entries left ``pending`` by a worker that died mid-merge.

    The group is re-read: survivor present and the others gone means the merge
    happened; all present means it did not; anything else is recorded as partial for
    an administrator. Nothing is sent again from here: a new job decides afresh.
    """
    completed = []
    for entry in await worker.audit.pending_before(time.time() - older_than):
        run = Run(entry.entity, entry.entity_id)
        remaining = await _get_many(worker, run, entry.entity, entry.group)
        survivor, others = entry.group[0], entry.group[1:]
        if survivor in remaining and not any(o in remaining for o in others):
            entry.decision = "merged"
            entry.outcome = {
                "status": "SUCCESS",
                "deleted": others,
                "verified": "interrupted; re-read",
            }
        elif all(i in remaining for i in entry.group):
            entry.decision = "no_merge"
            entry.outcome = {"status": "NOT_SENT", "verified": "interrupted; re-read"}
            await enqueue_again(worker, entry.entity, entry.entity_id)
        else:
            entry.decision = "error"
            entry.outcome = {
                "status": "PARTIAL",
                "remaining": sorted(remaining),
                "link": merge_link(entry.entity, sorted(remaining)),
                "verified": "interrupted; re-read",
            }
        await worker.audit.write(entry)
        log.warning(
            "interrupted merge reconciled",
            extra={
                "audit_id": entry.id,
                "entity": entry.entity,
                "group": entry.group,
                "outcome": entry.outcome["status"],
            },
        )
        completed.append(entry)
    return completed


async def enqueue_again(worker: Worker, entity: str, entity_id: int) -> None:
    await enqueue_event(worker.redis, worker.keys, entity, entity_id, debounce=0.0)

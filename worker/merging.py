"""The merge itself: lock, re-read, decide again, audit first, mergeBatch, verify.

Also the repair of merges a dying worker left half-recorded (:func:`reconcile_interrupted`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from b24.client import LimitError, MethodError, OutcomeUnknown
from b24_dedupe.audit import AuditEntry, merge_link
from b24_dedupe.dedupe_queue import enqueue_event
from worker.communications import communications, evidence
from worker.deciding import decide_for
from worker.locks import ValueLock
from worker.policy import Decision
from worker.run import ENTITY_TYPE_IDS, Run, Worker, get_many, get_record

log = logging.getLogger("worker.merging")

MERGED_MARKER_TTL = 86_400
CONFLICT_MEMORY_TTL = 7 * 86_400


class LockBusy(Exception):
    """Another worker is merging records that share a value with this group."""


async def merge_under_lock(
    worker: Worker, run: Run, decision: Decision, group_records: list[dict[str, Any]]
) -> AuditEntry:
    """Lock the values of the group as read, re-read it under the lock, decide again, merge.

    Another merge that touches any of these values holds one of the locks; one that
    changed the records before we locked is seen by the re-read.
    """
    entity = run.entity
    values = {str(c) for r in group_records for c in communications(r, worker.rules)}
    lock = ValueLock(worker.redis, worker.keys, values, worker.lock_seconds)
    if not await lock.acquire():
        raise LockBusy(f"{entity} {run.entity_id}: values locked by another merge")
    try:
        # Re-read under the lock: the state stored in the audit is the state merged.
        fresh = await get_many(worker, run, entity, decision.group)
        record = fresh.get(run.entity_id)
        if record is None:
            return run.entry("gone", "merged or deleted by someone else meanwhile")
        fresh_values = {str(c) for r in fresh.values() for c in communications(r, worker.rules)}
        if not fresh_values <= values:
            # Changed between reading and locking: its new values are not ours yet.
            raise LockBusy(f"{entity} {run.entity_id}: group changed before the lock")
        others = {i: r for i, r in fresh.items() if i != run.entity_id}
        usable, _ = evidence(record, worker.rules)
        decision = await decide_for(worker, run, record, others, usable)
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
        try:
            outcome = await _merge(worker, run, decision.group)
        except LimitError as exc:
            # Refused before it ran (a limit: nothing was merged). The entry must not stay
            # PENDING, or the reconcile would take it for an interrupted merge and enqueue
            # the record again; worker.jobs defers this job, which then decides afresh.
            pending.decision = "no_merge"
            pending.reason = f"merge not sent: {type(exc).__name__}; job deferred"
            pending.outcome = {"status": "NOT_SENT", "error": str(exc)[:200]}
            await worker.audit.write(pending)
            raise
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
        remaining = await get_many(worker, run, entity, group)
        if survivor in remaining and not any(o in remaining for o in others):
            await mark_survivor(worker, entity, survivor, remaining[survivor])
            return {"status": "SUCCESS", "deleted": others, "verified": "answer lost; re-read"}
        if all(i in remaining for i in group):
            # Not merged yet, but the request may still be running on the portal (an
            # answer later than our read timeout; the portal cuts requests only at
            # 60 s). Not conclusive: the entry stays pending for the reconcile, which
            # re-reads it once no request can be running, and the job is retried as
            # a transient fault. A retry that merges first makes this entry NOT_SENT;
            # one that finds the records merged meanwhile records no deletion.
            log.warning(
                "merge answer lost, records all still there: left pending, job retried",
                extra={"entity": entity, "record": run.entity_id, "group": group},
            )
            raise
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
        after = await get_record(worker, run, entity, survivor)
        if after is not None:
            await mark_survivor(worker, entity, survivor, after)
        return {"status": "SUCCESS", "deleted": deleted, "survivor_after": after}
    if status == "CONFLICT":
        return {"status": "CONFLICT", "link": merge_link(entity, group)}
    return {
        "status": "ERROR",
        "error": f"mergeBatch answered {result!r}"[:500],
        "link": merge_link(entity, group),
    }


async def mark_survivor(worker: Worker, entity: str, survivor: int, record: dict[str, Any]) -> None:
    """Remember the survivor's DATE_MODIFY: its own update event then needs no work."""
    await worker.redis.set(
        worker.keys.merged(entity, survivor), str(record.get("DATE_MODIFY")), ex=MERGED_MARKER_TTL
    )


async def reconcile_interrupted(worker: Worker, older_than: float) -> list[AuditEntry]:
    """Complete merge entries left ``pending`` by a worker that died mid-merge.

    The group is re-read: survivor present and the others gone means the merge
    happened; all present means it did not; anything else is recorded as partial for
    an administrator. Nothing is sent again from here: a new job decides afresh.

    A later merge entry over any of these records means that job re-read them under
    its lock and found them all there: this merge never happened, and the deletions
    the re-read shows are that later entry's.
    """
    completed = []
    for entry in await worker.audit.pending_before(time.time() - older_than):
        run = Run(entry.entity, entry.entity_id)
        remaining = await get_many(worker, run, entry.entity, entry.group)
        survivor, others = entry.group[0], entry.group[1:]
        later = await _later_merge(worker, entry)
        if later is not None:
            entry.decision = "no_merge"
            entry.outcome = {
                "status": "NOT_SENT",
                "verified": f"interrupted; the records were merged later by {later.id}",
            }
        elif survivor in remaining and not any(o in remaining for o in others):
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


async def _later_merge(worker: Worker, entry: AuditEntry) -> AuditEntry | None:
    """A merge begun after ``entry`` over any of its records (found under its own lock)."""
    others = set(entry.group[1:])
    for later in await worker.audit.since(entry.at):
        if (
            later.id != entry.id
            and later.entity == entry.entity
            and later.decision in ("pending", "merged")
            and others & set(later.group)
        ):
            return later
    return None


async def enqueue_again(worker: Worker, entity: str, entity_id: int) -> None:
    await enqueue_event(worker.redis, worker.keys, entity, entity_id, debounce=0.0)

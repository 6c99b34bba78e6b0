"""The merge itself: lock, re-read, decide again, audit first, mergeBatch, verify.

Also the repair of merges a dying worker left half-recorded (:func:`reconcile_interrupted`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from b24.client import LimitError, MethodError, OutcomeUnknown
from b24.crm import MERGE_BATCH, RecordRef
from b24_dedupe.audit import AuditEntry, merge_link
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.dedupe_queue import enqueue_event
from worker.communications import communications, evidence
from worker.deciding import decide_for
from worker.locks import ValueLock
from worker.policy import PolicyDecision
from worker.run import DedupeContext, Run, get_many, get_record

log = logging.getLogger("worker.merging")

MERGED_MARKER_TTL = 86_400
CONFLICT_MEMORY_TTL = 7 * 86_400
# What the audit calls a merge by mergeBatch's answer (anything else is an error).
_DECISION_OF = {Outcome.SUCCESS: Decision.MERGED, Outcome.CONFLICT: Decision.CONFLICT}


class LockBusy(Exception):
    """Another worker is merging records that share a value with this group."""


async def merge_under_lock(
    context: DedupeContext, run: Run, decision: PolicyDecision, group_records: list[dict[str, Any]]
) -> AuditEntry:
    """Lock the values of the group as read, re-read it under the lock, decide again, merge.

    Another merge that touches any of these values holds one of the locks; one that
    changed the records before we locked is seen by the re-read.
    """
    entity = run.entity
    values = {str(c) for r in group_records for c in communications(r, context.rules)}
    lock = ValueLock(context.redis, context.keys, values, context.lock_seconds)
    if not await lock.acquire():
        raise LockBusy(f"{entity} {run.entity_id}: values locked by another merge")
    try:
        # Re-read under the lock: the state stored in the audit is the state merged.
        fresh = await get_many(context, run, entity, decision.group)
        record = fresh.get(run.entity_id)
        if record is None:
            return run.entry(Decision.GONE, "merged or deleted by someone else meanwhile")
        fresh_values = {str(c) for r in fresh.values() for c in communications(r, context.rules)}
        if not fresh_values <= values:
            # Changed between reading and locking: its new values are not ours yet.
            raise LockBusy(f"{entity} {run.entity_id}: group changed before the lock")
        others = {i: r for i, r in fresh.items() if i != run.entity_id}
        usable, _ = evidence(record, context.rules)
        decision = await decide_for(context, run, record, others, usable)
        if not decision.merge:
            return run.entry(Decision.NO_MERGE, decision.reason + " (on re-reading)")
        snapshots = {str(i): fresh[i] for i in decision.group}
        fingerprint = "|".join(str(fresh[i].get("DATE_MODIFY")) for i in sorted(decision.group))
        conflict_key = context.keys.conflict(entity, decision.group)
        refused = await context.redis.get(conflict_key)
        if refused is not None and refused.decode() == fingerprint:
            return run.entry(
                Decision.NO_MERGE,
                "Bitrix24 refused this merge (CONFLICT) and the records are unchanged since",
                group=decision.group,
                outcome={"status": Outcome.CONFLICT, "link": merge_link(entity, decision.group)},
            )
        if context.dry_run:
            return run.entry(
                Decision.DRY_RUN,
                "would merge: " + decision.reason,
                group=decision.group,
                survivor=decision.survivor,
                snapshots=snapshots,
            )
        pending = run.entry(
            Decision.PENDING,
            decision.reason,
            group=decision.group,
            survivor=decision.survivor,
            snapshots=snapshots,
            outcome={"status": Outcome.PENDING},
        )
        await context.audit.write(pending, durable=True)
        try:
            outcome = await _merge(context, run, decision.group)
        except LimitError as exc:
            # Refused before it ran (a limit: nothing was merged). The entry must not stay
            # PENDING, or the reconcile would take it for an interrupted merge and enqueue
            # the record again; worker.jobs defers this job, which then decides afresh.
            pending.decision = Decision.NO_MERGE
            pending.reason = f"merge not sent: {type(exc).__name__}; job deferred"
            pending.outcome = {"status": Outcome.NOT_SENT, "error": str(exc)[:200]}
            await context.audit.write(pending)
            raise
        pending.outcome = outcome
        if outcome["status"] == Outcome.CONFLICT:
            await context.redis.set(conflict_key, fingerprint, ex=CONFLICT_MEMORY_TTL)
        pending.decision = _DECISION_OF.get(outcome["status"], Decision.ERROR)
        pending.requests = run.commands
        pending.duration = round(time.monotonic() - run.started, 3)
        return pending
    finally:
        await lock.release()


async def _merge(context: DedupeContext, run: Run, group: list[int]) -> dict[str, Any]:
    entity = run.entity
    survivor, others = group[0], group[1:]
    run.commands += 1
    try:
        result = await context.client.call(
            MERGE_BATCH,
            {"params": {"entityTypeId": entity.type_id, "entityIds": group}},
        )
    except OutcomeUnknown:
        # The answer was lost: re-read before anything is sent again.
        remaining = await get_many(context, run, entity, group)
        if survivor in remaining and not any(o in remaining for o in others):
            await mark_survivor(context, RecordRef(entity, survivor), remaining[survivor])
            return {
                "status": Outcome.SUCCESS,
                "deleted": others,
                "verified": "answer lost; re-read",
            }
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
            "status": Outcome.ERROR,
            "error": "answer lost; records re-read",
            "remaining": sorted(remaining),
            "link": merge_link(entity, group),
        }
    except MethodError as exc:
        return {
            "status": Outcome.ERROR,
            "error": f"{exc.code}: {exc.description}",
            "link": merge_link(entity, group),
        }
    status = str(result.get("STATUS")) if isinstance(result, dict) else Outcome.ERROR
    if status == Outcome.SUCCESS:
        deleted = [int(i) for i in result.get("ENTITY_IDS") or []]
        after = await get_record(context, run, RecordRef(entity, survivor))
        if after is not None:
            await mark_survivor(context, RecordRef(entity, survivor), after)
        return {"status": Outcome.SUCCESS, "deleted": deleted, "survivor_after": after}
    if status == Outcome.CONFLICT:
        return {"status": Outcome.CONFLICT, "link": merge_link(entity, group)}
    return {
        "status": Outcome.ERROR,
        "error": f"mergeBatch answered {result!r}"[:500],
        "link": merge_link(entity, group),
    }


async def mark_survivor(
    context: DedupeContext, survivor: RecordRef, record: dict[str, Any]
) -> None:
    """Remember the survivor's DATE_MODIFY: its own update event then needs no work."""
    await context.redis.set(
        context.keys.merged(survivor), str(record.get("DATE_MODIFY")), ex=MERGED_MARKER_TTL
    )


async def reconcile_interrupted(context: DedupeContext, older_than: float) -> list[AuditEntry]:
    """Complete merge entries left ``pending`` by a worker that died mid-merge.

    The group is re-read: survivor present and the others gone means the merge
    happened; all present means it did not; anything else is recorded as partial for
    an administrator. Nothing is sent again from here: a new job decides afresh.

    A later merge entry over any of these records means that job re-read them under
    its lock and found them all there: this merge never happened, and the deletions
    the re-read shows are that later entry's.
    """
    completed = []
    for entry in await context.audit.pending_before(time.time() - older_than):
        run = Run(entry.record)
        remaining = await get_many(context, run, entry.entity, entry.group)
        survivor, others = entry.group[0], entry.group[1:]
        later = await _later_merge(context, entry)
        if later is not None:
            entry.decision = Decision.NO_MERGE
            entry.outcome = {
                "status": Outcome.NOT_SENT,
                "verified": f"interrupted; the records were merged later by {later.id}",
            }
        elif survivor in remaining and not any(o in remaining for o in others):
            entry.decision = Decision.MERGED
            entry.outcome = {
                "status": Outcome.SUCCESS,
                "deleted": others,
                "verified": "interrupted; re-read",
            }
        elif all(i in remaining for i in entry.group):
            entry.decision = Decision.NO_MERGE
            entry.outcome = {"status": Outcome.NOT_SENT, "verified": "interrupted; re-read"}
            await enqueue_again(context, entry.record)
        else:
            entry.decision = Decision.ERROR
            entry.outcome = {
                "status": Outcome.PARTIAL,
                "remaining": sorted(remaining),
                "link": merge_link(entry.entity, sorted(remaining)),
                "verified": "interrupted; re-read",
            }
        await context.audit.write(entry)
        log.warning(
            "interrupted merge reconciled",
            extra={
                "audit_id": entry.id,
                "entity": entry.entity,
                "group": entry.group,
                "outcome": entry.status,
            },
        )
        completed.append(entry)
    return completed


async def _later_merge(context: DedupeContext, entry: AuditEntry) -> AuditEntry | None:
    """A merge begun after ``entry`` over any of its records (found under its own lock)."""
    others = set(entry.group[1:])
    for later in await context.audit.since(entry.at):
        if (
            later.id != entry.id
            and later.entity == entry.entity
            and later.decision in (Decision.PENDING, Decision.MERGED)
            and others & set(later.group)
        ):
            return later
    return None


async def enqueue_again(context: DedupeContext, record: RecordRef) -> None:
    await enqueue_event(context.redis, context.keys, record, debounce=0.0)

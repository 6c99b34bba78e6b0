"""One dedupe run for one record: read, find, read candidates, decide, lock, merge, record.

The steps follow the product's promise — correct first: nothing is merged unless
:func:`worker.policy.decide` calls the group safe on records re-read under a lock on
their values, and the audit entry with every record's full state is stored before
``crm.entity.mergeBatch`` is sent. Errors of the portal reach :mod:`worker.jobs`,
which maps them onto arq's retries.
"""

from __future__ import annotations

import logging

from b24.crm import RecordRef
from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import Decision
from worker import metrics
from worker.communications import evidence
from worker.deciding import decide_for
from worker.finding import SHARED_THRESHOLD, find_candidates
from worker.holding import hold_for_review
from worker.merging import merge_under_lock
from worker.reconciling import reconcile_interrupted
from worker.run import DedupeContext, Run, get_many, get_record

__all__ = ["SHARED_THRESHOLD", "process", "reconcile_interrupted"]

log = logging.getLogger("worker.dedupe")

PROCESSED_MARKER_TTL = 7 * 86_400


async def process(context: DedupeContext, record: RecordRef) -> AuditEntry:
    """Run the dedupe steps for one record and return the audit entry written."""
    run = Run(record)
    return await record_entry(context, run, await _process(context, run))


async def record_entry(context: DedupeContext, run: Run, entry: AuditEntry) -> AuditEntry:
    """Store a decision in the audit, count it, log it (one line); answers it."""
    await context.audit.write(entry)
    await metrics.record(context.redis, context.keys, entry, context.client.stats.take())
    _log(entry, run)
    return entry


async def _process(context: DedupeContext, run: Run) -> AuditEntry:
    entity, entity_id = run.entity, run.entity_id
    if await context.redis.exists(context.keys.deleted(run.record)):
        await context.review.forget_record(run.record)
        return run.entry(Decision.GONE, "deleted before its job ran")
    record = await get_record(context, run, run.record)
    if record is None:
        await context.review.forget_record(run.record)
        return run.entry(Decision.GONE, "not found on the portal")
    await context.redis.set(
        context.keys.processed(run.record),
        str(record.get("DATE_MODIFY")),
        ex=PROCESSED_MARKER_TTL,
    )
    marker = await context.redis.get(context.keys.merged(run.record))
    if marker is not None and marker.decode() == str(record.get("DATE_MODIFY")):
        return run.entry(Decision.SKIPPED, "survivor of our own merge, unchanged since")
    usable, excluded = evidence(record, context.rules)
    banned = await context.not_duplicates.values()
    for comm in [c for c in usable if str(c) in banned]:
        excluded[comm] = "marked as not duplicates"
        del usable[comm]
    if not usable:
        run.excluded = {str(c): why for c, why in excluded.items()}
        return run.entry(Decision.NO_MERGE, "no phone or e-mail that can identify anyone")
    found, shared_values = await find_candidates(context, run, entity, usable)
    for comm in shared_values:
        excluded[comm] = f"shared by {SHARED_THRESHOLD} or more records"
        del usable[comm]
    run.excluded = {str(c): why for c, why in excluded.items()}
    found.discard(entity_id)
    if not found:
        reason = "no duplicates" if not shared_values else "only shared values in common"
        return run.entry(Decision.NO_MERGE, reason)
    candidates = await get_many(context, run, entity, sorted(found))
    run.candidates = sorted(candidates)
    decision = await decide_for(context, run, record, candidates, usable)
    if not decision.merge and decision.review is not None:
        group = await hold_for_review(
            context, run, decision.group, {entity_id: record, **candidates}, decision.review,
            decision.reason,
        )  # fmt: skip
        return run.entry(
            Decision.REVIEW,
            decision.reason + "; waits for a person",
            group=decision.group,
            outcome={"review": group.id},
        )
    if not decision.merge:
        return run.entry(Decision.NO_MERGE, decision.reason)
    group_records = [record, *(candidates[i] for i in decision.group if i in candidates)]
    return await merge_under_lock(context, run, decision, group_records)


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
            "outcome": entry.status,
            "requests": entry.requests,
            "duration": entry.duration,
        },
    )

"""Completing merge entries a dying worker (or a lost answer) left ``pending``."""

from __future__ import annotations

import logging
import time

from b24.crm import RecordRef
from b24_dedupe.audit import AuditEntry, merge_link
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.dedupe_queue import enqueue_event
from worker.run import DedupeContext, Run, get_many

log = logging.getLogger("worker.reconciling")


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
                "link": merge_link(entry.entity, sorted(remaining), context.portal_url),
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

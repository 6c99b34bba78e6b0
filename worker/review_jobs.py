"""A person's actions as arq jobs: what the review page asks a worker to do.

The page is a separate service; it enqueues one of these (names in
:mod:`b24_dedupe.keys`) and waits for its result, so that every merge, dismissal and
restore runs in a worker through the same path, locks and audit as the worker's own.
A job answers a small summary for the page: what was decided, the audit entry, and a
sentence.
"""

from __future__ import annotations

from typing import Any

from b24.client import B24Error
from b24_dedupe.audit import AuditEntry
from worker.jobs import DEDUPE_CONTEXT
from worker.merging import LockBusy
from worker.restoring import RestoreRefused, plan_restore, restore
from worker.reviewing import (
    ReviewRefused,
    approve_proposal,
    dismiss_reviewed,
    group_or_refuse,
    merge_reviewed,
)
from worker.run import DedupeContext

Summary = dict[str, Any]


def summary(entry: AuditEntry) -> Summary:
    return {
        "ok": True,
        "decision": str(entry.decision),
        "status": entry.status,
        "reason": entry.reason,
        "audit_id": entry.id,
        "group": entry.group,
    }


def refusal(text: str) -> Summary:
    return {"ok": False, "decision": None, "status": None, "reason": text, "audit_id": None}


async def review_merge(
    ctx: dict[str, Any], group_id: str, choices: dict[str, int], who: str
) -> Summary:
    context: DedupeContext = ctx[DEDUPE_CONTEXT]
    try:
        group = await group_or_refuse(context, group_id)
        return summary(await merge_reviewed(context, group, choices, who=who))
    except ReviewRefused as exc:
        return refusal(str(exc))
    except B24Error as exc:
        return refusal(f"the portal refused: {exc}")
    except LockBusy:
        return refusal("another merge is working on these records: try again in a moment")


async def review_dismiss(ctx: dict[str, Any], group_id: str, who: str) -> Summary:
    context: DedupeContext = ctx[DEDUPE_CONTEXT]
    try:
        group = await group_or_refuse(context, group_id)
        return summary(await dismiss_reviewed(context, group, who=who))
    except ReviewRefused as exc:
        return refusal(str(exc))


async def restore_merge(ctx: dict[str, Any], audit_id: str, who: str) -> Summary:
    context: DedupeContext = ctx[DEDUPE_CONTEXT]
    try:
        plan = await plan_restore(context, audit_id, force=False)
        entry = await restore(context, plan)
    except RestoreRefused as exc:
        return refusal(str(exc))
    except B24Error as exc:
        return refusal(f"the portal refused: {exc}")
    except LockBusy:
        return refusal("another merge is working on these records: try again in a moment")
    entry.reason += f" (by {who})"
    await context.audit.write(entry)
    return summary(entry)


async def approve(ctx: dict[str, Any], audit_id: str, who: str) -> Summary:
    context: DedupeContext = ctx[DEDUPE_CONTEXT]
    try:
        return summary(await approve_proposal(context, audit_id, who=who))
    except ReviewRefused as exc:
        return refusal(str(exc))
    except B24Error as exc:
        return refusal(f"the portal refused: {exc}")
    except LockBusy:
        return refusal("another merge is working on these records: try again in a moment")

"""The merge itself: lock, re-read, decide again, predict, settle, audit first, write,
mergeBatch, verify.

The repair of merges a dying worker left half-recorded is :mod:`worker.reconciling`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from b24.client import LimitError, MethodError, OutcomeUnknown
from b24.crm import MERGE_BATCH, MergeStatus, RecordRef
from b24.predict import predict_merge
from b24_dedupe.audit import AuditEntry, merge_link
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.review import ReviewReason
from worker.communications import communications, evidence
from worker.deciding import decide_for
from worker.holding import hold_for_review, release_from_review
from worker.locks import ValueLock
from worker.policy import PolicyDecision
from worker.prediction import predict_group, refusal_reason, would_conflict
from worker.resolution import Resolution, resolve
from worker.run import DedupeContext, Run, get_many, get_record
from worker.writing import described, verify_writes, write_values

log = logging.getLogger("worker.merging")

MERGED_MARKER_TTL = 86_400
CONFLICT_MEMORY_TTL = 7 * 86_400
# What the audit calls a merge by mergeBatch's answer (anything else is an error).
_DECISION_OF = {Outcome.SUCCESS: Decision.MERGED, Outcome.CONFLICT: Decision.CONFLICT}


class LockBusy(Exception):
    """Another worker is merging records that share a value with this group."""


@dataclass(frozen=True)
class Approval:
    """A person settled this group (the review queue): the policy is not asked again,
    but the records must be as the person saw them (``seen``: id -> DATE_MODIFY)."""

    seen: Mapping[int, str]
    choices: Mapping[str, int] = field(default_factory=dict)  # field -> record whose value wins
    note: str = "settled by a person"


async def merge_under_lock(
    context: DedupeContext,
    run: Run,
    decision: PolicyDecision,
    group_records: list[dict[str, Any]],
    *,
    approval: Approval | None = None,
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
        if approval is None:
            others = {i: r for i, r in fresh.items() if i != run.entity_id}
            usable, _ = evidence(record, context.rules)
            decision = await decide_for(context, run, record, others, usable)
            if not decision.merge:
                return run.entry(Decision.NO_MERGE, decision.reason + " (on re-reading)")
        else:
            changed = [
                i
                for i in decision.group
                if i not in fresh or str(fresh[i].get("DATE_MODIFY")) != approval.seen.get(i)
            ]
            if changed:
                return run.entry(
                    Decision.NO_MERGE,
                    "changed since it was shown for review: "
                    + ", ".join(str(i) for i in changed)
                    + "; look at it again",
                    group=decision.group,
                )
        return await _settle_and_merge(context, run, decision, fresh, approval)
    finally:
        await lock.release()


async def _settle_and_merge(
    context: DedupeContext,
    run: Run,
    decision: PolicyDecision,
    fresh: dict[int, dict[str, Any]],
    approval: Approval | None,
) -> AuditEntry:
    """Predict Bitrix24's verdict; settle what it would refuse (rules, a person's choices)
    or hold the group for review; record; write the settled values; merge."""
    entity, group = run.entity, decision.group
    snapshots = {str(i): fresh[i] for i in group}
    fingerprint = "|".join(str(fresh[i].get("DATE_MODIFY")) for i in sorted(group))
    conflict_key = context.keys.conflict(entity, group)
    refused = await context.redis.get(conflict_key)
    if approval is None and refused is not None and refused.decode() == fingerprint:
        return run.entry(
            Decision.NO_MERGE,
            "Bitrix24 refused this merge (CONFLICT) and the records are unchanged since",
            group=group,
            outcome={
                "status": Outcome.CONFLICT,
                "link": merge_link(entity, group, context.portal_url),
            },
        )
    ordered = [fresh[i] for i in group]
    verdict = await predict_group(context, run, group, fresh)
    resolution = Resolution()
    if verdict.status != MergeStatus.SUCCESS:
        fields = await context.fields.of(entity)
        conflicts = {c.code: c.values for c in verdict.conflicts}
        resolution = resolve(
            entity,
            ordered,
            conflicts,
            context.merge_rules,
            fields,
            choices=approval.choices if approval else None,
            language=context.language,
        )
        refusal = would_conflict(context, run, group, verdict)
        if resolution.blocked:
            return run.entry(
                Decision.NO_MERGE,
                "rule block: " + ", ".join(resolution.blocked) + " differ: two customers",
                group=group,
                outcome=refusal,
            )
        if not resolution.ready:
            held = await hold_for_review(
                context,
                run,
                group,
                fresh,
                ReviewReason.RULE,
                "a person decides " + ", ".join(resolution.review),
                conflicts,
            )
            return run.entry(
                Decision.REVIEW,
                refusal_reason(verdict) + "; waits for a person (rule review)",
                group=group,
                survivor=group[0],
                outcome={**refusal, "review": held.id},
            )
        settled = predict_merge(
            entity, resolution.applied_to(ordered), fields, language=context.language
        )
        if settled.status != MergeStatus.SUCCESS:
            held = await hold_for_review(
                context,
                run,
                group,
                fresh,
                ReviewReason.CONFLICT,
                "even with the field rules, " + refusal_reason(settled),
                {c.code: c.values for c in settled.conflicts},
            )
            return run.entry(
                Decision.REVIEW,
                "even with the field rules, " + refusal_reason(settled),
                group=group,
                survivor=group[0],
                outcome={**would_conflict(context, run, group, settled), "review": held.id},
            )
    writes = described(resolution.writes, fresh)
    reason = approval.note if approval else decision.reason
    if resolution.fields:
        reason += "; settled first: " + ", ".join(
            f"{code} ({settled_field.rule})" for code, settled_field in resolution.fields.items()
        )
    if context.dry_run and approval is None:
        # A person's approval is a merge even in dry-run mode: that is how one goes on.
        proposal = run.entry(
            Decision.DRY_RUN,
            "would merge: " + reason,
            group=group,
            survivor=decision.survivor,
            snapshots=snapshots,
            writes=writes,
        )
        if await context.proposals.propose(proposal):
            return proposal
        return run.entry(
            Decision.SKIPPED, "proposed already (dry run), the records unchanged since", group=group
        )
    pending = run.entry(
        Decision.PENDING,
        reason,
        group=group,
        survivor=decision.survivor,
        snapshots=snapshots,
        writes=writes,
        outcome={"status": Outcome.PENDING},
    )
    await context.audit.write(pending, durable=True)
    try:
        if resolution.writes:
            await write_values(context, run, resolution.writes)
            after, problems = await verify_writes(context, run, group, fresh, resolution.writes)
            recheck = predict_merge(
                entity,
                [after[i] for i in group if i in after],
                await context.fields.of(entity),
                language=context.language,
            )
            if problems or recheck.status != MergeStatus.SUCCESS:
                pending.decision = Decision.NO_MERGE
                pending.reason = (
                    "not merged: the records changed while the settled values "
                    "were written (restore undoes the writes)"
                )
                pending.outcome = {"status": Outcome.NOT_SENT, "changed": problems}
                await context.audit.write(pending)
                return pending
        outcome = await _merge(context, run, group)
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
        held = await hold_for_review(
            context, run, group, fresh, ReviewReason.CONFLICT, "Bitrix24 answered CONFLICT"
        )
        pending.outcome["review"] = held.id
    elif outcome["status"] == Outcome.SUCCESS:
        await release_from_review(context, run, group)
        await context.proposals.withdraw_group(entity, group)
    pending.decision = _DECISION_OF.get(outcome["status"], Decision.ERROR)
    pending.requests = run.commands
    pending.duration = round(time.monotonic() - run.started, 3)
    return pending


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
            "link": merge_link(entity, group, context.portal_url),
        }
    except MethodError as exc:
        return {
            "status": Outcome.ERROR,
            "error": f"{exc.code}: {exc.description}",
            "link": merge_link(entity, group, context.portal_url),
        }
    status = str(result.get("STATUS")) if isinstance(result, dict) else MergeStatus.ERROR
    if status == MergeStatus.SUCCESS:
        deleted = [int(i) for i in result.get("ENTITY_IDS") or []]
        after = await get_record(context, run, RecordRef(entity, survivor))
        if after is not None:
            await mark_survivor(context, RecordRef(entity, survivor), after)
        return {"status": Outcome.SUCCESS, "deleted": deleted, "survivor_after": after}
    if status == MergeStatus.CONFLICT:
        return {"status": Outcome.CONFLICT, "link": merge_link(entity, group, context.portal_url)}
    return {
        "status": Outcome.ERROR,
        "error": f"mergeBatch answered {result!r}"[:500],
        "link": merge_link(entity, group, context.portal_url),
    }


async def mark_survivor(
    context: DedupeContext, survivor: RecordRef, record: dict[str, Any]
) -> None:
    """Remember the survivor's DATE_MODIFY: its own update event then needs no work."""
    await context.redis.set(
        context.keys.merged(survivor), str(record.get("DATE_MODIFY")), ex=MERGED_MARKER_TTL
    )

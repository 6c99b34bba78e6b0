"""What a person does with a group of the review queue: merge it, or say it is not one.

Both go through the worker's own path: a merge is locked, re-read, predicted, settled
(the person's choice per field wins, the rules settle the rest), recorded with every
record's full state first, then sent (:func:`worker.merging.merge_under_lock`). The
CLI (``b24-dedupe review``) calls these directly; the review page enqueues them as
jobs (:data:`b24_dedupe.keys.REVIEW_JOB`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from b24.crm import RecordRef
from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import Decision
from b24_dedupe.dedupe_queue import enqueue_event
from b24_dedupe.review import ReviewGroup
from worker.dedupe import record_entry
from worker.merging import Approval, merge_under_lock
from worker.policy import PolicyDecision
from worker.run import DedupeContext, Run, get_many


class ReviewRefused(ValueError):
    """The action cannot be done as asked (an unknown group, a field choice that names
    a record outside the group); the message says why."""


async def group_or_refuse(context: DedupeContext, group_id: str) -> ReviewGroup:
    group = await context.review.get(group_id)
    if group is None:
        raise ReviewRefused(f"no group {group_id} waits for review (`b24-dedupe review list`)")
    return group


def check_choices(group: ReviewGroup, choices: Mapping[str, int]) -> dict[str, int]:
    """``--field CODE=RECORD_ID`` choices, checked against the group."""
    checked = {}
    for code, record_id in choices.items():
        field_code = code.strip().upper()
        if record_id not in group.ids:
            raise ReviewRefused(
                f"{field_code}={record_id}: record {record_id} is not in group {group.id} "
                f"({', '.join(map(str, group.ids))})"
            )
        checked[field_code] = record_id
    return checked


async def merge_reviewed(
    context: DedupeContext,
    group: ReviewGroup,
    choices: Mapping[str, int] | None = None,
    *,
    who: str = "a person",
) -> AuditEntry:
    """Merge a reviewed group; ``choices``: field -> the record whose value wins."""
    run = Run(RecordRef(group.entity, group.survivor))
    checked = check_choices(group, choices or {})
    fresh = await get_many(context, run, group.entity, group.ids)
    if group.survivor not in fresh or len(fresh) < 2:
        await context.review.remove(group.id)
        return await record_entry(
            context, run, run.entry(Decision.GONE, "records of the group are gone meanwhile")
        )
    ids = [i for i in group.ids if i in fresh]
    seen = {
        i: str(group.records.get(str(i), {}).get("DATE_MODIFY", fresh[i].get("DATE_MODIFY")))
        for i in ids
    }
    note = f"settled by {who} from review"
    if checked:
        note += " (" + ", ".join(f"{code} from {rid}" for code, rid in checked.items()) + ")"
    entry = await merge_under_lock(
        context,
        run,
        PolicyDecision(True, note, ids),
        [fresh[i] for i in ids],
        approval=Approval(seen=seen, choices=checked, note=note),
    )
    if entry.decision is Decision.NO_MERGE and entry.reason.startswith("changed since"):
        # The person saw an older state: show the new one, the fields as they differ now.
        group.records = {str(i): fresh[i] for i in ids}
        await context.review.put(group)
    return await record_entry(context, run, entry)


async def dismiss_reviewed(
    context: DedupeContext, group: ReviewGroup, *, who: str = "a person"
) -> AuditEntry:
    """The group's records are not duplicates: every pair is marked, the group leaves."""
    for left, right in itertools.combinations(group.ids, 2):
        await context.not_duplicates.add_pair(group.entity, left, right)
    await context.review.remove(group.id)
    run = Run(RecordRef(group.entity, group.survivor))
    entry = run.entry(
        Decision.DISMISSED,
        f"not duplicates, said {who} from review; the pairs are marked",
        group=list(group.ids),
    )
    return await record_entry(context, run, entry)


async def approve_proposal(
    context: DedupeContext, audit_id: str, *, who: str = "a person"
) -> AuditEntry:
    """Carry out a dry-run proposal: the group merged as proposed, if its records are as
    they were then (otherwise the worker looks at them again)."""
    proposal = await context.audit.get(audit_id)
    if proposal is None or proposal.decision is not Decision.DRY_RUN:
        raise ReviewRefused(f"{audit_id} is not a dry-run proposal (`b24-dedupe audit`)")
    run = Run(RecordRef(proposal.entity, proposal.group[0]))
    fresh = await get_many(context, run, proposal.entity, proposal.group)
    await context.proposals.withdraw(proposal)
    if len(fresh) < 2:
        return await record_entry(
            context, run, run.entry(Decision.GONE, "records of the proposal are gone meanwhile")
        )
    ids = [i for i in proposal.group if i in fresh]
    seen = {
        i: str(proposal.snapshots.get(str(i), {}).get("DATE_MODIFY", fresh[i].get("DATE_MODIFY")))
        for i in ids
    }
    note = f"dry-run proposal {proposal.id} approved by {who}"
    entry = await merge_under_lock(
        context,
        run,
        PolicyDecision(True, note, ids),
        [fresh[i] for i in ids],
        approval=Approval(seen=seen, note=note),
    )
    if entry.decision is Decision.NO_MERGE and entry.reason.startswith("changed since"):
        await enqueue_event(context.redis, context.keys, run.record, debounce=0.0)
        entry.reason += " (looked at again now)"
    return await record_entry(context, run, entry)


async def revisit_proposals(context: DedupeContext) -> int:
    """MERGE_MODE is ``auto`` now: every dry-run proposal's records are looked at again
    (and merged if still safe), instead of waiting for their next change or a scan."""
    count = 0
    for audit_id in await context.proposals.all_ids():
        proposal = await context.audit.get(audit_id)
        if proposal is None:
            continue
        await context.proposals.withdraw(proposal)
        anchor = RecordRef(
            proposal.entity, proposal.group[0] if proposal.group else proposal.entity_id
        )
        await enqueue_event(context.redis, context.keys, anchor, debounce=0.0)
        count += 1
    return count

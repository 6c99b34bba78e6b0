"""Holding a group for a person: into the review queue, once, with what they need to see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from b24.crm import RecordRef
from b24_dedupe.review import ReviewGroup, ReviewReason
from worker.run import DedupeContext, Run


async def hold_for_review(
    context: DedupeContext,
    run: Run,
    group: list[int],
    records: Mapping[int, Mapping[str, Any]],
    reason: ReviewReason,
    detail: str,
    differing: Mapping[str, Mapping[Any, Any]] | None = None,
) -> ReviewGroup:
    """Put the group (survivor first) into the review queue, or refresh it there."""
    evidence = {cid: values for cid, values in run.evidence.items() if int(cid) in group}
    stored, _ = await context.review.put(
        ReviewGroup(
            entity=run.entity,
            ids=list(group),
            reason=reason,
            detail=detail,
            differing={
                code: {str(i): v for i, v in values.items()}
                for code, values in (differing or {}).items()
            },
            records={str(i): dict(records[i]) for i in group if i in records},
            evidence=evidence,
        )
    )
    return stored


async def release_from_review(context: DedupeContext, run: Run, group: list[int]) -> None:
    """The group was merged (or its records are gone): it no longer waits for anyone."""
    for record_id in group:
        await context.review.forget_record(RecordRef(run.entity, record_id))

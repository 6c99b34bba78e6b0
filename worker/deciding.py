"""The policy applied to records as read: which values each candidate shares, marked pairs."""

from __future__ import annotations

from typing import Any

from worker.communications import Communication, communications
from worker.policy import PolicyDecision, decide
from worker.run import DedupeContext, Run


async def decide_for(
    context: DedupeContext,
    run: Run,
    record: dict[str, Any],
    candidates: dict[int, dict[str, Any]],
    usable: dict[Communication, str],
) -> PolicyDecision:
    shared: dict[int, set[Communication]] = {}
    for cid, candidate in candidates.items():
        common = set(communications(candidate, context.rules)) & set(usable)
        shared[cid] = common
        if common:
            run.evidence[str(cid)] = sorted(str(c) for c in common)
    ids = [run.entity_id, *candidates]
    marked = await context.not_duplicates.pairs(run.entity, ids)
    decision = decide(
        run.entity, record, list(candidates.values()), shared, context.policy, not_duplicates=marked
    )
    run.excluded.update({str(cid): why for cid, why in decision.excluded.items()})
    return decision

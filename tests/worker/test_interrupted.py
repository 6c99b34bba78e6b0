"""A worker killed between the audit entry and the merge's outcome: the entry is completed."""

from __future__ import annotations

import time

from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import Decision, Outcome
from tests.worker.conftest import StartStack
from worker.jobs import DEDUPE_CONTEXT
from worker.reconciling import reconcile_interrupted


async def test_merge_done_before_the_worker_died_is_recorded_as_merged(
    start_stack: StartStack,
) -> None:
    seed = {"contacts": [{"ID": 1, "NAME": "A"}, {"ID": 2, "NAME": "A"}]}
    stack = await start_stack(seed=seed)
    worker = stack.arq.ctx[DEDUPE_CONTEXT]
    pending = AuditEntry(
        "CONTACT",
        2,
        Decision.PENDING,
        "same identity",
        group=[1, 2],
        survivor=1,
        at=time.time() - 600,
        outcome={"status": Outcome.PENDING},
    )
    await worker.audit.write(pending)
    await stack.call("crm.entity.mergeBatch", {"params": {"entityTypeId": 3, "entityIds": [1, 2]}})
    await stack.settle()
    done = await reconcile_interrupted(worker, older_than=300)
    assert [e.id for e in done] == [pending.id]
    stored = await worker.audit.get(pending.id)
    assert stored is not None and stored.decision == Decision.MERGED
    assert stored.outcome["verified"] == "interrupted; re-read"
    assert await worker.audit.pending_before(time.time()) == []


async def test_merge_never_sent_is_recorded_and_the_record_looked_at_again(
    start_stack: StartStack,
) -> None:
    seed = {
        "contacts": [
            {"ID": 1, "NAME": "B", "PHONE": [{"VALUE": "+79035550000"}]},
            {"ID": 2, "NAME": "B", "PHONE": [{"VALUE": "89035550000"}]},
        ]
    }
    stack = await start_stack(seed=seed)
    worker = stack.arq.ctx[DEDUPE_CONTEXT]
    pending = AuditEntry(
        "CONTACT",
        2,
        Decision.PENDING,
        "same identity",
        group=[1, 2],
        survivor=1,
        at=time.time() - 600,
        outcome={"status": Outcome.PENDING},
    )
    await worker.audit.write(pending)
    recent = AuditEntry(
        "CONTACT",
        7,
        Decision.PENDING,
        "still running",
        group=[7, 8],
        survivor=7,
        outcome={"status": Outcome.PENDING},
    )
    await worker.audit.write(recent)
    done = await reconcile_interrupted(worker, older_than=300)
    assert [e.outcome["status"] for e in done] == [Outcome.NOT_SENT]  # the recent one is left
    await stack.settle()
    assert set(stack.emulator.engine.portal.records["CONTACT"]) == {1}  # merged on re-run

"""Dry-run proposals: one per group, approved by a person, or carried out once
MERGE_MODE is auto."""

from __future__ import annotations

from arq.connections import ArqRedis

from b24.crm import RecordRef
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.dedupe_queue import enqueue_event
from b24_dedupe.keys import APPROVE_JOB
from b24_dedupe.proposals import Proposals
from b24_dedupe.review import ReviewQueue
from tests.worker.conftest import Stack, StartStack
from worker.jobs import DEDUPE_CONTEXT
from worker.reviewing import revisit_proposals


async def _proposed_pair(stack: Stack) -> tuple[int, int]:
    a = await stack.add("CONTACT", NAME="Dry", PHONE=["+7 903 666-77-88"])
    await stack.settle()
    b = await stack.add("CONTACT", NAME="Dry", PHONE=["+7 903 666-77-88"])
    await stack.settle()
    # The other record of the group is looked at too (a scan, an event): no second proposal.
    await enqueue_event(stack.redis, stack.keys, RecordRef("CONTACT", a), debounce=0)
    await stack.settle()
    return a, b


async def test_each_group_is_proposed_once(start_stack: StartStack) -> None:
    stack = await start_stack(merge_mode="dry-run")
    a, b = await _proposed_pair(stack)
    proposals = Proposals(stack.redis, stack.keys)
    assert await proposals.count() == 1
    (proposal,) = await proposals.page(stack.audit)
    assert proposal.decision == Decision.DRY_RUN and proposal.group == [a, b]
    dry = [e for e in await stack.audit.latest(100) if e.decision == Decision.DRY_RUN]
    assert [e.id for e in dry] == [proposal.id]
    again = await stack.last_decision("CONTACT", a)
    assert again.decision == Decision.SKIPPED and "proposed already" in again.reason
    # A change makes a fresh proposal that replaces the first.
    await stack.call("crm.contact.update", {"id": a, "fields": {"COMMENTS": "seen"}})
    await stack.settle()
    (fresh,) = await proposals.page(stack.audit)
    assert fresh.id != proposal.id and await proposals.count() == 1
    assert await stack.exists("CONTACT", a) and await stack.exists("CONTACT", b)


async def test_a_person_approves_a_proposal_in_dry_run(start_stack: StartStack) -> None:
    stack = await start_stack(merge_mode="dry-run")
    _, b = await _proposed_pair(stack)
    (proposal,) = await Proposals(stack.redis, stack.keys).page(stack.audit)
    pool = ArqRedis(connection_pool=stack.redis.connection_pool)
    job = await pool.enqueue_job(APPROVE_JOB, proposal.id, "the test", _queue_name=stack.keys.queue)
    assert job is not None
    result = await job.result(timeout=30)
    assert result["ok"] and result["decision"] == Decision.MERGED, result
    assert result["status"] == Outcome.SUCCESS
    assert not await stack.exists("CONTACT", b)
    entry = await stack.audit.get(result["audit_id"])
    assert entry is not None and "approved by the test" in entry.reason
    assert await Proposals(stack.redis, stack.keys).count() == 0
    again = await pool.enqueue_job(APPROVE_JOB, proposal.id, "x", _queue_name=stack.keys.queue)
    assert again is not None
    assert (await again.result(timeout=30))["ok"] is True  # gone now: says so, no merge
    assert stack.emulator.engine.stats.commands["crm.entity.mergebatch"] == 1


async def test_switching_to_auto_carries_the_proposals_out(start_stack: StartStack) -> None:
    stack = await start_stack(merge_mode="dry-run")
    a, b = await _proposed_pair(stack)
    context = stack.arq.ctx[DEDUPE_CONTEXT]
    context.dry_run = False  # what a worker started with MERGE_MODE=auto has
    assert await revisit_proposals(context) == 1
    await stack.settle()
    assert await stack.exists("CONTACT", a) and not await stack.exists("CONTACT", b)
    assert await Proposals(stack.redis, stack.keys).count() == 0


async def test_a_group_whose_record_is_deleted_leaves_the_review_queue(
    start_stack: StartStack,
) -> None:
    stack = await start_stack()
    a = await stack.add("CONTACT", NAME="Gleb", POST="CEO", PHONE=["+7 903 555-66-00"])
    await stack.settle()
    b = await stack.add("CONTACT", NAME="Gleb", POST="CTO", PHONE=["+7 903 555-66-00"])
    await stack.settle()
    queue = ReviewQueue(stack.redis, stack.keys)
    assert [g.ids for g in await queue.page()] == [[a, b]]
    await stack.call("crm.contact.delete", {"id": b})  # its DELETE event reaches the ingress
    await stack.settle()
    assert await queue.page() == [] and await queue.count() == 0

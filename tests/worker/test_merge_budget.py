"""mergeBatch past its operating budget: the merge is not sent, the job waits in the queue.

The docs' example charges a mergeBatch about 2 s against 480 s per 10 minutes, so a
burst of duplicates spends the budget (bench/drain.py). A merge the portal refuses
for it was never run: its audit entry says so (not PENDING, which the reconcile would
take for an interrupted merge), and the job is deferred until the budget grows.
"""

from __future__ import annotations

import asyncio
import time

from arq.constants import job_key_prefix

from b24_dedupe.decisions import Decision, Outcome
from tests.worker.conftest import StartStack

MERGE = "crm.entity.mergeBatch"


async def test_a_merge_refused_by_the_operating_limit_is_not_sent_and_waits(
    start_stack: StartStack,
) -> None:
    stack = await start_stack()
    first = await stack.add("CONTACT", NAME="Ivan", PHONE=["+7 999 123-45-67"])
    await stack.settle()
    async with stack.http.post(
        stack.emulator.root + "/_emulator/operating", json={"method": MERGE, "seconds": 480.0}
    ) as response:
        assert response.status == 200
    second = await stack.add("CONTACT", NAME="Ivan", PHONE=["89991234567"])

    entries = []
    for _ in range(300):  # bounded: 30 s
        entries = [e for e in await stack.decisions("CONTACT", second) if e.group]
        if entries:
            break
        await asyncio.sleep(0.1)
    assert len(entries) == 1
    (entry,) = entries
    assert entry.decision == Decision.NO_MERGE and entry.outcome["status"] == Outcome.NOT_SENT
    assert "OperatingLimit" in entry.reason and entry.group == [first, second]
    assert set(entry.snapshots) == {str(first), str(second)}  # the state it would have merged
    assert await stack.redis.zcard(stack.keys.audit_pending) == 0
    assert await stack.exists("CONTACT", first) and await stack.exists("CONTACT", second)
    assert stack.emulator.engine.stats.commands[MERGE.lower()] == 0  # refused, never run

    # The job waits in the queue for the budget, holding no worker slot meanwhile.
    queued = await stack.redis.zrange(stack.keys.queue, 0, -1, withscores=True)
    assert len(queued) == 1 and queued[0][1] / 1000 > time.time() + 20
    assert not stack.arq.tasks or all(task.done() for task in stack.arq.tasks.values())
    await stack.redis.delete(job_key_prefix + queued[0][0].decode())

"""Stopping a worker: running jobs go back to the queue, and the stop itself is clean."""

from __future__ import annotations

import asyncio

from b24.emulator.state import FAULTS
from tests.worker.conftest import StartStack
from worker.app import close_worker


async def test_closing_a_worker_hands_running_jobs_back_and_raises_nothing(
    start_stack: StartStack,
) -> None:
    stack = await start_stack()
    await stack.add("CONTACT", NAME="Slow", PHONE=["+7 903 700-00-01"])
    stack.emulator.app[FAULTS].update({"rates": {"latency": 1.0}, "latency_seconds": 5})
    for _ in range(100):  # bounded: 10 s for the job to start
        if any(not job.done() for job in stack.arq.tasks.values()):
            break
        await asyncio.sleep(0.1)
    assert await stack.redis.exists(stack.keys.worker_health)
    # A job cancelled as it began, before arq's own handler of the cancellation: arq's
    # close() re-raised that and skipped the rest (the process ended with exit code 1).
    early = asyncio.create_task(asyncio.sleep(60))
    stack.arq.tasks["cancelled-as-it-began"] = early
    await close_worker(stack.arq)
    assert early.cancelled() and stack.arq.tasks == {}
    assert not await stack.redis.exists(stack.keys.worker_health)  # arq's close() ran
    assert await stack.redis.zcard(stack.keys.queue) == 1  # the running job, handed back

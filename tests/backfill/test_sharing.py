"""The backfill shares the portal: a share of the request rate, live jobs first."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from b24.client import Bitrix24Client, ClientConfig
from b24.client.keys import ClientKeys
from b24.emulator.server import RunningEmulator
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from tests.conftest import REDIS_URL
from worker.app import build_context
from worker.backfill.sharing import LiveFirst, MergeBudget

LIST = "crm.contact.list"


def make_client(
    emulator: RunningEmulator, redis: aioredis.Redis, prefix: str, **config: Any
) -> Bitrix24Client:
    settings = ClientConfig(key_prefix=prefix, batch_window=0.0, **config)
    return Bitrix24Client(emulator.webhook_url, redis, config=settings)


async def timed_calls(client: Bitrix24Client, count: int) -> float:
    started = time.monotonic()
    for _ in range(count):  # one after the other: each its own request
        await client.call(LIST, {"select": ["ID"], "start": -1})
    return time.monotonic() - started


async def test_a_background_client_takes_its_share_of_the_rate_and_counts_in_the_portals(
    fast_emulator: RunningEmulator, redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    # The portal's bucket in the client: 20 a second, burst 10 (8 usable: headroom 2).
    async with make_client(
        fast_emulator, redis_client, redis_namespace, rps=20.0, burst=10
    ) as background:
        background.run_in_background(0.5, name="backfill")
        # Its own bucket: 10 a second, burst 5 (3 usable): 13 requests need >= 1 s.
        assert await timed_calls(background, 13) >= 0.95
        assert background.stats.limiter_wait_seconds >= 0.9
    portal = background.portal
    level = await redis_client.hget(ClientKeys(redis_namespace).rate_bucket(portal), "level")
    assert level is not None and float(level) > 0  # the portal's bucket was taken too
    # The same calls at the whole rate (the first 8 at once, then 20 a second) wait a
    # quarter of that for the limiter: the share above is what held them.
    async with make_client(
        fast_emulator, redis_client, redis_namespace + "full:", rps=20.0, burst=10
    ) as full:
        await timed_calls(full, 13)
        assert full.stats.limiter_wait_seconds < 0.5


@pytest.mark.parametrize("share", [0.0, 1.5])
async def test_a_share_outside_0_to_1_is_refused(
    fast_emulator: RunningEmulator, redis_client: aioredis.Redis, redis_namespace: str, share: float
) -> None:
    client = make_client(fast_emulator, redis_client, redis_namespace)
    with pytest.raises(ValueError, match="share"):
        client.run_in_background(share)
    await client.close()


async def test_live_jobs_due_in_the_queue_hold_the_scan_back(
    fast_emulator: RunningEmulator, redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    keys = Keys(redis_namespace)
    gate = LiveFirst(redis_client, keys, threshold=20, poll=0.05)
    now_ms = time.time() * 1000
    # 30 live jobs due now, 40 deferred to later (a job waiting for mergeBatch's budget).
    await redis_client.zadd(keys.queue, {f"job{n}": now_ms - 1000 for n in range(30)})
    await redis_client.zadd(keys.queue, {f"later{n}": now_ms + 600_000 for n in range(40)})
    async with make_client(fast_emulator, redis_client, redis_namespace) as client:
        client.run_in_background(1.0, gate=gate)
        call = asyncio.create_task(client.call(LIST, {"select": ["ID"], "start": -1}))
        await asyncio.sleep(0.5)
        assert not call.done()  # 30 due jobs: the scan gives way
        assert fast_emulator.engine.stats.http_requests == 0
        await redis_client.zrem(keys.queue, *[f"job{n}" for n in range(15)])  # 15 left
        await asyncio.wait_for(call, 5)
    assert gate.waited >= 0.4
    assert fast_emulator.engine.stats.http_requests == 1


async def test_a_queue_that_does_not_drain_does_not_stop_the_scan_for_good(
    fast_emulator: RunningEmulator, redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    keys = Keys(redis_namespace)
    gate = LiveFirst(redis_client, keys, threshold=0, patience=0.3, poll=0.05)
    await redis_client.zadd(keys.queue, {"stuck": time.time() * 1000 - 1000})  # no worker runs
    async with make_client(fast_emulator, redis_client, redis_namespace) as client:
        client.run_in_background(1.0, gate=gate)
        started = time.monotonic()
        await asyncio.wait_for(client.call(LIST, {"select": ["ID"], "start": -1}), 5)
    assert 0.25 <= time.monotonic() - started < 3


async def test_merges_under_way_follow_mergebatchs_budget(
    fast_emulator: RunningEmulator, redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    settings = Settings(
        redis_url=REDIS_URL, redis_prefix=redis_namespace, b24_webhook_url=fast_emulator.webhook_url
    )
    context = build_context(settings, redis_client)
    budget = MergeBudget(context, concurrency=25)
    tracker = context.client.operating  # paced from 80 % of its limit
    tracker.refresh = 0.0  # read Redis each time, not this process's copy of a second ago
    key = ClientKeys(redis_namespace).operating(context.client.portal, "crm.entity.mergebatch")

    async def state(**fields: float) -> tuple[float, int]:
        await redis_client.delete(key)
        await redis_client.hset(key, mapping=fields)  # type: ignore[misc]
        return await budget._state()

    now = time.time()
    assert await state(operating=100, reset_at=now + 300, cost=2) == (0.0, 25)  # far
    # 60 s of the budget left: paced, a turn every 300 × 2 / 60 = 10 s; the client waits
    # at most 30 s for a turn, so 2 merges under way get theirs (24 s of patience).
    spent = tracker.limit - 60
    assert (await state(operating=spent, reset_at=now + 300, cost=2))[1] == 2
    # The same with merges of 0.5 s: a turn every 2.5 s, 9 fit.
    assert (await state(operating=spent, reset_at=now + 300, cost=0.5))[1] == 9
    paused, allowed = await state(
        operating=480, reset_at=now + 300, cost=2, blocked_until=now + 100
    )
    assert 99 < paused <= 100 and allowed == 1  # paused: none goes until then
    # The window's oldest minute has left it since the portal said most was spent:
    # how much is free is unknown, so one merge asks; with little spent, all go.
    assert await state(operating=spent, reset_at=now - 1, cost=2) == (0.0, 1)
    assert await state(operating=100, reset_at=now - 1, cost=2) == (0.0, 25)
    await context.client.close()

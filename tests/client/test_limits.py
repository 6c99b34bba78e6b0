"""The portal's limits: a rate shared by processes, cool-downs, the operating limit."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from b24.client import Answer, OperatingLimit, RateLimited
from b24.client.keys import ClientKeys
from b24.client.limiter import RateLimiter
from b24.emulator.server import RunningEmulator
from tests.client.conftest import MakeClient, contact, control, stats
from tests.conftest import REDIS_URL, StartEmulator

LOAD_PROCESS = Path(__file__).with_name("load_process.py")
ROOT = Path(__file__).parents[2]


async def run_processes(
    emulator: RunningEmulator,
    redis_client: aioredis.Redis,
    namespace: str,
    *,
    prefixes: list[str],
    calls: int,
) -> list[dict[str, Any]]:
    """Start one load process per prefix, release them together, collect their reports."""
    ready, go = f"{namespace}barrier:ready", f"{namespace}barrier:go"
    env = {**os.environ, "B24_WEBHOOK_URL": emulator.webhook_url, "PYTHONPATH": str(ROOT)}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(LOAD_PROCESS),
            "--redis-url", REDIS_URL, "--prefix", prefix, "--ready-key", ready,
            "--go-key", go, "--calls", str(calls),
            "--rps", str(emulator.config.rps), "--burst", str(emulator.config.burst),
            stdout=asyncio.subprocess.PIPE, env=env,
        )
        for prefix in prefixes
    ]  # fmt: skip
    try:
        for _ in range(600):  # up to 60 s for the processes to start
            if await redis_client.llen(ready) == len(processes):
                break
            await asyncio.sleep(0.1)
        await redis_client.rpush(go, *["go"] * len(processes))
        outputs = [await asyncio.wait_for(p.communicate(), 120) for p in processes]
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    return [json.loads(stdout.decode().strip().splitlines()[-1]) for stdout, _ in outputs]


async def test_two_processes_share_the_portal_limit(
    start_emulator: StartEmulator,
    redis_client: aioredis.Redis,
    redis_namespace: str,
    http: aiohttp.ClientSession,
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=10.0, burst=5)
    reports = await run_processes(
        emulator, redis_client, redis_namespace, prefixes=[redis_namespace] * 2, calls=12
    )
    assert reports == [{"calls": 12, "errors": []}] * 2
    after = await stats(http, emulator)
    assert after["http_requests"] == 24
    assert "QUERY_LIMIT_EXCEEDED" not in after["refusals"]


async def test_without_a_shared_limiter_the_same_load_is_refused(
    start_emulator: StartEmulator,
    redis_client: aioredis.Redis,
    redis_namespace: str,
    http: aiohttp.ClientSession,
) -> None:
    # The control for the test above: each process with a bucket of its own.
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=10.0, burst=5)
    prefixes = [f"{redis_namespace}p1:", f"{redis_namespace}p2:"]
    reports = await run_processes(
        emulator, redis_client, redis_namespace, prefixes=prefixes, calls=12
    )
    assert reports == [{"calls": 12, "errors": []}] * 2  # they recover, but only after refusals
    assert (await stats(http, emulator))["refusals"].get("QUERY_LIMIT_EXCEEDED", 0) > 0


async def test_a_full_bucket_makes_callers_wait_instead_of_being_refused(
    redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    limiter = RateLimiter(
        redis_client, ClientKeys(redis_namespace), "portal.example", rate=50.0, burst=6, headroom=1,
        cooldown_base=0.05, cooldown_max=0.5, cooldown_quiet=1.0,
    )  # fmt: skip
    waits = [await limiter.acquire() for _ in range(8)]
    assert waits[:5] == [0.0] * 5  # the bucket holds burst less headroom
    assert all(wait > 0 for wait in waits[5:])


async def test_refusals_escalate_a_portal_wide_cool_down(
    redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    keys = ClientKeys(redis_namespace)
    settings: dict[str, Any] = {
        "rate": 1000.0, "burst": 10, "headroom": 1,
        "cooldown_base": 0.02, "cooldown_max": 1.0, "cooldown_quiet": 5.0,
    }  # fmt: skip
    one, other = (RateLimiter(redis_client, keys, "portal.example", **settings) for _ in "ab")
    await one.refused()
    assert await other.refused() > 0  # sent before the pause began: it changes nothing
    assert await redis_client.hget(keys.cooldown("portal.example"), "strikes") == b"1"
    await other.acquire()  # waits out the pause
    await one.refused()
    assert await redis_client.hget(keys.cooldown("portal.example"), "strikes") == b"2"


async def test_recovery_from_a_query_limit_storm(
    start_emulator: StartEmulator,
    make_client: MakeClient,
    redis_client: aioredis.Redis,
    redis_namespace: str,
    http: aiohttp.ClientSession,
) -> None:
    seed = {"contacts": [contact(f"N{i}") for i in range(30)]}
    emulator = await start_emulator(seed=seed, rps=50.0, burst=20)
    client = make_client(emulator)
    # Other apps on the portal's address fill its bucket four times in a row.
    await control(http, emulator, "faults", {"next": {"query_limit": 4}})

    records = await asyncio.gather(
        *(client.call("crm.contact.get", {"id": i}) for i in range(1, 31))
    )
    assert [record["ID"] for record in records] == [str(i) for i in range(1, 31)]
    after = await stats(http, emulator)
    assert after["refusals"] == {"QUERY_LIMIT_EXCEEDED": 4}
    # One batch, refused four times and sent again after ever longer pauses.
    assert after["http_requests"] == 5
    strikes = await redis_client.hget(
        ClientKeys(redis_namespace).cooldown(client.portal), "strikes"
    )
    assert strikes == b"4"


async def test_a_storm_window_passes_and_every_caller_is_answered(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=50.0, burst=20)
    client = make_client(emulator, max_batch_commands=5)
    storm = {"kind": "query_limit", "after": 0, "duration": 0.5, "rate": 1.0}
    await control(http, emulator, "faults", {"schedule": [storm]})

    records = await asyncio.gather(*(client.call("crm.contact.get", {"id": 1}) for _ in range(40)))
    assert len(records) == 40
    after = await stats(http, emulator)
    assert after["refusals"].get("QUERY_LIMIT_EXCEEDED", 0) >= 1
    assert after["commands"] == {"crm.contact.get": 40}


async def test_refusals_past_the_retries_reach_the_caller(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=50.0, burst=20)
    client = make_client(emulator, refusal_retries=2)
    await control(http, emulator, "faults", {"next": {"query_limit": 5}})

    with pytest.raises(RateLimited):
        await client.call("crm.contact.get", {"id": 1})
    assert (await stats(http, emulator))["http_requests"] == 3


FINDBYCOMM = "crm.duplicate.findbycomm"
PHONE = {"type": "PHONE", "values": ["+79991234567"]}


async def portal_with_budget(
    start_emulator: StartEmulator, *, limit: float, window: float
) -> RunningEmulator:
    """One contact with a phone; an operating budget of ``limit`` s in ``window`` s."""
    return await start_emulator(
        seed={"contacts": [contact("A", "+79991234567")]},
        rps=1000.0, burst=1000, operating_limit=limit, operating_window=window,
    )  # fmt: skip


async def test_a_method_past_its_operating_limit_pauses_alone(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await portal_with_budget(start_emulator, limit=1.0, window=4.0)
    impatient = make_client(emulator, operating_limit=1.0, operating_max_wait=0.0)
    assert await impatient.call(FINDBYCOMM, PHONE) == {"CONTACT": [1]}
    await control(http, emulator, "operating", {"method": FINDBYCOMM, "seconds": 5.0})

    # In one batch: findbycomm is refused, the reads beside it are answered.
    outcomes = await asyncio.gather(
        impatient.call(FINDBYCOMM, PHONE),
        *(impatient.call("crm.contact.get", {"id": 1}) for _ in range(5)),
        return_exceptions=True,
    )
    refused = outcomes[0]
    assert isinstance(refused, OperatingLimit) and refused.method == FINDBYCOMM
    assert refused.reset_at is not None and refused.reset_at > time.time()
    assert [record["ID"] for record in outcomes[1:]] == ["1"] * 5  # type: ignore[index]
    before = await stats(http, emulator)
    assert before["command_errors"] == {"OPERATION_TIME_LIMIT": 1}

    # Paused: findbycomm is not even sent, other methods go on.
    with pytest.raises(OperatingLimit):
        await impatient.call(FINDBYCOMM, PHONE)
    assert (await impatient.call("crm.contact.get", {"id": 1}))["ID"] == "1"
    after = await stats(http, emulator)
    assert after["http_requests"] == before["http_requests"] + 1
    assert after["commands"][FINDBYCOMM] == before["commands"][FINDBYCOMM]

    # A patient caller (another client: the pause is shared) waits for the reset.
    patient = make_client(
        emulator, operating_limit=1.0, operating_max_wait=30.0, operating_fallback=0.5
    )
    async with asyncio.timeout(60):
        assert await patient.call(FINDBYCOMM, PHONE) == {"CONTACT": [1]}


async def test_a_method_near_its_budget_is_slowed(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await portal_with_budget(start_emulator, limit=10.0, window=600.0)
    client = make_client(emulator, operating_limit=10.0, operating_max_wait=0.0)
    await control(http, emulator, "operating", {"method": FINDBYCOMM, "seconds": 9.0})

    # The first answer tells the client 9 of 10 s are spent: one call per ~12 s is left.
    assert isinstance(await client.answer(FINDBYCOMM, PHONE), Answer)
    assert isinstance(await client.answer(FINDBYCOMM, PHONE), Answer)
    with pytest.raises(OperatingLimit) as raised:
        await client.call(FINDBYCOMM, PHONE)
    assert "slowed" in str(raised.value)
    assert (await client.call("crm.contact.get", {"id": 1}))["ID"] == "1"
    assert (await stats(http, emulator))["commands"][FINDBYCOMM] == 2

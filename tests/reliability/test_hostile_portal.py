"""The portal turns hostile: refusals, errors, dropped connections, answers too late.

Transient faults each get a window of their own (and its first few requests for
sure): bursts of ``QUERY_LIMIT_EXCEEDED``, ``INTERNAL_SERVER_ERROR``, connections
closed unanswered, answers later than the client's read timeout
(``B24_READ_TIMEOUT_SECONDS`` lowered to 1 s). The service slows down and resumes;
nothing is lost, nothing done twice.

``OPERATION_TIME_LIMIT`` on findbycomm pauses that method alone, and the jobs that
need it wait in the queue. ``OVERLOAD_LIMIT`` is a manual block that no retry lifts:
work stops with a CRITICAL alert and the portal hears (almost) nothing while it
lasts. Both pauses last a minute or more; ``make test`` checks that work stopped and
every job waits, ``make soak`` also that everything resumes and completes.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from b24_dedupe.portal import client_from_settings
from tests.reliability.conftest import Cluster, RunLength, StartCluster, drive, elapsed
from worker.jobs import HALT_SECONDS

PHASE_SECONDS = 1.5
# QUERY_LIMIT_EXCEEDED last: the cool-downs it starts would keep the others from hitting.
FAULT_KINDS = ("internal_error", "drop", "latency", "query_limit")
BLOCK_SECONDS = 2.0  # how long the short versions watch a blocked service


async def hostile_phases(cluster: Cluster, seconds: float) -> int:
    """One window per kind of fault, repeated for ``seconds``; answers the cycles.

    A window lasts PHASE_SECONDS and at least until its kind has hit three requests
    (bounded: 10 s).
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    cycles = 0
    while cycles == 0 or loop.time() < end:
        for kind in FAULT_KINDS:
            await cluster.control(
                "/_emulator/faults",
                {
                    "next": {kind: 3},
                    "schedule": [{"kind": kind, "duration": PHASE_SECONDS, "rate": 0.3}],
                    "latency_seconds": 1.5,
                },
            )
            await asyncio.sleep(PHASE_SECONDS)
            for _ in range(100):
                if not (await cluster.control("/_emulator/faults"))["next"]:
                    break
                await asyncio.sleep(0.1)
        cycles += 1
    await cluster.control("/_emulator/faults", method="DELETE")
    return cycles


async def test_transient_faults_slow_the_service_down_and_lose_nothing(
    start_cluster: StartCluster, run_length: RunLength, figures: dict[str, Any]
) -> None:
    started = time.monotonic()
    cluster = await start_cluster(workers=2, b24_read_timeout_seconds=1.0)
    client = client_from_settings(cluster.settings(), cluster.redis)
    assert client.config.read_timeout == 1.0  # B24_READ_TIMEOUT_SECONDS reaches the client
    await client.close()
    user = cluster.user(seed=21)
    seconds = run_length.seconds(short=PHASE_SECONDS * len(FAULT_KINDS))
    steps, cycles = await asyncio.gather(
        drive(user, seconds, per_second=6), hostile_phases(cluster, seconds)
    )
    findings = await cluster.finish(user)
    stats = await cluster.control("/_emulator/stats")
    faults = {
        "QUERY_LIMIT_EXCEEDED": stats["refusals"].get("QUERY_LIMIT_EXCEEDED", 0),
        "INTERNAL_SERVER_ERROR": stats["refusals"].get("INTERNAL_SERVER_ERROR", 0),
        "dropped_connections": stats["dropped_connections"],
        "answers_past_the_read_timeout": sum(
            w.output().count("read timeout") for w in cluster.workers
        ),
    }
    figures.update(
        seconds=elapsed(started),
        cycles=cycles,
        user_actions=steps,
        events_accepted=cluster.accepted().count,
        portal_requests=stats["http_requests"],
        faults=faults,
        merges=findings.merges,
        decisions=findings.decisions,
        records_checked=findings.records_checked,
        **findings.counts(),
    )
    assert findings.problems == [], "\n".join(findings.problems)
    assert all(faults.values()), faults


async def test_a_job_that_runs_out_of_time_is_retried_not_dropped(
    start_cluster: StartCluster,
) -> None:
    # Every answer comes after the client gave up on it: a job cannot finish within
    # JOB_TIMEOUT_SECONDS. arq drops a job past its timeout as failed; the record's
    # event must not go with it.
    cluster = await start_cluster(workers=1, job_timeout_seconds=2, b24_read_timeout_seconds=1.0)
    await cluster.control("/_emulator/faults", {"rates": {"latency": 1.0}, "latency_seconds": 1.5})
    user = cluster.user(seed=22)
    user.new_customer()
    for _ in range(100):  # bounded: 10 s for the first try to run out of time
        if any("TimeoutError" in w.output() for w in cluster.workers):
            break
        await asyncio.sleep(0.1)
    await cluster.control("/_emulator/faults", method="DELETE")
    findings = await cluster.finish(user)
    assert findings.problems == [], "\n".join(findings.problems)


async def requests_while(cluster: Cluster, seconds: float) -> dict[str, int]:
    """The portal's HTTP requests, and commands by method, during ``seconds``."""
    before = await cluster.control("/_emulator/stats")
    await asyncio.sleep(seconds)
    after = await cluster.control("/_emulator/stats")
    counts = {
        method: n - before["commands"].get(method, 0)
        for method, n in after["commands"].items()
        if n > before["commands"].get(method, 0)
    }
    return {"http_requests": after["http_requests"] - before["http_requests"], **counts}


async def test_operating_limit_on_one_method_pauses_it_alone(
    start_cluster: StartCluster, run_length: RunLength, figures: dict[str, Any]
) -> None:
    started = time.monotonic()
    # The budget is kept over a minute here rather than ten: the pause ends sooner.
    cluster = await start_cluster(workers=2, emulator={"operating_window": 60.0})
    spent = await cluster.control(
        "/_emulator/operating", {"method": "crm.duplicate.findbycomm", "seconds": 480}
    )
    user = cluster.user(seed=23)
    steps, during = await asyncio.gather(
        drive(user, BLOCK_SECONDS, per_second=6), requests_while(cluster, BLOCK_SECONDS)
    )
    stats = await cluster.control("/_emulator/stats")
    refused = stats["refusals"].get("OPERATION_TIME_LIMIT", 0) + stats["command_errors"].get(
        "OPERATION_TIME_LIMIT", 0
    )
    # The first refusal pauses findbycomm for every process (the pause is in Redis):
    # a few requests were under way, then none; records are still read meanwhile.
    assert 0 < refused <= len(cluster.workers) * 2, refused
    assert during.get("crm.contact.get", 0) > 0, during
    findings = await cluster.finish(user, settled=False)
    assert findings.problems == [], "\n".join(findings.problems)
    waiting = len(await cluster.waiting_records())
    assert waiting > 0
    if run_length.soak:
        # The pause ends at the portal's reset time (a minute here): then all goes on.
        await cluster.settle(within=spent["operating_reset_at"] - time.time() + 120)
        findings = await cluster.finish(user)
        assert findings.problems == [], "\n".join(findings.problems)
    figures.update(
        seconds=elapsed(started),
        user_actions=steps,
        operating_limit_refusals=refused,
        jobs_waiting_for_the_method=waiting,
        commands_while_paused=during,
        merges=findings.merges,
        records_checked=findings.records_checked,
        **findings.counts(),
    )


async def test_overload_limit_stops_work_with_one_alert_not_a_retry_storm(
    start_cluster: StartCluster, run_length: RunLength, figures: dict[str, Any]
) -> None:
    started = time.monotonic()
    cluster = await start_cluster(workers=2)
    user = cluster.user(seed=24)
    await cluster.control("/_emulator/faults", {"rates": {"overload": 1.0}})
    user.new_customer()
    alerts: list[dict[str, Any]] = []
    for _ in range(200):  # bounded: 20 s for a job to meet the block
        alerts = [
            json.loads(line)
            for w in cluster.workers
            for line in w.output().splitlines()
            if '"CRITICAL"' in line
        ]
        if alerts:
            break
        await asyncio.sleep(0.1)
    assert alerts and "all jobs halted" in alerts[0]["msg"], alerts
    assert "OVERLOAD_LIMIT" in alerts[0]["detail"]
    await asyncio.sleep(1.0)  # requests already under way come back refused
    # More changes come in while blocked: their jobs wait without asking the portal.
    steps, during = await asyncio.gather(
        drive(user, BLOCK_SECONDS, per_second=6), requests_while(cluster, BLOCK_SECONDS)
    )
    # A periodic scan may run into the block once; jobs do not.
    assert during["http_requests"] <= 1, during
    findings = await cluster.finish(user, settled=False)
    assert findings.problems == [], "\n".join(findings.problems)
    waiting = len(await cluster.waiting_records())
    assert waiting > 0
    if run_length.soak:
        # Support lifts the block; the halt ends by itself and everything completes.
        await cluster.control("/_emulator/faults", method="DELETE")
        await cluster.settle(within=HALT_SECONDS + 120)
        findings = await cluster.finish(user)
        assert findings.problems == [], "\n".join(findings.problems)
    stats = await cluster.control("/_emulator/stats")
    figures.update(
        seconds=elapsed(started),
        user_actions=steps,
        critical_alerts=len(alerts),
        overload_refusals=stats["refusals"].get("OVERLOAD_LIMIT", 0),
        requests_while_blocked=during["http_requests"],
        jobs_waiting_for_the_block=waiting,
        merges=findings.merges,
        records_checked=findings.records_checked,
        **findings.counts(),
    )

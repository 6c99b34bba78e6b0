"""Workers killed with SIGKILL at random moments, mid-merge too, and restarted.

Merges take 0.25 s of real time on the portal, so kills land between the audit
entry and the answer: some merges happened and their answer was lost, some were
never sent. Afterwards nothing may be missing, doubled or unexplained.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

from b24.emulator.fields import ENTITY_TYPES
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision, Outcome
from tests.reliability.conftest import Cluster, RunLength, StartCluster, drive, elapsed

# A merge takes 0.25 s of real time: kills land in it. (A soak's two merges a second
# then spend 300 s of mergeBatch's 480 s in ten minutes: the budget holds.)
SLOW_MERGES = {
    "realtime": True,
    "method_times": {"crm.entity.mergebatch": 0.25, "crm.duplicate.findbycomm": 0.005},
}


async def kill_workers(cluster: Cluster, rng: random.Random, seconds: float) -> dict[str, int]:
    """Kill a worker every 0.3-1.5 s; while a merge is under way, every worker at once."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    counts = {"kills": 0, "kills_of_every_worker_during_a_merge": 0}
    while loop.time() < end:
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        running = [w for w in cluster.workers if w.running]
        if not running:
            continue
        # A merge begun within the last second is most likely still under way.
        merging = await cluster.redis.zcount(cluster.keys.audit_pending, time.time() - 1, "+inf")
        victims = running if merging else [rng.choice(running)]
        for victim in victims:
            await victim.kill()
        counts["kills"] += len(victims)
        counts["kills_of_every_worker_during_a_merge"] += 1 if merging else 0
    return counts


async def test_workers_killed_at_random_moments_lose_and_double_nothing(
    start_cluster: StartCluster, run_length: RunLength, figures: dict[str, object]
) -> None:
    started = time.monotonic()
    seconds = run_length.seconds(short=6)
    cluster = await start_cluster(workers=3, emulator=SLOW_MERGES, job_timeout_seconds=3)
    user = cluster.user(seed=8)
    rng = random.Random(8)
    # Kills stop before the user does: a killed job comes back once arq's in-progress
    # mark of it expires (JOB_TIMEOUT_SECONDS + 10 s), while the user goes on.
    steps, kills = await asyncio.gather(
        drive(user, seconds, per_second=8), kill_workers(cluster, rng, seconds * 0.5)
    )
    findings = await cluster.finish(user)
    interrupted = Counter(
        e.outcome["status"]
        for e in await cluster.audit()
        if str(e.outcome.get("verified", "")).startswith("interrupted")
    )
    figures.update(
        seconds=elapsed(started),
        user_actions=steps,
        events_accepted=cluster.accepted().count,
        worker_restarts=cluster.worker_restarts,
        merges=findings.merges,
        deleted_by_merges=findings.deleted_by_merges,
        records_checked=findings.records_checked,
        decisions=findings.decisions,
        interrupted_merges=dict(interrupted),
        **findings.counts(),
        **kills,
    )
    assert findings.problems == [], "\n".join(findings.problems)
    assert kills["kills"] > 0 and findings.merges > 0


async def wait_for_a_merge_under_way(cluster: Cluster) -> None:
    for _ in range(300):  # bounded: 30 s
        if await cluster.redis.zcard(cluster.keys.audit_pending):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no merge began")


async def test_a_killed_workers_locks_last_no_longer_than_a_job_may_run(
    start_cluster: StartCluster,
) -> None:
    # A lock that outlives its dead worker only holds the next merge back: while it
    # lasts, every job touching those values is deferred. A job cannot run longer
    # than JOB_TIMEOUT_SECONDS, so neither need its locks.
    cluster = await start_cluster(
        workers=1, emulator={**SLOW_MERGES, "method_times": {"crm.entity.mergebatch": 1.5}}
    )
    user = cluster.user(seed=1)
    customer = user.new_customer()
    user.duplicate(customer)
    await wait_for_a_merge_under_way(cluster)
    cluster.supervise = False
    await cluster.workers[0].kill()
    locks = [key async for key in cluster.redis.scan_iter(match=cluster.keys.lock("*"))]
    assert locks
    job_timeout_ms = float(cluster.environment["JOB_TIMEOUT_SECONDS"]) * 1000
    lasting = [await cluster.redis.pttl(key) for key in locks]
    assert all(0 < ms <= job_timeout_ms for ms in lasting), lasting


async def test_a_merge_never_sent_by_a_dead_worker_is_not_claimed_when_another_job_merges(
    start_cluster: StartCluster,
) -> None:
    # A worker wrote its pending entry for [a, b] and died before mergeBatch left it.
    # Another job merges a and b later. Re-read, the group looks merged either way:
    # only one of the two entries may say it deleted b.
    cluster = await start_cluster(workers=1)
    await cluster.control("/_emulator/events", {"enabled": False})
    user = cluster.user(seed=2)
    customer = user.new_customer()
    b = user.duplicate(customer)
    a = customer.records[0]
    portal, kind = cluster.emulator.engine.portal, ENTITY_TYPES[customer.entity]
    dead = AuditEntry(
        customer.entity,
        b,
        Decision.PENDING,
        "same identity, shared values",
        at=time.time() - 60,
        group=[a, b],
        survivor=a,
        snapshots={str(i): portal.get(kind, i) for i in (a, b)},
        outcome={"status": Outcome.PENDING},
    )
    await AuditLog(cluster.redis, cluster.keys).write(dead)
    await cluster.control("/_emulator/events", {"enabled": True})
    user._edit(customer)  # an event: the service merges a and b
    findings = await cluster.finish(user)
    assert findings.problems == [], "\n".join(findings.problems)
    assert findings.merges == 1 and findings.deleted_by_merges == 1
    reconciled = await AuditLog(cluster.redis, cluster.keys).get(dead.id)
    assert reconciled is not None and reconciled.outcome["status"] == Outcome.NOT_SENT

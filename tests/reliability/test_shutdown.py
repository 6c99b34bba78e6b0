"""Graceful shutdown: SIGTERM to workers and to the ingress while work is under way.

A worker on SIGTERM cancels its running jobs, and arq hands each back to the queue
(another worker runs it again); a merge cut off that way is completed by the
reconciliation. The ingress on SIGTERM stops listening and answers the requests it
has (aiohttp's graceful shutdown), so it acknowledges nothing it did not store.
Events the portal sends while it is down are refused, and only the periodic scan
finds those changes (Bitrix24 does not resend). Afterwards nothing accepted is lost.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from typing import Any

from tests.reliability.conftest import Cluster, RunLength, StartCluster, drive, elapsed
from tests.reliability.test_kills import SLOW_MERGES


async def terminate_now_and_then(cluster: Cluster, seconds: float) -> dict[str, Any]:
    """SIGTERM a worker or the ingress every 0.5-1.5 s; the ingress is started again."""
    rng = random.Random(41)
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    counts: dict[str, Any] = {"worker_sigterms": 0, "ingress_sigterms": 0, "ingress_exits": []}
    while loop.time() < end:
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        if rng.random() < 0.3:
            counts["ingress_exits"].append(await cluster.ingress.stop())
            counts["ingress_sigterms"] += 1
            await cluster.start_ingress()
        else:
            running = [w for w in cluster.workers if w.running]
            if running:
                rng.choice(running).send(signal.SIGTERM)
                counts["worker_sigterms"] += 1
    return counts


async def test_sigterm_hands_work_back_and_loses_nothing_accepted(
    start_cluster: StartCluster, run_length: RunLength, figures: dict[str, Any]
) -> None:
    started = time.monotonic()
    cluster = await start_cluster(workers=2, emulator=SLOW_MERGES, scan_interval_seconds=10)
    assert await cluster.scan() == {}  # watermarks, for the changes the ingress missed
    user = cluster.user(seed=41)
    seconds = run_length.seconds(short=4)
    steps, counts = await asyncio.gather(
        drive(user, seconds, per_second=8), terminate_now_and_then(cluster, seconds)
    )
    # First without the scan, so that it cannot make up for an accepted event lost:
    # only duplicates whose events the portal could not deliver may be left.
    findings = await cluster.finish(user)
    unseen = await cluster.unseen_changes()
    problems = [p for p in findings.problems if "safe duplicate left" not in p]
    assert problems == [], "\n".join(problems)
    stats = await cluster.control("/_emulator/stats")
    assert cluster.accepted().count == stats["events"]["sent"]  # every 200 was stored
    rescued = await cluster.scan()
    findings = await cluster.finish(user)
    assert findings.problems == [], "\n".join(findings.problems)
    assert await cluster.unseen_changes() == set()
    # 0: a graceful exit. -SIGTERM: the signal came before arq installed its handlers,
    # while the process was still starting (with no job to lose).
    exits = cluster.worker_exits
    assert set(exits) <= {0, -signal.SIGTERM} and 0 in exits, exits
    assert set(counts["ingress_exits"]) <= {0, -signal.SIGTERM}, counts
    figures.update(
        seconds=elapsed(started),
        user_actions=steps,
        worker_sigterms=counts["worker_sigterms"],
        worker_exits_while_starting=exits.count(-signal.SIGTERM),
        ingress_sigterms=counts["ingress_sigterms"],
        events_accepted=cluster.accepted().count,
        events_refused_while_the_ingress_restarted=stats["events"]["failed"],
        changes_unseen_before_the_scan=len(unseen),
        enqueued_by_the_scan=sum(rescued.values()),
        merges=findings.merges,
        decisions=findings.decisions,
        records_checked=findings.records_checked,
        **findings.counts(),
    )

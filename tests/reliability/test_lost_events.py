"""Events lost before they reach us: the portal's delivery is switched off for a while.

Bitrix24 never resends an event, so the changes made meanwhile reach the service
only through the periodic recovery scan (records modified since its watermark that
no job has read at that DATE_MODIFY). ``make test`` runs the scan's pass directly;
``make soak`` leaves it to the workers' own cron job (SCAN_INTERVAL_SECONDS=10, run
at each minute).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.reliability.conftest import Cluster, RunLength, StartCluster, drive, elapsed
from tests.reliability.portal_user import PortalUser


async def events_lost_for(cluster: Cluster, user: PortalUser, seconds: float) -> set[Any]:
    """The user works while the portal loses every event; answers what changed."""
    await cluster.control("/_emulator/events", {"enabled": False})
    since = time.time()
    await drive(user, seconds, per_second=8)
    await cluster.control("/_emulator/events", {"enabled": True})
    return {key for key, at in cluster.changes.changed.items() if at >= since}


async def test_changes_whose_events_were_lost_are_found_by_the_scan(
    start_cluster: StartCluster, run_length: RunLength, figures: dict[str, Any]
) -> None:
    started = time.monotonic()
    cluster = await start_cluster(workers=2, scan_interval_seconds=10)
    assert await cluster.scan() == {}  # the first pass sets the watermarks
    user = cluster.user(seed=31)
    loop = asyncio.get_running_loop()
    end = loop.time() + run_length.seconds(short=0)
    gaps = 0
    changed_unseen: set[tuple[str, int]] = set()
    found = 0
    while gaps == 0 or loop.time() < end:
        await drive(user, 0.5, per_second=8)
        changed = await events_lost_for(cluster, user, 1.5)
        await drive(user, 0.5, per_second=8)
        await cluster.settle()
        unseen = await cluster.unseen_changes(changed)
        assert unseen, "no change went unseen: the events were not lost"
        changed_unseen |= unseen
        if run_length.soak:
            # The workers' cron job finds them (at the next minute, at the latest).
            for _ in range(900):  # bounded: 90 s
                if not await cluster.unseen_changes(unseen):
                    break
                await asyncio.sleep(0.1)
        else:
            found += sum((await cluster.scan()).values())
        await cluster.settle()
        assert await cluster.unseen_changes(unseen) == set()
        gaps += 1
    findings = await cluster.finish(user)
    stats = await cluster.control("/_emulator/stats")
    figures.update(
        seconds=elapsed(started),
        gaps_without_events=gaps,
        events_lost=stats["events"]["suppressed"],
        records_changed_unseen=len(changed_unseen),
        enqueued_by_direct_scan=found,
        events_accepted=cluster.accepted().count,
        merges=findings.merges,
        records_checked=findings.records_checked,
        **findings.counts(),
    )
    assert findings.problems == [], "\n".join(findings.problems)

"""Redis goes away mid-run (killed, or stopped) and comes back from its append-only file.

While it is gone the ingress answers 503 (Bitrix24 does not resend: the periodic
scan is what finds those changes, see test_lost_events), and ``/readyz`` says so;
it recovers by itself. Workers lose their connection, hand their jobs back and wait
for Redis in the same process (worker/loop.py); should one exit, the supervisor
restarts it as compose's ``restart: unless-stopped`` does. No job accepted before the
restart is lost.
"""

from __future__ import annotations

import asyncio
import signal
import time

from tests.reliability.conftest import RunLength, StartCluster, drive, elapsed

GONE_SECONDS = 1.5


async def test_redis_restarted_mid_run_loses_no_accepted_job(
    start_cluster: StartCluster, run_length: RunLength, figures: dict[str, object]
) -> None:
    started = time.monotonic()
    cluster = await start_cluster(workers=2, job_timeout_seconds=3)
    user = cluster.user(seed=11)
    loop = asyncio.get_running_loop()
    end = loop.time() + run_length.seconds(short=0)
    outages = 0
    answers: dict[str, int] = {}
    while outages == 0 or loop.time() < end:
        await drive(user, 1.0, per_second=10)
        # Down with jobs waiting and running: SIGKILL (a crash) or SIGTERM (a restart).
        queued = await cluster.busy_jobs()
        how = signal.SIGKILL if outages % 2 == 0 else signal.SIGTERM
        cluster.redis_server.process.send(how)
        await cluster.redis_server.process.wait(15)
        outages += 1
        gone_until = loop.time() + GONE_SECONDS
        while loop.time() < gone_until:
            for status in (
                await cluster.ready(),
                await cluster.post_event("ONCRMCONTACTUPDATE", 1),
            ):
                answers[str(status)] = answers.get(str(status), 0) + 1
            await asyncio.sleep(0.1)
        await cluster.redis_server.start()
        for _ in range(100):  # bounded: the ingress reconnects on its next command
            if await cluster.ready() == 200:
                break
            await asyncio.sleep(0.1)
        assert await cluster.post_event("ONCRMCONTACTUPDATE", 1) == 200
        figures.setdefault("jobs_waiting_when_redis_went", []).append(queued)  # type: ignore[attr-defined]
    await drive(user, 1.0, per_second=10)
    findings = await cluster.finish(user)
    figures.update(
        seconds=elapsed(started),
        redis_outages=outages,
        answers_while_redis_was_gone=answers,
        worker_exits=len(cluster.worker_exits),
        worker_exit_codes=sorted(set(cluster.worker_exits), key=str),
        events_accepted=cluster.accepted().count,
        merges=findings.merges,
        records_checked=findings.records_checked,
        **findings.counts(),
    )
    assert set(answers) == {"503"}, answers
    assert findings.problems == [], "\n".join(findings.problems)

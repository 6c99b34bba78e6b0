"""Events lost before they reach us: the periodic scan finds the changed records."""

from __future__ import annotations

from arq.worker import Worker as ArqWorker

from b24_dedupe.decisions import Decision
from b24_dedupe.settings import Settings
from tests.worker.conftest import StartStack
from worker.app import recovery_scan, worker_options
from worker.jobs import DEDUPE_CONTEXT


async def test_changes_without_events_are_found_by_the_scan(start_stack: StartStack) -> None:
    seed = {"contacts": [{"ID": 1, "NAME": "Old", "DATE_MODIFY": "2025-01-01T00:00:00+03:00"}]}
    stack = await start_stack(seed=seed, scan_interval_seconds=10)
    ctx = stack.arq.ctx
    assert await recovery_scan(ctx) == "watermarks set"  # first pass: from now on
    await stack.redis.delete(stack.keys.scan_last_run)
    async with stack.http.post(
        stack.emulator.root + "/_emulator/events", json={"enabled": False}
    ) as response:
        assert response.status == 200
    a = await stack.add("CONTACT", NAME="Quiet", PHONE=["+7 903 600-00-01"])
    b = await stack.add("CONTACT", NAME="Quiet", PHONE=["8 903 600 00 01"])
    await stack.settle()
    assert await stack.audit.latest() == []  # no event reached us
    outcome = await recovery_scan(ctx)
    # the two new ones, and the one at the watermark itself (the bound is inclusive, so
    # that nothing changed in the watermark's own second is missed)
    assert "CONTACT: 3 enqueued" in outcome
    await stack.settle()
    assert set(stack.emulator.engine.portal.records["CONTACT"]) == {1, a}
    merges = [e for e in await stack.decisions("CONTACT", a) if e.decision == Decision.MERGED]
    assert [e.outcome["deleted"] for e in merges] == [[b]]
    # Not due again before the interval has passed; and nothing new to find then.
    assert await recovery_scan(ctx) == "not due"
    assert ctx[DEDUPE_CONTEXT].keys.prefix == stack.keys.prefix


def test_a_killed_workers_jobs_come_back_job_timeout_plus_10_s_later() -> None:
    # arq marks a job in progress for the longest timeout of all its functions, cron
    # jobs included, + 10 s: a recovery scan allowed 300 s held every job a killed
    # worker had taken for 310 s (the fault suite's kill test caught it).
    options = worker_options(Settings(job_timeout_seconds=3, scan_interval_seconds=120))
    # Every cron job (the recovery scan, the daily audit prune) within JOB_TIMEOUT_SECONDS.
    assert {c.timeout_s for c in options["cron_jobs"]} == {3}
    assert len(options["cron_jobs"]) == 2
    assert ArqWorker(**options, handle_signals=False).in_progress_timeout_s == 13

"""``b24-dedupe audit``: filtering by decision and outcome, one record's entries newest
first (issue 9), and the retention: ``audit prune`` and the worker's daily prune (15)."""

from __future__ import annotations

import asyncio
import json
import time

import redis.asyncio as aioredis

from b24_dedupe.audit import AuditEntry, AuditLog, retention_class
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from tests.admin.conftest import RunCli, cli_env
from tests.conftest import REDIS_URL
from worker.app import build_context, worker_options
from worker.jobs import DEDUPE_CONTEXT, SETTINGS
from worker.upkeep import PRUNE_HOUR, PRUNE_MINUTE, prune_audit

DAY = 86_400.0


def _entry(
    entity_id: int,
    decision: Decision,
    at: float,
    status: Outcome | None = None,
    group: list[int] | None = None,
    snapshots: dict[str, dict[str, object]] | None = None,
) -> AuditEntry:
    return AuditEntry(
        "CONTACT",
        entity_id,
        decision,
        f"{decision} {entity_id}",
        at=at,
        outcome={"status": status} if status else {},
        group=group or [],
        snapshots=snapshots or {},
    )


async def test_audit_filters_by_decision_and_outcome_and_lists_a_record_newest_first(
    run_cli: RunCli, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    audit = AuditLog(redis_client, Keys(redis_namespace))
    now = time.time()
    written = [
        _entry(12, Decision.NO_MERGE, now - 50),
        _entry(12, Decision.MERGED, now - 40, Outcome.SUCCESS, group=[12, 34]),
        _entry(34, Decision.CONFLICT, now - 30, Outcome.CONFLICT, group=[12, 34]),
        _entry(56, Decision.ERROR, now - 20, Outcome.ERROR),
        _entry(12, Decision.SKIPPED, now - 10),
    ]
    for entry in written:
        await audit.write(entry)
    env = cli_env(None, redis_namespace)
    runs = await asyncio.gather(
        run_cli("audit", "--decision", "merged,conflict", "--json", env=env),
        run_cli("audit", "list", "--outcome", "ERROR", "--outcome", "conflict", env=env),
        run_cli("audit", "--record", "contact:12", "--json", env=env),
        run_cli("audit", "--record", "contact:12", "--limit", "2", "--json", env=env),
    )
    assert all(run.code == 0 for run in runs), runs
    by_decision, by_outcome, record, record_two = runs
    ids = {entry.id: entry for entry in written}

    def listed(out: str) -> list[str]:
        return [json.loads(line)["id"] for line in out.splitlines()]

    assert listed(by_decision.out) == [written[2].id, written[1].id]  # newest first
    assert [line.split()[0] for line in by_outcome.out.splitlines()] == [
        written[3].id,
        written[2].id,
    ]
    # Newest first, as `audit list` (it was oldest first): the record's own entries and
    # those of the merge groups it was in.
    assert listed(record.out) == [written[4].id, written[2].id, written[1].id, written[0].id]
    assert listed(record_two.out) == [written[4].id, written[2].id]
    assert set(ids) >= set(listed(record.out))


async def test_prune_removes_what_is_past_its_retention_and_nothing_else(
    redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    keys = Keys(redis_namespace)
    audit = AuditLog(redis_client, keys)
    now = time.time()
    snapshot = {"1": {"ID": "1"}, "2": {"ID": "2"}}
    old_no_merge = _entry(1, Decision.NO_MERGE, now - 200 * DAY)
    old_conflict = _entry(2, Decision.CONFLICT, now - 200 * DAY, Outcome.CONFLICT)
    recent_no_merge = _entry(3, Decision.NO_MERGE, now - 10 * DAY)
    old_merge = _entry(4, Decision.MERGED, now - 400 * DAY, Outcome.SUCCESS, [4, 5], snapshot)
    old_failed_merge = _entry(6, Decision.ERROR, now - 400 * DAY, Outcome.PARTIAL, [6], snapshot)
    old_pending = _entry(7, Decision.PENDING, now - 400 * DAY, Outcome.PENDING, [7, 8], snapshot)
    recent_merge = _entry(9, Decision.MERGED, now - 10 * DAY, Outcome.SUCCESS, [9], snapshot)
    entries = [
        old_no_merge,
        old_conflict,
        recent_no_merge,
        old_merge,
        old_failed_merge,
        old_pending,
        recent_merge,
    ]
    for entry in entries:
        await audit.write(entry)
    # One written before retention existed: only in the time index, no class index.
    legacy = _entry(10, Decision.NO_MERGE, now - 300 * DAY)
    await redis_client.set(keys.audit(legacy.id), legacy.to_json())
    await redis_client.zadd(keys.audit_index, {legacy.id: legacy.at})
    assert [retention_class(e) for e in entries] == [
        "brief",
        "brief",
        "brief",
        "lasting",
        "lasting",
        None,
        "lasting",
    ]

    counted = await audit.prune(180, 0, now=now, dry_run=True)
    assert (counted.brief, counted.lasting) == (3, 0)
    assert await redis_client.zcard(keys.audit_index) == 8  # a dry run removes nothing

    # Merges are kept for ever by default (restore needs them), the rest 180 days.
    result = await audit.prune(180, 0, now=now)
    assert (result.brief, result.lasting) == (3, 0)
    left = {entry.id async for entry in audit.entries()}
    assert left == {e.id for e in (recent_no_merge, old_merge, old_failed_merge, old_pending)} | {
        recent_merge.id
    }
    for gone in (old_no_merge, old_conflict, legacy):
        assert not await redis_client.exists(keys.audit(gone.id))
    # With a merge retention, old merges go too; a pending one never does.
    result = await audit.prune(180, 365, now=now)
    assert (result.brief, result.lasting) == (0, 2)
    left = {entry.id async for entry in audit.entries()}
    assert left == {recent_no_merge.id, old_pending.id, recent_merge.id}
    assert await audit.get(old_pending.id) is not None
    # A pending merge completed later is kept as a merge from then on.
    old_pending.decision, old_pending.outcome = Decision.MERGED, {"status": Outcome.SUCCESS}
    await audit.write(old_pending)
    assert await redis_client.zscore(keys.audit_lasting, old_pending.id) is not None


async def test_audit_prune_command_and_the_workers_daily_prune(
    run_cli: RunCli, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    keys = Keys(redis_namespace)
    audit = AuditLog(redis_client, keys)
    old = _entry(1, Decision.NO_MERGE, time.time() - 40 * DAY)
    await audit.write(old)
    env = cli_env(None, redis_namespace, AUDIT_RETENTION_DAYS="30")
    dry = await run_cli("audit", "prune", "--dry-run", env=env)
    assert dry.code == 0 and dry.out.startswith("would remove 1 entries without a merge")
    assert "kept for ever, AUDIT_MERGE_RETENTION_DAYS" in dry.out
    assert await audit.get(old.id) is not None
    done = await run_cli("audit", "prune", env=env)
    assert done.code == 0 and done.out.startswith("removed 1 entries without a merge")
    assert await audit.get(old.id) is None
    # The worker runs the same once a day, one worker of all (a unique cron job).
    settings = Settings(
        _env_file=None,
        redis_url=REDIS_URL,
        redis_prefix=redis_namespace,
        b24_webhook_url="https://portal.example/rest/1/never-called/",
        audit_retention_days=30,
    )
    (cron,) = [c for c in worker_options(settings)["cron_jobs"] if c.coroutine is prune_audit]
    assert cron.unique and cron.hour == PRUNE_HOUR and cron.minute == PRUNE_MINUTE
    older = _entry(2, Decision.GONE, time.time() - 31 * DAY)
    await audit.write(older)
    context = build_context(settings, redis_client)
    try:
        said = await prune_audit({SETTINGS: settings, DEDUPE_CONTEXT: context})
    finally:
        await context.client.close()
    assert said.startswith("1 entries without a merge") and await audit.get(older.id) is None

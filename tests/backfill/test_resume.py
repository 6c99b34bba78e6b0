"""A scan killed half-way and started again: it goes on from its checkpoint and every
planted duplicate is merged exactly once, though live workers merge some of the same
groups meanwhile; no trap is touched."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from b24.crm import EntityType, RecordRef
from b24.emulator.config import DEFAULT_METHOD_TIMES
from b24.emulator.planted import planted_contacts
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.dedupe_queue import enqueue_event
from tests.waiting import wait_until
from tests.worker.conftest import StartStack
from worker.app import build_context
from worker.dedupe import reconcile_interrupted

CONTACT = EntityType.CONTACT
COMMAND = [sys.executable, "-m", "commands.main"]
# Merges take real time, so that the scan can be killed in the middle of them.
SLOW_MERGES = {
    "realtime": True,
    "method_times": {**DEFAULT_METHOD_TIMES, "crm.entity.mergebatch": 0.1},
}


def decided(work: Path) -> int:
    """Groups the scan has decided (-1 before it decides), read from its state file."""
    try:
        with sqlite3.connect(f"file:{work / 'scan.sqlite'}?mode=ro", uri=True) as db:
            row = db.execute("SELECT phase, groups_done FROM progress").fetchone()
    except sqlite3.Error:
        return -1
    return -1 if row is None or row[0] not in ("decide", "done") else int(row[1])


def merged_by_scan(work: Path) -> int:
    """Merges the scan has recorded (each as soon as its audit entry is written)."""
    try:
        with sqlite3.connect(f"file:{work / 'scan.sqlite'}?mode=ro", uri=True) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM outcomes WHERE action = 'merged'"
            ).fetchone()
    except sqlite3.Error:
        return 0
    return int(count)


async def test_a_killed_scan_resumes_and_merges_every_duplicate_once(
    start_stack: StartStack, tmp_path: Path
) -> None:
    stack = await start_stack(emulator_settings=SLOW_MERGES, job_timeout_seconds=10)
    planted = planted_contacts(2_000)
    portal = stack.emulator.engine.portal
    portal.add_many(CONTACT, planted.records)
    merges = stack.emulator.engine.stats.merges.statuses
    env = {
        **os.environ,
        "REDIS_URL": stack.settings.redis_url,
        "REDIS_PREFIX": stack.keys.prefix,
        "B24_WEBHOOK_URL": stack.emulator.webhook_url,
        "B24_RPS": "50",
        "B24_BURST": "100",
        "JOB_TIMEOUT_SECONDS": "3",  # a killed scan's value locks last this long
        "LOG_LEVEL": "WARNING",
    }
    argv = [*COMMAND, "scan", "--entity", "contact", "--json", "--state", "scan.sqlite"]
    argv += ["--concurrency", "4"]  # a few groups at a time: the kill lands half-way

    async def scan() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    first = await scan()
    await wait_until(lambda: decided(tmp_path) >= 0, what="the scan deciding", within=60)
    # Live events for a third of the duplicates arrive as the scan decides: the live
    # workers merge some of the very groups the scan is at.
    for duplicate in sorted(planted.duplicates)[::3]:
        await enqueue_event(stack.redis, stack.keys, RecordRef(CONTACT, duplicate), debounce=0)
    await wait_until(lambda: merged_by_scan(tmp_path) >= 4, what="4 merges", within=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert merges.get("SUCCESS", 0) < len(planted.originals), "the scan ended before the kill"

    second = await scan()
    out, err = await asyncio.wait_for(second.communicate(), 120)
    assert second.returncode == 0, err.decode()[-2000:]
    summary: dict[str, Any] = json.loads(out.decode().splitlines()[-1])
    # It went on from the checkpoint: nothing read again.
    assert "read" not in summary["requests_by_phase"]["CONTACT"]
    await stack.settle()

    # Merges the kill cut off between mergeBatch and its outcome are completed from the
    # records, as the recovery cron does.
    context = build_context(stack.settings, stack.redis)
    async with context.client:
        reconciled = await reconcile_interrupted(context, older_than=0)
    assert all(e.status in (Outcome.SUCCESS, Outcome.NOT_SENT) for e in reconciled)

    present = portal.records["CONTACT"]
    gone = {r["ID"] for r in planted.records} - set(present)
    assert gone == set(planted.duplicates)  # every duplicate, and no trap nor original
    # Each group merged exactly once: a second mergeBatch of a merged group would fail
    # (its seeds are gone) and show as an ERROR.
    assert merges == {"SUCCESS": len(planted.originals)}
    deleted: list[int] = []
    async for entry in stack.audit.entries():
        if entry.decision is Decision.MERGED:
            assert entry.survivor == planted.duplicates[entry.outcome["deleted"][0]]
            deleted.extend(entry.outcome["deleted"])
    assert sorted(deleted) == sorted(planted.duplicates)

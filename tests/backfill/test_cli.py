"""``b24-dedupe scan`` as an administrator runs it: bad input is exit 2 and one line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from b24.client import Bitrix24Client
from b24.crm import EntityType
from b24.emulator.server import RunningEmulator
from b24.emulator.synthetic import contacts
from b24_dedupe.keys import Keys
from tests.conftest import REDIS_URL
from worker.backfill.state import ScanState
from worker.scan import scan

COMMAND = [sys.executable, "-m", "commands.main", "scan"]


async def run_scan(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--share", "2"), "--share: 2 is not a share between 0 (excluded) and 1"),
        (("--dry-run", "--enqueue"), "--dry-run: only for the backfill"),
        (("--state", "scan.sqlite"), "belongs to an unfinished scan of another kind"),
    ],
)
async def test_bad_input_is_exit_2_and_one_line(
    args: tuple[str, ...], message: str, tmp_path: Path, redis_namespace: str
) -> None:
    env = {
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": redis_namespace,
        "B24_WEBHOOK_URL": "http://127.0.0.1:9/rest/1/secret/",
    }
    if "--state" in args:  # a killed dry run's state; this run is no dry run
        owner = {"portal": "127.0.0.1:9", "prefix": redis_namespace, "mode": "dry-run"}
        ScanState.open(tmp_path / "scan.sqlite", owner={**owner, "types": "x"}).close()
    code, _, err = await run_scan(*args, env=env, cwd=tmp_path)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert message in err and "Traceback" not in err
    assert len([line for line in lines if "error" in line]) == 1


async def test_the_recovery_scan_reads_changed_records_50_pages_a_request(
    fast_emulator: RunningEmulator,
    client: Bitrix24Client,
    redis_client: aioredis.Redis,
    redis_namespace: str,
) -> None:
    portal = fast_emulator.engine.portal
    old = "2020-01-01T00:00:00+03:00"
    portal.add_many(EntityType.CONTACT, ({**c, "DATE_MODIFY": old} for c in contacts(5_000)))
    since = portal.now_iso()
    for record_id in range(1, 5_001, 2):  # 2,500 changed since the watermark
        portal.update(EntityType.CONTACT, record_id, {"COMMENTS": "changed"})
    before = fast_emulator.engine.stats.http_requests
    result, newest = await scan(
        client, redis_client, Keys(redis_namespace), EntityType.CONTACT, since=since
    )
    assert (result.seen, result.enqueued) == (2_500, 2_500)
    assert newest is not None and newest >= since
    # One page, then 2, 4, 8, 16, then 19 of 50 (the 50th page of 2,500 rows is short):
    # 6 requests, where a page a request took 51.
    assert fast_emulator.engine.stats.http_requests - before == 6

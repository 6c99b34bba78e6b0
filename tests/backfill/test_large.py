"""A 100,000-contact dry run at the docs' limits, on a terminal: the progress bar moves
and the CSV is written (``make soak``: about two minutes)."""

from __future__ import annotations

import asyncio
import csv
import os
import pty
import re
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from b24.crm import EntityType
from b24.emulator.planted import planted_contacts
from tests.conftest import REDIS_URL, StartEmulator

pytestmark = pytest.mark.soak

COMMAND = [sys.executable, "-m", "commands.main", "scan"]
PERCENT = re.compile(r"contact (read|decide): +(\d+)%")


async def test_a_100000_record_dry_run_shows_a_moving_bar_and_writes_its_csv(
    start_emulator: StartEmulator,
    tmp_path: Path,
    redis_namespace: str,
    redis_client: aioredis.Redis,
) -> None:
    emulator = await start_emulator(rps=2.0, burst=50)
    planted = planted_contacts(100_000)
    emulator.engine.portal.add_many(EntityType.CONTACT, planted.records)
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": redis_namespace,
        "B24_WEBHOOK_URL": emulator.webhook_url,
        "LOG_LEVEL": "WARNING",
        "COLUMNS": "160",
    }
    leader, follower = pty.openpty()  # stderr is a terminal: the bar, not log lines
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "--dry-run",
        "--entity",
        "contact",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    screen = bytearray()
    loop = asyncio.get_running_loop()
    reading = loop.create_future()

    def readable() -> None:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            chunk = b""
        if chunk:
            screen.extend(chunk)
        else:
            loop.remove_reader(leader)
            if not reading.done():
                reading.set_result(None)

    loop.add_reader(leader, readable)
    out, _ = await asyncio.wait_for(process.communicate(), 600)
    await asyncio.wait_for(reading, 10)
    os.close(leader)
    text = screen.decode(errors="replace")
    assert process.returncode == 0, text[-2000:]
    shown = {(phase, int(p)) for phase, p in PERCENT.findall(text)}
    for phase in ("read", "decide"):
        steps = sorted(p for ph, p in shown if ph == phase)
        assert len(steps) >= 3 and steps[-1] == 100, (phase, steps)  # it moved, to the end
    assert "requests" in text and "to merge" in text and "<" in text  # counts and an ETA
    with (tmp_path / "b24-dedupe-dry-run.csv").open(encoding="utf-8") as rows:
        proposed = [r for r in csv.DictReader(rows) if r["action"] == "would_merge"]
    assert {int(r["survivor"]) for r in proposed} == planted.originals
    assert "would merge 1,000" in out.decode()
    assert len(emulator.engine.portal.records["CONTACT"]) == 100_000

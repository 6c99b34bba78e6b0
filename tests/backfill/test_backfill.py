"""The backfill of a planted portal: every planted duplicate merged into its original
through the live path, no trap touched, every decision in the audit; the dry run's CSV."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from b24.crm import EntityType
from b24.emulator.planted import PlantedPortal, planted_contacts
from b24.emulator.server import RunningEmulator
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.settings import Settings
from tests.conftest import REDIS_URL
from tests.worker.conftest import Stack, StartStack
from worker.app import build_context
from worker.backfill.groups import GroupDecider, compact
from worker.backfill.reading import decision_fields
from worker.backfill.run import Backfill, BackfillOptions, Snapshot
from worker.backfill.sharing import MergeBudget
from worker.backfill.state import DONE, ScanState, Tally
from worker.policy import Policy

CONTACT = EntityType.CONTACT
COMMAND = [sys.executable, "-m", "commands.main"]


async def planted_stack(start_stack: StartStack, total: int = 3_000) -> tuple[Stack, PlantedPortal]:
    stack = await start_stack(job_timeout_seconds=10)
    planted = planted_contacts(total)
    stack.emulator.engine.portal.add_many(CONTACT, planted.records)
    return stack, planted


def owner(stack: Stack, mode: str) -> dict[str, str]:
    return {"portal": "emulator", "prefix": stack.keys.prefix, "mode": mode, "types": "CONTACT"}


async def test_a_backfill_merges_every_planted_duplicate_into_its_original_and_no_trap(
    start_stack: StartStack, tmp_path: Path
) -> None:
    stack, planted = await planted_stack(start_stack)
    context = build_context(stack.settings, stack.redis)
    state = ScanState.open(tmp_path / "scan.sqlite", owner=owner(stack, "auto"))
    seen: list[Snapshot] = []
    stats = stack.emulator.engine.stats
    async with context.client:
        backfill = Backfill(
            context, state, BackfillOptions(entities=[CONTACT]), listener=seen.append
        )
        done = await backfill.run()
    await stack.settle()  # the merges' own events, through the live service

    present = stack.emulator.engine.portal.records["CONTACT"]
    assert [d for d in planted.duplicates if d in present] == []
    gone = {r["ID"] for r in planted.records} - set(present)
    assert gone == set(planted.duplicates)  # nothing else deleted: no trap, no original
    merges = [e async for e in stack.audit.entries() if e.decision is Decision.MERGED]
    assert sorted(d for e in merges for d in e.outcome["deleted"]) == sorted(planted.duplicates)
    for entry in merges:
        assert all(planted.duplicates[d] == entry.survivor for d in entry.outcome["deleted"])
        assert set(entry.snapshots) == {str(i) for i in entry.group}  # stored before merging
    assert stats.merges.statuses == {"SUCCESS": len(planted.originals)}

    progress = done[CONTACT]
    assert progress.phase == DONE and progress.read == len(planted.records)
    tally = backfill.tallies[CONTACT]
    assert tally.merged == len(planted.originals) and tally.errors == 0
    review = [o for o in state.outcomes() if o.action == "review"]
    assert {i for o in review for i in o.group} == planted.review
    # Read at the floor: 3,000 records in 2 requests (and the highest ID in one).
    assert backfill.requests[CONTACT]["read"] == 3
    assert stats.commands["crm.duplicate.findbycomm"] == 0  # the scan never asks
    phases = [s.phase for s in seen]
    assert phases[0] == "read" and phases[-1] == DONE and "decide" in phases
    state.close()


async def test_a_dry_run_writes_its_csv_shows_progress_and_merges_nothing(
    start_stack: StartStack, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    stack, planted = await planted_stack(start_stack)
    env = {
        **os.environ,
        "REDIS_URL": stack.settings.redis_url,
        "REDIS_PREFIX": stack.keys.prefix,
        "B24_WEBHOOK_URL": stack.emulator.webhook_url,
        "B24_RPS": "50",
        "B24_BURST": "100",
        "LOG_LEVEL": "WARNING",
    }
    csv_path = tmp_path / "proposals.csv"
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "scan",
        "--dry-run",
        "--entity",
        "contact",
        "--csv",
        str(csv_path),
        "--state",
        str(tmp_path / "scan.sqlite"),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-2000:]
    assert len(stack.emulator.engine.portal.records["CONTACT"]) == len(planted.records)
    assert stack.emulator.engine.stats.merges.statuses == {}
    with csv_path.open(encoding="utf-8") as rows:
        table = list(csv.DictReader(rows))
    proposed = [r for r in table if r["action"] == "would_merge"]
    assert {int(r["survivor"]) for r in proposed} == planted.originals
    assert {int(i) for r in proposed for i in r["group"].split()} == (
        planted.originals | set(planted.duplicates)
    )
    review = [r for r in table if r["action"] == "review"]
    assert {int(i) for r in review for i in r["group"].split()} == planted.review
    assert all(r["link"].endswith(r["group"].replace(" ", ",")) for r in review)
    lines = err.decode().splitlines()
    assert any(line.startswith("contact read") for line in lines)  # not a terminal: lines
    assert any(line.startswith("contact done") and "to review" in line for line in lines)
    assert f"would merge {len(planted.originals)}" in out.decode()
    assert stack.emulator.webhook_url.split("/rest/")[1] not in csv_path.read_text()


@pytest.mark.soak
async def test_merges_wait_for_mergebatchs_budget_and_none_is_lost_or_repeated(
    start_stack: StartStack, tmp_path: Path
) -> None:
    # A budget of 2 merges in a 10-second window (the portal's: 210 in 10 minutes): the
    # scan's merges are refused, wait for the window (the client's pause, or the
    # backfill's own wait past the client's patience) and go again. make soak: ~1 min.
    stack = await start_stack(
        emulator_settings={"operating_limit": 3.0, "operating_window": 10.0},
        job_timeout_seconds=10,
    )
    planted = planted_contacts(3_000, duplicate_share=0.002)
    stack.emulator.engine.portal.add_many(CONTACT, planted.records)
    context = build_context(stack.settings, stack.redis)
    state = ScanState.open(tmp_path / "scan.sqlite", owner=owner(stack, "auto"))
    async with context.client:
        backfill = Backfill(context, state, BackfillOptions(entities=[CONTACT]))
        await backfill.run()
    state.close()
    stats = stack.emulator.engine.stats
    refused = stats.refusals.get("OPERATION_TIME_LIMIT", 0) + sum(
        n for code, n in stats.command_errors.items() if "OPERATION_TIME_LIMIT" in code
    )
    assert refused >= 1  # the budget was reached
    present = stack.emulator.engine.portal.records["CONTACT"]
    assert {r["ID"] for r in planted.records} - set(present) == set(planted.duplicates)
    assert stats.merges.statuses == {"SUCCESS": len(planted.originals)}
    # A merge refused before it ran is recorded as not sent, never as merged.
    not_sent = [e async for e in stack.audit.entries() if e.status == Outcome.NOT_SENT]
    assert all(e.decision is Decision.NO_MERGE for e in not_sent)


async def test_a_group_changed_since_it_was_read_is_read_again_before_its_merge(
    fast_emulator: RunningEmulator, redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    portal = fast_emulator.engine.portal
    people = [
        {"NAME": "Olga", "LAST_NAME": "Orlova", "PHONE": [{"VALUE": "+7 903 111-22-33"}]},
        {"NAME": "Olga", "PHONE": [{"VALUE": "8 903 111 22 33"}]},
    ]
    portal.add_many(CONTACT, people)
    columns = decision_fields(CONTACT, Policy())
    rows = {i: compact(portal.get(CONTACT, i), columns) for i in (1, 2)}  # as the scan read
    # Then someone adds a phone to the second: the merge's lock, taken on the values as
    # read, would not cover it (merge_under_lock refuses: "group changed").
    portal.update(CONTACT, 2, {"PHONE": [{"VALUE": "+7 916 000-00-01", "VALUE_TYPE": "WORK"}]})
    settings = Settings(
        redis_url=REDIS_URL,
        redis_prefix=redis_namespace,
        b24_webhook_url=fast_emulator.webhook_url,
        b24_rps=1000,
        b24_burst=1000,
    )
    context = build_context(settings, redis_client)
    tally = Tally()
    decider = GroupDecider(
        context,
        CONTACT,
        columns=columns,
        banned=set(),
        shared=set(),
        budget=MergeBudget(context),
        tally=tally,
    )
    kept: list[Any] = []
    async with context.client:
        await decider.decide(rows, kept.append)
    assert tally.lock_waits == 1 and tally.merged == 1
    assert [o.action for o in kept] == ["merged"]
    assert 2 not in portal.records["CONTACT"]
    phones = {item["VALUE"] for item in portal.get(CONTACT, 1)["PHONE"]}
    assert "+7 916 000-00-01" in phones  # the phone added meanwhile was merged in too

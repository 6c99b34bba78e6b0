"""Backfill: a whole existing portal cleaned by ``b24-dedupe scan`` at Bitrix24's limits (issue 16).

    REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/backfill.py
    # the what-if: mergeBatch charged 0.5 s instead of the docs' 2 s
    REDIS_URL=... .venv/bin/python bench/backfill.py --merge-time 0.5
    # the read at a million records (a dry run: nothing merged)
    REDIS_URL=... .venv/bin/python bench/backfill.py --records 1000000 --dry-run
    # today's way for comparison: a live job per record, run --legacy-minutes, extrapolated
    REDIS_URL=... .venv/bin/python bench/backfill.py --legacy-minutes 12 --no-backfill

Everything on 127.0.0.1. The emulator runs in this process at the docs' limits (2
requests/s, burst 50, operating limit 420 s per method per 10 minutes, mergeBatch 2 s
or ``--merge-time``, findbycomm 0.02 s, other methods 0.005 s; accounted, not slept),
seeded with ``b24.emulator.planted.planted_contacts(--records)``: synthetic contacts
with 1 % planted duplicate groups (phones in other spellings, e-mails in capitals,
names left out) and traps (a switchboard behind 30 people, families sharing a home
phone, team mailboxes, ``info@`` mailboxes, an unnamed record between two people, the
same person with two positions). The live service runs beside the scan as its own
processes (ingress and one worker, ``WORKER_CONCURRENCY=50``) and receives the
emulator's events, the merges' included. The scan is ``b24-dedupe scan --entity
contact`` as an administrator runs it (default share 0.5 of the requests).

Figures: requests to read, requests in all (the scan's own and the portal's total),
requests per record, wall time, groups, merges, planted duplicates merged, wrong merges
(records deleted that were no planted duplicate, or merged into another record than
their original: must be 0), traps touched, peak RSS of the scan, the state file
(index) on disk; the request floor (the scan's requests at its share of the rate) and
the operating-limit floor of its merges. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from drain import (
    TOKEN,
    Child,
    command,
    log_warnings,
    service_env,
    spawn,
    stop,
    wait_for_key,
)
from ingress import machine, redis_report_and_cleanup, wait_healthy

from b24.crm import EntityType
from b24.emulator.config import DEFAULT_METHOD_TIMES, EmulatorConfig
from b24.emulator.planted import PlantedPortal, planted_contacts
from b24.emulator.server import RunningEmulator, free_port, running_emulator
from b24.emulator.state import SENDER
from b24_dedupe.audit import AuditLog
from b24_dedupe.decisions import Decision
from b24_dedupe.keys import Keys

MERGE_METHOD = "crm.entity.mergebatch"
OPERATING_LIMIT = 420.0  # the Bitrix24 source's default (loadlimiter.php); the docs show 480
WINDOW = 600.0
RPS, BURST = 2.0, 50
HEADROOM = 2  # b24.client.ClientConfig.headroom
TARGETS = {
    "read_requests_per_record": 1 / 2000,
    "requests_per_record": 0.005,
    "wall_over_floor": 1.10,
    "wrong_merges": 0,
}
CONTACT = EntityType.CONTACT


def request_floor(requests: int, share: float) -> float:
    """Seconds ``requests`` take at ``share`` of the rate, its share of the burst first."""
    burst = max(HEADROOM + 1, int(BURST * share)) - HEADROOM
    return max(0, requests - burst) / (RPS * share)


def operating_floor(merges: int, merge_time: float) -> float:
    """Seconds from the first merge to the last at best: the emulator runs a call while
    the method's time in the last 10 minutes is at most the limit, so ``k`` merges fit a
    window and the last of ``merges`` waits for ``ceil(merges / k) - 1`` windows."""
    if merges <= 0:
        return 0.0
    per_window = int(OPERATING_LIMIT // merge_time) + 1
    return (math.ceil(merges / per_window) - 1) * WINDOW


async def settle(redis: aioredis.Redis, keys: Keys, emulator: RunningEmulator) -> float:
    """Until every event is delivered and no live job waits (bounded: 10 minutes)."""
    sender = emulator.app[SENDER]
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < 600:
        await sender.drain(1.0)
        quiet = quiet + 1 if await redis.zcard(keys.queue) == 0 else 0
        if quiet >= 3:
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


def verify(
    emulator: RunningEmulator, planted: PlantedPortal, merges: list[dict[str, Any]]
) -> dict[str, Any]:
    """What became of the planted duplicates and the traps, from the portal's records
    and the audit's merges."""
    present = emulator.engine.portal.records[CONTACT.name]
    gone = {r["ID"] for r in planted.records} - set(present)
    duplicates = planted.duplicates
    wrong = sorted(gone - set(duplicates))
    merged_once: dict[int, int] = {}
    wrong_survivor = []
    for entry in merges:
        for deleted in entry["deleted"]:
            merged_once[deleted] = merged_once.get(deleted, 0) + 1
            if duplicates.get(deleted) != entry["survivor"]:
                wrong_survivor.append((deleted, entry["survivor"]))
    traps = {kind: len(ids & gone) for kind, ids in planted.traps.items()}
    return {
        "planted_duplicates": len(duplicates),
        "duplicates_merged": sum(1 for d in duplicates if d in gone),
        "originals_kept": sum(1 for o in planted.originals if o in present),
        "wrong_merges": len(wrong) + len(wrong_survivor),
        "wrong_examples": (wrong + wrong_survivor)[:10],
        "merged_more_than_once": sum(1 for n in merged_once.values() if n > 1),
        "traps_deleted": traps,
    }


async def audit_merges(redis: aioredis.Redis, keys: Keys) -> list[dict[str, Any]]:
    found = []
    async for entry in AuditLog(redis, keys).entries():
        if entry.decision is Decision.MERGED and entry.entity == CONTACT:
            deleted = entry.outcome.get("deleted") or entry.group[1:]
            found.append({"survivor": entry.survivor, "deleted": [int(i) for i in deleted]})
    return found


def keep_files(work: Path, logs: str | None, label: str) -> int:
    """Copy the scan's log and CSV (and the service's logs) to ``logs``; answers the
    CSV's rows."""
    if logs:
        kept = Path(logs)
        kept.mkdir(parents=True, exist_ok=True)
        for name in ("scan.log", "scan.csv", "worker-1.log", "ingress.log"):
            if (work / name).exists():
                target = kept / f"{label.replace(' ', '_').replace(',', '')}-{name}"
                target.write_bytes((work / name).read_bytes())
    with (work / "scan.csv").open(encoding="utf-8") as rows:
        return sum(1 for _ in rows) - 1


async def start_service(
    args: argparse.Namespace, emulator: RunningEmulator, prefix: str, port: int, work: Path
) -> tuple[list[Child], dict[str, str]]:
    env = service_env(
        args.redis_url,
        prefix,
        b24_webhook_url=emulator.webhook_url,
        worker_concurrency=50,
        log_level="WARNING",
    )
    redis = aioredis.Redis.from_url(args.redis_url)
    keys = Keys(prefix)
    children: list[Child] = []
    try:
        web = ["web", "--host", "127.0.0.1", "--port", str(port)]
        children.append(spawn("ingress", command(*web), env, work / "ingress.log", work))
        for number in range(1, args.workers + 1):
            await redis.delete(keys.worker_health)
            log = work / f"worker-{number}.log"
            children.append(spawn(f"worker {number}", command("worker"), env, log, work))
            await wait_for_key(redis, keys.worker_health, children[-1])
        await asyncio.to_thread(wait_healthy, port, children[0].process, "ingress")
    finally:
        await redis.aclose()
    return children, env


class MergeRequests:
    """Counts the portal's requests that carried a mergeBatch (alone or in a batch): the
    requests the targets set aside. Wraps the in-process emulator's engine."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.count = 0
        engine = emulator.engine
        batch, call = engine.batch, engine.call

        def counted_batch(params: Any) -> Any:
            commands = {str(k).upper(): v for k, v in params.items()}.get("CMD") or {}
            queries = commands.values() if isinstance(commands, dict) else commands
            if any(str(q).lower().startswith(MERGE_METHOD) for q in queries):
                self.count += 1
            return batch(params)

        def counted_call(method: str, params: Any, **options: Any) -> Any:
            if method.lower() == MERGE_METHOD and not options.get("in_batch"):
                self.count += 1
            return call(method, params, **options)

        engine.batch = counted_batch  # type: ignore[method-assign]
        engine.call = counted_call  # type: ignore[method-assign]


async def reset_stats(emulator: RunningEmulator) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.delete(f"{emulator.root}/_emulator/stats") as response,
    ):
        response.raise_for_status()


async def watch(
    process: asyncio.subprocess.Process, emulator: RunningEmulator, started: float, label: str
) -> list[dict[str, Any]]:
    """Sample the portal's counters while the scan runs."""
    samples = []
    while process.returncode is None:
        stats = emulator.engine.stats
        point = {
            "t": round(time.monotonic() - started),
            "requests": stats.http_requests,
            "merges": dict(emulator.engine.stats.merges.statuses),
            "load": round(os.getloadavg()[0], 2),
        }
        samples.append(point)
        print(f"  {label} {point}", file=sys.stderr, flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 60)
    return samples


async def run_backfill(args: argparse.Namespace, planted: PlantedPortal) -> dict[str, Any]:
    label = "dry run" if args.dry_run else f"backfill, mergeBatch {args.merge_time} s"
    prefix = f"bench-backfill-{os.urandom(4).hex()}:"
    keys = Keys(prefix)
    port = free_port()
    config = EmulatorConfig(
        secret=uuid.uuid4().hex,
        rps=RPS,
        burst=BURST,
        operating_limit=OPERATING_LIMIT,
        method_times={**DEFAULT_METHOD_TIMES, MERGE_METHOD: args.merge_time},
        events_url=f"http://127.0.0.1:{port}/webhooks/bitrix24",
        application_token=TOKEN,
    )
    redis = aioredis.Redis.from_url(args.redis_url)
    children: list[Child] = []
    try:
        with tempfile.TemporaryDirectory(prefix="b24-backfill-") as tmp:
            work = Path(tmp)
            async with running_emulator(config) as emulator:
                seeded = time.monotonic()
                emulator.engine.portal.add_many(CONTACT, planted.records)
                gc.collect()
                gc.freeze()
                seed_seconds = time.monotonic() - seeded
                children, env = await start_service(args, emulator, prefix, port, work)
                await reset_stats(emulator)
                merge_requests = MergeRequests(emulator)
                argv = ["scan", "--entity", "contact", "--json", "--no-progress"]
                argv += ["--state", str(work / "scan.sqlite"), "--csv", str(work / "scan.csv")]
                argv += ["--share", str(args.share)]
                if args.dry_run:
                    argv.append("--dry-run")
                load_before = os.getloadavg()[0]
                started = time.monotonic()
                with (work / "scan.log").open("wb") as scan_log:
                    process = await asyncio.create_subprocess_exec(
                        *command(*argv),
                        env=env,
                        cwd=work,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=scan_log,
                    )
                    samples_task = asyncio.create_task(watch(process, emulator, started, label))
                    try:
                        out, _ = await process.communicate()
                    finally:
                        if process.returncode is None:  # interrupted: the scan goes too
                            process.kill()
                            await process.wait()
                    wall = time.monotonic() - started
                    samples = await samples_task
                settle_seconds = await settle(redis, keys, emulator)
                stats = emulator.engine.stats.as_dict()
                merge_statuses = dict(emulator.engine.stats.merges.statuses)
                lines = out.decode().splitlines()
                if process.returncode != 0 or not lines:
                    tail = (work / "scan.log").read_text(errors="replace")[-3000:]
                    raise SystemExit(f"the scan failed ({process.returncode}):\n{tail}")
                summary = json.loads(lines[-1])
                merges = await audit_merges(redis, keys)
                planted_outcome = verify(emulator, planted, merges)
                rss = {child.name: round(child.peak_rss_mb(), 1) for child in children}
                stop(children)
                warnings = log_warnings(children[1:])
                csv_rows = keep_files(work, args.logs, label)
    finally:
        stop(children)
        await redis.aclose()
        await redis_report_and_cleanup(args.redis_url, prefix)
    contact = summary["types"][CONTACT.value]
    by_phase = summary["requests_by_phase"][CONTACT.value]
    scan_requests = summary["requests"]
    read_requests = by_phase.get("read", 0)
    sent_merges = merge_statuses.get("SUCCESS", 0) + merge_statuses.get("CONFLICT", 0)
    floors = {
        "request_floor_s": round(request_floor(scan_requests, args.share), 1),
        "operating_floor_s": operating_floor(sent_merges, args.merge_time),
    }
    floor = max(floors.values())
    records = len(planted.records)
    return {
        "label": label,
        "records": records,
        "merge_time_s": args.merge_time,
        "share": args.share,
        "dry_run": args.dry_run,
        "seed_seconds": round(seed_seconds, 1),
        "wall_s": round(wall, 1),
        "phase_seconds": summary["seconds"][CONTACT.value],
        "read_requests": read_requests,
        "read_requests_per_record": round(read_requests / records, 6),
        "scan_requests": scan_requests,
        "portal_requests": stats["http_requests"],
        "requests_with_mergebatch": merge_requests.count,
        "scan_requests_without_mergebatch": scan_requests - merge_requests.count,
        "requests_per_record": round(scan_requests / records, 5),
        "requests_per_record_mergebatch_aside": round(
            (scan_requests - merge_requests.count) / records, 5
        ),
        "portal_requests_per_record": round(stats["http_requests"] / records, 5),
        "commands_by_method": stats["commands"],
        "refusals": stats["refusals"],
        "mergebatch": merge_statuses,
        "groups": contact["groups"],
        "shared_values": contact["shared_values"],
        "merged": contact["merged"],
        "review": contact["review"],
        "errors": contact["errors"],
        "refused_for_budget": contact["refused_for_budget"],
        "csv_rows": csv_rows,
        **floors,
        "wall_over_floor": round(wall / floor, 3) if floor else None,
        "planted": planted_outcome,
        "scan_peak_rss_mb": summary["peak_rss_mb"],
        "state_mb": round(summary["state_bytes"] / 1e6, 1),
        "service_peak_rss_mb": rss,
        "service_warnings": warnings,
        "settle_after_scan_s": round(settle_seconds, 1),
        "yielded_s": summary["yielded_seconds"],
        "load_before": round(load_before, 2),
        "load_max": max((s["load"] for s in samples), default=None),
        "timeline": samples,
    }


async def run_legacy(args: argparse.Namespace, planted: PlantedPortal) -> dict[str, Any]:
    """Today's way (``scan --enqueue``: a live job per record), for ``--legacy-minutes``;
    the whole portal's cost extrapolated from the records done."""
    prefix = f"bench-backfill-legacy-{os.urandom(4).hex()}:"
    keys = Keys(prefix)
    port = free_port()
    config = EmulatorConfig(
        secret=uuid.uuid4().hex,
        rps=RPS,
        burst=BURST,
        operating_limit=OPERATING_LIMIT,
        method_times={**DEFAULT_METHOD_TIMES, MERGE_METHOD: args.merge_time},
        events_url=f"http://127.0.0.1:{port}/webhooks/bitrix24",
        application_token=TOKEN,
    )
    redis = aioredis.Redis.from_url(args.redis_url)
    children: list[Child] = []
    records = len(planted.records)
    try:
        with tempfile.TemporaryDirectory(prefix="b24-backfill-legacy-") as tmp:
            work = Path(tmp)
            async with running_emulator(config) as emulator:
                emulator.engine.portal.add_many(CONTACT, planted.records)
                gc.collect()
                gc.freeze()
                children, env = await start_service(args, emulator, prefix, port, work)
                await reset_stats(emulator)
                started = time.monotonic()
                argv = command("scan", "--enqueue", "--entity", "contact")
                with (work / "scan.log").open("wb") as scan_log:
                    process = await asyncio.create_subprocess_exec(
                        *argv, env=env, cwd=work, stdout=scan_log, stderr=scan_log
                    )
                    deadline = args.legacy_minutes * 60
                    samples = []
                    while time.monotonic() - started < deadline:
                        await asyncio.sleep(min(60, deadline - (time.monotonic() - started)))
                        processed = await _processed(redis, keys)
                        point = {
                            "t": round(time.monotonic() - started),
                            "requests": emulator.engine.stats.http_requests,
                            "records_done": processed,
                            "queued": int(await redis.zcard(keys.queue)),
                        }
                        samples.append(point)
                        print(f"  legacy {point}", file=sys.stderr, flush=True)
                    elapsed = time.monotonic() - started
                    if process.returncode is None:
                        process.terminate()
                        await process.wait()
                stats = emulator.engine.stats.as_dict()
                processed = await _processed(redis, keys)
                stop(children)
    finally:
        stop(children)
        await redis.aclose()
        await redis_report_and_cleanup(args.redis_url, prefix)
    requests = stats["http_requests"]
    per_record = requests / max(1, processed)
    return {
        "label": "today's scan (a live job per record)",
        "records": records,
        "minutes": round(elapsed / 60, 1),
        "records_done": processed,
        "requests": requests,
        "commands_by_method": stats["commands"],
        "requests_per_record": round(per_record, 4),
        "extrapolated_requests": round(per_record * records),
        "extrapolated_wall_s": round(per_record * records / RPS),
        "timeline": samples,
    }


async def _processed(redis: aioredis.Redis, keys: Keys) -> int:
    """Records a live job has read (their ``processed`` marker)."""
    count = 0
    async for _ in redis.scan_iter(match=keys.prefix + "processed:*", count=5000):
        count += 1
    return count


def print_report(result: dict[str, Any]) -> None:
    skip = {"timeline", "commands_by_method", "service_warnings", "planted"}
    print()
    print(result["label"])
    for key, value in result.items():
        if key not in skip and key != "label":
            print(f"  {key:28} {value}")
    if "planted" in result:
        print(f"  {'planted':28} {result['planted']}")
    if "commands_by_method" in result:
        print(f"  {'commands':28} {result['commands_by_method']}")


def assess(result: dict[str, Any]) -> dict[str, bool]:
    met = {
        "read_requests_per_record": result["read_requests_per_record"]
        <= TARGETS["read_requests_per_record"],
        "wrong_merges": result["planted"]["wrong_merges"] == 0,
    }
    if not result["dry_run"]:
        met["requests_per_record (mergeBatch aside)"] = (
            result["requests_per_record_mergebatch_aside"] <= TARGETS["requests_per_record"]
        )
        if result["wall_over_floor"] is not None:
            met["wall_over_floor"] = result["wall_over_floor"] <= TARGETS["wall_over_floor"]
    return met


async def run(args: argparse.Namespace) -> dict[str, Any]:
    host = machine()
    started = time.monotonic()
    planted = planted_contacts(args.records, duplicate_share=args.duplicates)
    print(
        f"portal: {len(planted.records):,} contacts, {len(planted.duplicates):,} planted "
        f"duplicates, traps {sum(len(v) for v in planted.traps.values())} "
        f"({time.monotonic() - started:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    report: dict[str, Any] = {"benchmark": "backfill", "targets": TARGETS, "machine": host}
    if not args.no_backfill:
        result = await run_backfill(args, planted)
        result["met"] = assess(result)
        print_report(result)
        report["backfill"] = result
    if args.legacy_minutes:
        legacy = await run_legacy(args, planted)
        print_report(legacy)
        report["legacy"] = legacy
    host["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--duplicates", type=float, default=0.01, help="share of groups")
    parser.add_argument("--merge-time", type=float, default=DEFAULT_METHOD_TIMES[MERGE_METHOD])
    parser.add_argument("--share", type=float, default=0.5, help="the scan's --share")
    parser.add_argument("--dry-run", action="store_true", help="the scan's --dry-run")
    parser.add_argument("--workers", type=int, default=1, help="live worker processes")
    parser.add_argument(
        "--legacy-minutes", type=float, default=0, help="also run today's scan this long"
    )
    parser.add_argument("--no-backfill", action="store_true", help="only today's scan")
    parser.add_argument("--logs", help="keep the scan's log and CSV in this directory")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6391/0")
    )
    args = parser.parse_args()
    if not 10_000 <= args.records <= 2_000_000:
        parser.error("--records 10,000 to 2,000,000")
    if not 0 < args.share <= 1 or not 0 < args.duplicates <= 0.1:
        parser.error("--share in (0, 1], --duplicates in (0, 0.1]")
    if args.no_backfill and not args.legacy_minutes:
        parser.error("--no-backfill needs --legacy-minutes")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # finally blocks run
    try:
        report = asyncio.run(run(args))
    except KeyboardInterrupt:
        print("interrupted: every process started was stopped", file=sys.stderr)
        return 130
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

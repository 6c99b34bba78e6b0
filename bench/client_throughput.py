"""Throughput of the Bitrix24 client against the emulator at the portal's default limits.

Workload (issue 3): COROUTINES coroutines per worker process, each taking contacts from
a queue and, per contact, reading it (crm.contact.get), finding its duplicates by phone
(crm.duplicate.findbycomm) and, when it has one, merging them (crm.entity.mergeBatch).
Scenarios: one worker process, then two sharing one Redis. The emulator runs in this
process; the workers are OS processes (this script with ``--worker``).

Figures: HTTP requests, commands, commands per request, HTTP requests per logical
call (whole run and after the warm-up, when the limiter has saturated), wall time,
QUERY_LIMIT_EXCEEDED refusals, the highest level of the portal's bucket seen. Prints
a table; the last line is one JSON object.

    REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/client_throughput.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from b24.client import B24Error, Bitrix24Client, ClientConfig, NotFound
from b24.emulator.config import EmulatorConfig
from b24.emulator.server import RunningEmulator, running_emulator

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6391/0")


# -- the worker process ------------------------------------------------------------
async def dedupe_contact(client: Bitrix24Client, contact_id: int, counts: Counter[str]) -> None:
    async def call(method: str, params: dict[str, Any]) -> Any:
        try:
            return await client.call(method, params)
        finally:
            counts["calls"] += 1  # counted when answered, like the emulator's requests

    try:
        record = await call("crm.contact.get", {"id": contact_id})
    except NotFound:
        counts["gone"] += 1  # merged away by an earlier merge
        return
    phones = [item["VALUE"] for item in record.get("PHONE") or []][:20]
    if not phones:
        return
    found = await call(
        "crm.duplicate.findbycomm", {"type": "PHONE", "values": phones, "entity_type": "CONTACT"}
    )
    others = [int(i) for i in (found or {}).get("CONTACT", []) if int(i) != contact_id]
    if others:
        params = {"entityTypeId": 3, "entityIds": [contact_id, *sorted(others)]}
        merged = await call("crm.entity.mergeBatch", {"params": params})
        counts["merges_" + str(merged.get("STATUS", "?")).lower()] += 1


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    redis = aioredis.from_url(REDIS_URL)
    config = ClientConfig(
        key_prefix=args.prefix, rps=args.rps, burst=args.burst, max_batch_commands=args.max_batch
    )
    queue: asyncio.Queue[int] = asyncio.Queue()
    for contact_id in range(1, args.records + 1):
        if contact_id % args.processes == args.index:
            queue.put_nowait(contact_id)
    counts: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    deadline = 0.0

    async def run_coroutine(client: Bitrix24Client) -> None:
        while time.monotonic() < deadline and not queue.empty():
            contact_id = queue.get_nowait()
            try:
                await dedupe_contact(client, contact_id, counts)
            except B24Error as exc:
                errors[type(exc).__name__] += 1
            counts["records"] += 1

    async def note_warm_up() -> None:
        await asyncio.sleep(args.warmup)
        counts["calls_at_warmup"] = counts["calls"]

    try:
        async with Bitrix24Client(os.environ["B24_WEBHOOK_URL"], redis, config=config) as client:
            await redis.rpush(f"{args.prefix}bench:ready", os.getpid())
            await redis.blpop([f"{args.prefix}bench:go"], timeout=120)
            started = time.monotonic()
            deadline = started + args.seconds
            warm = asyncio.create_task(note_warm_up())
            await asyncio.gather(*(run_coroutine(client) for _ in range(args.coroutines)))
            wall = time.monotonic() - started
            warm.cancel()
    finally:
        await redis.aclose()
    return {"wall": wall, "errors": dict(errors), **counts}


# -- the conductor ------------------------------------------------------------------
def seed(records: int, duplicate_share: float) -> dict[str, Any]:
    """``records`` contacts; the second half repeats the first's phone for a share."""
    half = records // 2
    pairs = int(half * duplicate_share)
    contacts = []
    for contact_id in range(1, records + 1):
        twin = contact_id - half if half < contact_id <= half + pairs else contact_id
        contacts.append(
            {
                "NAME": f"Name{twin}",
                "LAST_NAME": "Bench",
                "PHONE": [{"VALUE": f"+7999{twin:07d}", "VALUE_TYPE": "WORK"}],
            }
        )
    return {"contacts": contacts}


async def emulator_stats(http: aiohttp.ClientSession, emulator: RunningEmulator) -> dict[str, Any]:
    async with http.get(f"{emulator.root}/_emulator/stats") as response:
        result: dict[str, Any] = await response.json()
        return result


async def watch_bucket(
    http: aiohttp.ClientSession, emulator: RunningEmulator, peak: list[float]
) -> None:
    while True:
        async with http.get(f"{emulator.root}/_emulator/limits") as response:
            peak[0] = max(peak[0], float((await response.json())["bucket_level"]))
        await asyncio.sleep(0.05)


async def scenario(args: argparse.Namespace, processes: int) -> dict[str, Any]:
    prefix = f"bench:client:{uuid.uuid4().hex[:8]}:"
    config = EmulatorConfig(secret=uuid.uuid4().hex, rps=args.rps, burst=args.burst)
    redis = aioredis.from_url(REDIS_URL)
    async with (
        running_emulator(config, seed=seed(args.records, args.duplicate_share)) as emulator,
        aiohttp.ClientSession() as http,
    ):
        env = {**os.environ, "B24_WEBHOOK_URL": emulator.webhook_url}
        argv = [
            sys.executable, __file__, "--worker", "--prefix", prefix,
            "--processes", str(processes), "--records", str(args.records),
            "--coroutines", str(args.coroutines), "--seconds", str(args.seconds),
            "--warmup", str(args.warmup), "--rps", str(args.rps), "--burst", str(args.burst),
            "--max-batch", str(args.max_batch),
        ]  # fmt: skip
        children = [
            await asyncio.create_subprocess_exec(
                *argv, "--index", str(index), stdout=asyncio.subprocess.PIPE, env=env
            )
            for index in range(processes)
        ]
        for _ in range(1200):
            if await redis.llen(f"{prefix}bench:ready") == processes:
                break
            await asyncio.sleep(0.1)
        peak = [0.0]
        watcher = asyncio.create_task(watch_bucket(http, emulator, peak))
        await redis.rpush(f"{prefix}bench:go", *["go"] * processes)
        started = time.monotonic()
        await asyncio.sleep(args.warmup)
        at_warmup = await emulator_stats(http, emulator)
        outputs = [await child.communicate() for child in children]
        wall = time.monotonic() - started
        watcher.cancel()
        final = await emulator_stats(http, emulator)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    calls = sum(r.get("calls", 0) for r in reports)
    calls_warm = sum(r.get("calls_at_warmup", 0) for r in reports)
    requests = final["http_requests"]
    steady_requests = requests - at_warmup["http_requests"]
    steady_calls = calls - calls_warm
    errors: Counter[str] = Counter()
    for report in reports:
        errors.update(report["errors"])
    return {
        "processes": processes,
        "coroutines_per_process": args.coroutines,
        "records": sum(r.get("records", 0) for r in reports),
        "logical_calls": calls,
        "merges": sum(v for r in reports for k, v in r.items() if k.startswith("merges_")),
        "http_requests": requests,
        "batch_requests": final["batch_requests"],
        "commands": final["commands_total"],
        "commands_per_request": round(final["commands_total"] / max(requests, 1), 2),
        "requests_per_call": round(requests / max(calls, 1), 4),
        "steady_requests_per_call": round(steady_requests / max(steady_calls, 1), 4),
        "steady_rps": round(steady_requests / max(wall - args.warmup, 0.001), 3),
        "steady_seconds": round(wall - args.warmup, 2),
        "wall_seconds": round(max(r["wall"] for r in reports), 2),
        "query_limit_refusals": final["refusals"].get("QUERY_LIMIT_EXCEEDED", 0),
        "other_refusals": {
            k: v for k, v in final["refusals"].items() if k != "QUERY_LIMIT_EXCEEDED"
        },
        "peak_bucket_level": round(peak[0], 2),
        "client_errors": dict(errors),
    }


ROWS = [
    ("processes", "worker processes"),
    ("records", "records processed"),
    ("logical_calls", "logical calls"),
    ("merges", "merges"),
    ("http_requests", "HTTP requests"),
    ("commands", "commands"),
    ("commands_per_request", "commands per request"),
    ("requests_per_call", "requests per call (run)"),
    ("steady_requests_per_call", "requests per call (after warm-up)"),
    ("steady_rps", "requests per second (after warm-up)"),
    ("wall_seconds", "wall time, s"),
    ("query_limit_refusals", "QUERY_LIMIT_EXCEEDED refusals"),
    ("peak_bucket_level", "peak portal bucket level"),
    ("client_errors", "errors seen by callers"),
]


async def conduct(args: argparse.Namespace) -> None:
    results = [await scenario(args, processes) for processes in args.scenarios]
    print(f"client throughput: emulator at {args.rps:g} rps, burst {args.burst}; "
          f"{args.coroutines} coroutines a process; batches of at most {args.max_batch}; "
          f"{args.records} contacts, "
          f"{args.duplicate_share:.0%} of the second half duplicates; "
          f"runs of at most {args.seconds:g} s, warm-up {args.warmup:g} s")  # fmt: skip
    heads = [f"{r['processes']} process(es)" for r in results]
    print(f"{'':38}" + "".join(f"{head:>18}" for head in heads))
    for key, label in ROWS:
        print(f"{label:38}" + "".join(f"{r[key]!s:>18}" for r in results))
    print(json.dumps({"benchmark": "client_throughput", "rps": args.rps, "burst": args.burst,
                      "max_batch": args.max_batch, "scenarios": results}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--duplicate-share", type=float, default=0.1)
    parser.add_argument("--coroutines", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="longest run a scenario")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--rps", type=float, default=2.0)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument(
        "--max-batch", type=int, default=50, help="commands a request (1: no batching)"
    )
    parser.add_argument("--scenarios", type=int, nargs="+", default=[1, 2],
                        help="worker processes of each scenario")  # fmt: skip
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(worker(args))), flush=True)
    else:
        asyncio.run(conduct(args))


if __name__ == "__main__":
    main()

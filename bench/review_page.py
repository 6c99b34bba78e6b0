"""The review page with 10,000 groups queued: latency of the queue page (issue 15).

    REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/review_page.py

Seeds 10,000 groups into the review queue (the worker's own ``ReviewQueue.put``; three
record types, four reasons, two or three records of ~25 fields each, as the worker
stores them) under a throw-away prefix, starts the page as its own process
(``b24-dedupe review``, JSON log lines to a file), logs in, and asks for the queue
page one request at a time, as a person clicks: the first page, a page deep in the
queue, the last page, and filtered views (a type, a reason, both); then group pages.
Reports p50/p95/p99/max per view; the last line is one JSON object.

Target: queue page p95 <= 100 ms with 10,000 groups.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from b24.crm import EntityType
from b24.emulator.server import free_port
from b24_dedupe.keys import Keys
from b24_dedupe.review import ReviewGroup, ReviewQueue, ReviewReason

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-review-password"
P95_TARGET_MS = 100.0
VIEWS = {
    "first page": "/queue",
    "page 100": "/queue?page=100",
    "last page": "/queue?page=200",
    "type": "/queue?type=contact",
    "reason": "/queue?reason=conflict",
    "type+reason": "/queue?type=company&reason=rule",
}


def record(entity: EntityType, rid: int, n: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ID": str(rid),
        "NAME": "Oleg",
        "LAST_NAME": "Sidorov",
        "SECOND_NAME": "Petrovich",
        "POST": f"Engineer {n}",
        "ASSIGNED_BY_ID": str(1 + n % 3),
        "PHONE": [
            {"ID": str(rid * 10), "VALUE": f"+7 912 {rid % 1000:03d}-11-22", "VALUE_TYPE": "WORK"}
        ],
        "EMAIL": [{"ID": str(rid * 10 + 1), "VALUE": f"o{rid}@home.example", "VALUE_TYPE": "HOME"}],
        "DATE_CREATE": "2026-01-01T10:00:00+03:00",
        "DATE_MODIFY": f"2026-02-{1 + n:02d}T10:00:00+03:00",
        "COMMENTS": "Called about the order; wants a call back on Monday.",
        "SOURCE_ID": "CALL",
        "TYPE_ID": "CLIENT",
        "OPENED": "Y",
        "EXPORT": "Y",
        "CREATED_BY_ID": "1",
        "MODIFY_BY_ID": "1",
        "HAS_PHONE": "Y",
        "HAS_EMAIL": "Y",
        "ADDRESS": "Lenina 1, Moscow",
        "UF_CRM_REGION": "Moscow",
        "UF_CRM_SEGMENT": "B2C",
    }
    if entity is EntityType.COMPANY:
        fields["TITLE"] = f"Romashka {rid}"
    return fields


async def seed(redis: aioredis.Redis, keys: Keys, count: int) -> float:
    queue = ReviewQueue(redis, keys)
    types, reasons = list(EntityType), list(ReviewReason)
    started = time.monotonic()
    now = time.time()

    async def one(n: int) -> None:
        entity = types[n % len(types)]
        ids = [100_000 + 3 * n, 100_001 + 3 * n] + ([100_002 + 3 * n] if n % 5 == 0 else [])
        records = {str(i): record(entity, i, k) for k, i in enumerate(ids)}
        group = ReviewGroup(
            entity=entity,
            ids=ids,
            reason=reasons[(n // 3) % len(reasons)],
            detail="a person decides POST, ASSIGNED_BY_ID",
            differing={
                c: {str(i): records[str(i)][c] for i in ids} for c in ("POST", "ASSIGNED_BY_ID")
            },
            records=records,
            evidence={str(i): [f"PHONE:+7912{ids[0] % 1000:03d}1122"] for i in ids[1:]},
            first_seen=now - count + n,
        )
        await queue.put(group)

    for start in range(0, count, 200):
        await asyncio.gather(*(one(n) for n in range(start, min(count, start + 200))))
    return time.monotonic() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def measure(base: str, rounds: int, group_ids: list[str]) -> dict[str, dict[str, float]]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(base + "/login") as response:
            token = re.search(r'name="csrf" value="([^"]+)"', await response.text())
        assert token, "no login form"
        async with http.post(
            base + "/login", data={"csrf": token.group(1), "password": PASSWORD}
        ) as response:
            assert response.url.path == "/", f"login failed: {response.status}"
        views = dict(VIEWS)
        views["group page"] = ""
        timings: dict[str, list[float]] = {name: [] for name in views}
        for n in range(rounds):
            for name, path in views.items():
                path = path or f"/groups/{group_ids[n % len(group_ids)]}"
                started = time.perf_counter()
                async with http.get(base + path) as response:
                    body = await response.text()
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status == 200 and "</html>" in body, (path, response.status)
                if n > 0:  # the first round warms the templates' cache
                    timings[name].append(elapsed)
    summary = {}
    for name, values in timings.items():
        summary[name] = {
            "p50": round(percentile(values, 0.50), 1),
            "p95": round(percentile(values, 0.95), 1),
            "p99": round(percentile(values, 0.99), 1),
            "max": round(max(values), 1),
            "n": len(values),
        }
    queue_values = [v for name, values in timings.items() if name in VIEWS for v in values]
    summary["queue (all views)"] = {
        "p50": round(percentile(queue_values, 0.50), 1),
        "p95": round(percentile(queue_values, 0.95), 1),
        "p99": round(percentile(queue_values, 0.99), 1),
        "max": round(max(queue_values), 1),
        "n": len(queue_values),
    }
    return summary


async def wait_ready(base: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.returncode is not None:
                raise SystemExit(f"the review page exited with {process.returncode}")
            try:
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the review page did not answer within 30 s")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=101, help="requests per view (+1 warm-up)")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6391/0")
    prefix = f"bench-review:{uuid.uuid4().hex[:8]}:"
    keys = Keys(prefix)
    redis = aioredis.from_url(redis_url)
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="bench-review-")) / "review.log"
    try:
        seconds = await seed(redis, keys, args.groups)
        assert await ReviewQueue(redis, keys).count() == args.groups
        group_ids = [raw.decode() for raw in await redis.zrange(keys.review_index, 0, 99)]
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": prefix,
            "REVIEW_PASSWORD": PASSWORD,
            "REVIEW_HOST": "127.0.0.1",
            "REVIEW_PORT": str(port),
            "LOG_LEVEL": "INFO",
        }
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "commands.main", "review",
                env=env, cwd=tempfile.gettempdir(), stdout=output, stderr=output,
            )  # fmt: skip
            try:
                base = f"http://127.0.0.1:{port}"
                await wait_ready(base, process)
                summary = await measure(base, args.rounds, group_ids)
            finally:
                process.terminate()
                await asyncio.wait_for(process.wait(), 30)
    finally:
        stale = [k async for k in redis.scan_iter(match=f"{prefix}*", count=10_000)]
        for start in range(0, len(stale), 5000):
            await redis.delete(*stale[start : start + 5000])
        await redis.aclose()
    print(f"{args.groups} groups seeded in {seconds:.1f} s; {args.rounds - 1} requests per view")
    print(f"{'view':20} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, figures in summary.items():
        print(
            f"{name:20} {figures['p50']:8.1f} {figures['p95']:8.1f} "
            f"{figures['p99']:8.1f} {figures['max']:8.1f}"
        )
    p95 = summary["queue (all views)"]["p95"]
    verdict = "met" if p95 <= P95_TARGET_MS else "MISSED"
    print(f"queue page p95 {p95} ms: target <= {P95_TARGET_MS:.0f} ms {verdict}")
    print(
        json.dumps(
            {
                "bench": "review_page",
                "groups": args.groups,
                "views": summary,
                "queue_p95_ms": p95,
                "target_ms": P95_TARGET_MS,
                "met": p95 <= P95_TARGET_MS,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            }
        )
    )
    return 0 if p95 <= P95_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

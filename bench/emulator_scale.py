"""The emulator at a million records: memory per record and the cost of the list walk.

Seeds ``--records`` synthetic contacts (``b24.emulator.synthetic``: a name, one or two
phones, an e-mail) with ``Portal.add_many`` into an emulator on 127.0.0.1, then walks
them as the service's backfill will (REST docs: big data): ``crm.contact.list`` ordered
by ID, ``filter[>ID]`` = the last ID seen, ``start=-1``, 50 rows a page, alone and as
batches of 50 pages chained by ``$result[pN][49][ID]``.

Figures:
- seeding time, and memory per record: RSS after seeding minus RSS before, divided
  by the records; the split between the records and the findbycomm index is taken
  with tracemalloc on a sample of ``--sample`` records;
- a page of the fast walk: in-process (``listing.list_records``) and over HTTP, at
  the start, middle and end of the base;
- a batch of 50 chained pages over HTTP, and the whole walk by such batches (bounded
  by ``--walk-seconds``; the rows per second give the time for the rest);
- a page with the code before the ID index (``listing._scan``: test every record,
  sort the matches), ``--baseline-pages`` times.

Prints a table; the last line is one JSON object. Everything stays in this process
and on 127.0.0.1; at a million records it takes a few minutes and about 4 GB.

    .venv/bin/python bench/emulator_scale.py --records 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from b24.crm import EntityType
from b24.emulator import listing
from b24.emulator.config import EmulatorConfig
from b24.emulator.portal import Portal
from b24.emulator.server import RunningEmulator, running_emulator
from b24.emulator.synthetic import contacts
from b24.phpquery import encode_php_query

MAX_RECORDS = 5_000_000  # about 20 GB: the bound of this benchmark
PAGE = 50
CHAIN = 50  # list commands in one batch (Bitrix24 REST docs, batch: at most 50)
SELECT = ["ID", "NAME", "LAST_NAME", "PHONE", "EMAIL"]
CONTACT = EntityType.CONTACT


def rss_bytes() -> int:
    """This process's resident set, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def walk_params(after: Any) -> dict[str, Any]:
    return {"order": {"ID": "ASC"}, "filter": {">ID": after}, "select": SELECT, "start": -1}


def chained_batch(after: Any) -> dict[str, Any]:
    """50 pages: the first after ``after``, each next one after its predecessor's 50th row."""
    commands = {}
    for n in range(CHAIN):
        anchor = after if n == 0 else f"$result[p{n - 1}][{PAGE - 1}][ID]"
        commands[f"p{n}"] = "crm.contact.list?" + encode_php_query(walk_params(anchor))
    return {"halt": 0, "cmd": commands}


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def memory_split(sample: int) -> dict[str, float]:
    """Bytes per record of the records and of the findbycomm index (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    portal = Portal()
    portal.add_many(CONTACT, contacts(sample))
    gc.collect()
    total = tracemalloc.get_traced_memory()[0]
    portal.communications = type(portal.communications)()
    gc.collect()
    records = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"records": records / sample, "findbycomm_index": (total - records) / sample}


class Walker:
    def __init__(self, http: aiohttp.ClientSession, emulator: RunningEmulator) -> None:
        self.http = http
        self.url = emulator.webhook_url

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        async with self.http.post(self.url + method, json=params) as response:
            body = await response.json(content_type=None)
        if response.status != 200 or "error" in body:
            raise RuntimeError(f"{method}: HTTP {response.status} {body}")
        return body["result"]

    async def page(self, after: int) -> tuple[float, list[dict[str, Any]]]:
        started = time.perf_counter()
        rows = await self.call("crm.contact.list", walk_params(after))
        return time.perf_counter() - started, rows

    async def batch(self, after: int) -> tuple[float, list[dict[str, Any]]]:
        started = time.perf_counter()
        result = await self.call("batch", chained_batch(after))
        if result["result_error"]:
            raise RuntimeError(f"batch errors: {result['result_error']}")
        rows = [row for n in range(CHAIN) for row in result["result"][f"p{n}"]]
        return time.perf_counter() - started, rows


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    config = EmulatorConfig(
        secret="bench-scale", rps=1e9, burst=10**9, operating_limit=1e12, request_time_limit=1e9
    )
    figures: dict[str, Any] = {"records": args.records}
    async with running_emulator(config) as emulator, aiohttp.ClientSession() as http:
        portal = emulator.engine.portal
        gc.collect()
        before = rss_bytes()
        seconds, _ = timed(lambda: portal.add_many(CONTACT, contacts(args.records)))
        gc.collect()
        figures["seed_seconds"] = seconds
        figures["rss_bytes_per_record"] = (rss_bytes() - before) / args.records
        gc.freeze()  # a million records need no cycle collection: keep the pauses short
        store = portal.records[CONTACT.name]
        ids = store.ids()
        first, middle, last = ids[0] - 1, ids[len(ids) // 2], ids[max(0, len(ids) - PAGE - 1)]

        def in_process(after: int) -> float:
            params = walk_params(after)
            seconds, page = timed(
                lambda: listing.list_records(
                    CONTACT, store, params, user_fields=[], tz=portal.tz, page_size=PAGE
                )
            )
            assert page.rows, "an empty page where records were expected"
            return seconds

        figures["page_in_process_ms"] = {
            where: 1000 * statistics.median(in_process(after) for _ in range(20))
            for where, after in (("start", first), ("middle", middle), ("end", last))
        }
        walker = Walker(http, emulator)
        figures["page_http_ms"] = {
            where: 1000 * statistics.median([(await walker.page(after))[0] for _ in range(20)])
            for where, after in (("start", first), ("middle", middle), ("end", last))
        }

        # The whole walk by chained batches, as the backfill will read it.
        after, walked, batches, batch_times = first, 0, 0, []
        started = time.perf_counter()
        while time.perf_counter() - started < args.walk_seconds:
            seconds, rows = await walker.batch(after)
            batch_times.append(seconds)
            batches += 1
            walked += len(rows)
            if len(rows) < PAGE * CHAIN:
                break
            after = int(rows[-1]["ID"])
        elapsed = time.perf_counter() - started
        figures["batch_of_50_pages_ms"] = 1000 * statistics.median(batch_times)
        figures["walk"] = {
            "rows": walked,
            "batches": batches,
            "seconds": elapsed,
            "complete": walked == len(store),
            "rows_per_second": walked / elapsed,
            "whole_portal_seconds_estimate": len(store) / (walked / elapsed),
        }

        baseline = []
        for after in ([first, middle] + [middle] * args.baseline_pages)[: args.baseline_pages]:
            seconds, _ = timed(
                lambda after=after: listing._scan(
                    CONTACT, store.values(), {">ID": after}, {"ID": "ASC"}, portal.tz, 0, PAGE
                )
            )
            baseline.append(seconds)
        figures["page_before_index_seconds"] = statistics.median(baseline) if baseline else None
    figures["bytes_per_record_sample"] = memory_split(min(args.sample, args.records))
    return figures


def report(figures: dict[str, Any]) -> None:
    n = figures["records"]
    split = figures["bytes_per_record_sample"]
    walk = figures["walk"]
    lines = [
        f"records                                  {n:,}",
        f"seeding (Portal.add_many)                {figures['seed_seconds']:.1f} s "
        f"({1e6 * figures['seed_seconds'] / n:.1f} us a record)",
        f"memory per record (RSS)                  {figures['rss_bytes_per_record']:,.0f} bytes",
        f"  of which records / findbycomm index    {split['records']:,.0f} / "
        f"{split['findbycomm_index']:,.0f} bytes (tracemalloc sample)",
    ]
    for label, key in (("in process", "page_in_process_ms"), ("over HTTP", "page_http_ms")):
        cost = figures[key]
        lines.append(
            f"fast-walk page, {label:<11}              start {cost['start']:.2f} ms, "
            f"middle {cost['middle']:.2f} ms, end {cost['end']:.2f} ms"
        )
    lines.append(
        f"batch of 50 chained pages (2,500 rows)   {figures['batch_of_50_pages_ms']:.0f} ms"
    )
    lines.append(
        f"walk by batches                          {walk['rows']:,} rows in "
        f"{walk['seconds']:.1f} s ({walk['rows_per_second']:,.0f} rows/s; whole portal "
        f"{'walked' if walk['complete'] else 'estimated'}: "
        f"{walk['whole_portal_seconds_estimate']:.0f} s)"
    )
    if figures["page_before_index_seconds"] is not None:
        lines.append(
            f"page before the ID index (scan + sort)   {figures['page_before_index_seconds']:.2f} s"
        )
    print("\n".join(lines))
    print(json.dumps(figures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The emulator at a million records.")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--walk-seconds", type=float, default=300.0, help="bound on the walk by batches"
    )
    parser.add_argument("--baseline-pages", type=int, default=3)
    parser.add_argument("--sample", type=int, default=100_000, help="tracemalloc sample size")
    args = parser.parse_args(argv)
    if not PAGE * CHAIN <= args.records <= MAX_RECORDS:
        parser.error(f"--records must be between {PAGE * CHAIN:,} and {MAX_RECORDS:,}")
    report(asyncio.run(measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Drain: a burst of portal changes through the whole service at Bitrix24's limits (issue 7).

    REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/drain.py
    # a second, labelled what-if: mergeBatch charged 0.5 s instead of the docs' 2 s
    REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/drain.py --merge-time 0.5 \\
        --naive-events 0 --memory-events 0

All on 127.0.0.1. The portal emulator runs in this process at the docs' default limits
(2 requests/s, burst 50; operating limit 420 s per 10 minutes, the Bitrix24 source's
default; method times of
``b24.emulator.config.DEFAULT_METHOD_TIMES``: mergeBatch 2 s, findbycomm 0.02 s, the
rest 0.005 s, accounted but not slept), seeded with a generated portal
(``bench/_drain_portal.py``: 20,000 contacts, 5,000 leads, 3,000 companies, with
traps). The service runs as its own processes, configured by environment variables
only: the ingress (``b24-dedupe web``) and ``--workers`` workers (``b24-dedupe
worker``), with Redis at REDIS_URL under a throw-away prefix.

Phases:

1. **drain**: the portal's users make ``--events`` changes at once (30 % duplicates of
   existing records written differently, traps, new records, edits), each one outbound
   event; the clock runs until every event (those the service's own merges cause
   included) has been delivered and no job waits or runs.
2. **naive**: the same with ``B24_BATCH_COMMANDS=1`` (each call its own request) and a
   smaller burst (``--naive-events``), for the ratio of requests per event.
3. **memory**: the ingress alone, no worker, on a throw-away ``redis-server`` (REDIS_URL
   when none is installed): ``--memory-events`` events queued, ``INFO memory``
   ``used_memory`` delta per event.

Each drain stops at ``--deadline`` seconds and reports where it got to. A figure not
reached is reported, not an error. Prints tables; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import ctypes
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiohttp
import redis.asyncio as aioredis
from _drain_portal import Change, build_portal, plan_changes
from ingress import machine, redis_report_and_cleanup, wait_healthy

from b24.emulator.config import DEFAULT_METHOD_TIMES, EmulatorConfig
from b24.emulator.fields import ENTITY_TYPES
from b24.emulator.server import RunningEmulator, free_port, running_emulator
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings

TOKEN = "bench-drain-application-token"
MERGE_METHOD = "crm.entity.mergebatch"
TARGETS = {
    "requests_per_event": 0.1,
    "wall_s": 150.0,
    "naive_requests_per_event": 3.0,
    "ratio": 30.0,
    "query_limit_refusals": 0,
    "worker_peak_rss_mb": 150.0,
    "redis_bytes_per_event": 1024.0,
}
POLL_SECONDS = 0.25
_NUMBERS = re.compile(r"[0-9a-f]{32}|\d+")  # job ids, ports, times: one message, one count
START_TIMEOUT = 30.0


# -- the service's processes ------------------------------------------------------------
@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process has had."""
        return _vm_hwm_mb(self.process.pid)


_children: list[Child] = []


def _vm_hwm_mb(pid: int | str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the benchmark dies (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> Child:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop them in order
            preexec_fn=_die_with_parent,
        )
    child = Child(name, process, log)
    _children.append(child)
    return child


def stop(children: list[Child]) -> None:
    """SIGTERM, a bounded wait, then SIGKILL; always leaves none of them running."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    for child in children:
        try:
            child.process.wait(15)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait(5)
        if child in _children:
            _children.remove(child)


atexit.register(lambda: stop(list(_children)))


def service_env(redis_url: str, prefix: str, **settings: str | int) -> dict[str, str]:
    """The environment of a service process: ours, without any setting of the service
    (a developer's MERGE_MODE must not change the benchmark), plus ``settings``."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(REDIS_URL=redis_url, REDIS_PREFIX=prefix, B24_APPLICATION_TOKEN=TOKEN)
    env.update(LOG_FORMAT="json", LOG_LEVEL="INFO")
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "commands.main", *args]


async def wait_for_key(redis: aioredis.Redis, key: str, child: Child) -> None:
    """Until ``key`` exists (a worker writes arq's health check key when it polls)."""
    for _ in range(int(START_TIMEOUT / 0.1)):  # bounded
        if child.process.poll() is not None:
            raise SystemExit(f"{child.name} exited ({child.process.returncode}): see {child.log}")
        if await redis.exists(key):
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"{child.name} did not start within {START_TIMEOUT:.0f} s: see {child.log}")


def log_warnings(children: list[Child]) -> dict[str, int]:
    """Log lines at WARNING and above, by message (the JSON log's ``msg``)."""
    counts: Counter[str] = Counter()
    for child in children:
        for line in child.log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                    message = _NUMBERS.sub("N", str(entry.get("msg", "")))
                    counts[f"{entry['level']}: {message}"[:100]] += 1
    return dict(counts.most_common(12))


# -- one drain ---------------------------------------------------------------------------
OPERATING_LIMIT = 420.0  # s of a method's time per window (EmulatorConfig's default)
OPERATING_WINDOW = 600.0


def operating_floor(merges: int, merge_time: float) -> float:
    """The least wall time ``merges`` mergeBatch calls, all ready at once, can take at the
    operating limit: 420 s of merging in the first window, the next 420 s only once that
    window's charges have aged out 600 s later, and so on."""
    spent = merges * merge_time
    if spent <= OPERATING_LIMIT:
        return 0.0
    return float(math.ceil(spent / OPERATING_LIMIT) - 1) * OPERATING_WINDOW


@dataclass
class Scenario:
    label: str
    events: int
    batch_commands: int
    merge_time: float
    deadline: float


@dataclass
class Counters:
    """What the portal announced (each announcement is one outbound event)."""

    announced: int = 0

    def listen(self, event: str, entity: Any, entity_id: int) -> None:
        self.announced += 1


@dataclass
class Progress:
    finished_s: float | None = None
    # When as many jobs had decided "no_merge" as the burst has changes that need no merge
    # (new records, edits, traps): all but the merges was done.
    no_merge_done_s: float | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    at_150s: dict[str, Any] | None = None
    max_load: float = 0.0


def parse_metrics(raw: dict[bytes, bytes]) -> dict[str, dict[str, float]]:
    """The workers' counters hash (worker.metrics): ``name|label=value`` -> {label: n}."""
    parsed: dict[str, dict[str, float]] = {}
    for key, value in raw.items():
        name, _, label = key.decode().partition("|")
        label_value = label.split("=", 1)[1] if "=" in label else ""
        parsed.setdefault(name, {})[label_value] = float(value)
    return parsed


async def sample(
    redis: aioredis.Redis, keys: Keys, emulator: RunningEmulator, seconds: float
) -> dict[str, Any]:
    metrics = parse_metrics(await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(keys.metrics)))
    stats = emulator.engine.stats
    return {
        "t": round(seconds, 1),
        "delivered": stats.events_sent + stats.events_failed,
        "queued": int(await redis.zcard(keys.queue)),
        "jobs_done": int(sum(metrics.get("b24dd_worker_jobs_total", {}).values())),
        "merged": int(metrics.get("b24dd_worker_merges_total", {}).get("SUCCESS", 0)),
        "requests": stats.http_requests,
        "commands": sum(stats.commands.values()),
    }


async def watch(
    redis: aioredis.Redis,
    keys: Keys,
    emulator: RunningEmulator,
    counters: Counters,
    started: float,
    scenario: Scenario,
    no_merge_expected: int,
) -> Progress:
    """Poll until every announced event is delivered and the queue is empty (three polls
    in a row), or the deadline passes."""
    progress = Progress()
    no_merge_field = "b24dd_worker_jobs_total|decision=no_merge"
    stats = emulator.engine.stats
    quiet_since: float | None = None
    quiet = 0
    next_sample = 0.0
    for _ in range(int(scenario.deadline / POLL_SECONDS) + 1):  # bounded by the deadline
        seconds = time.monotonic() - started
        progress.max_load = max(progress.max_load, os.getloadavg()[0])
        delivered = stats.events_sent + stats.events_failed
        queued = await redis.zcard(keys.queue)
        if progress.no_merge_done_s is None:
            decided = float(
                await cast(Awaitable[Any], redis.hget(keys.metrics, no_merge_field)) or 0
            )
            if decided >= no_merge_expected:
                progress.no_merge_done_s = round(seconds, 1)
        if delivered >= counters.announced and queued == 0:
            quiet_since = seconds if quiet == 0 else quiet_since
            quiet += 1
            if quiet >= 3:
                progress.finished_s = quiet_since
                break
        else:
            quiet = 0
        if progress.at_150s is None and seconds >= TARGETS["wall_s"]:
            progress.at_150s = await sample(redis, keys, emulator, seconds)
        if seconds >= next_sample:
            point = await sample(redis, keys, emulator, seconds)
            progress.samples.append(point)
            print(
                f"  {scenario.label:8} {point['t']:7.1f} s  delivered {point['delivered']:5}  "
                f"queued {point['queued']:5}  jobs done {point['jobs_done']:5}  "
                f"merged {point['merged']:4}  requests {point['requests']:5}",
                file=sys.stderr,
                flush=True,
            )
            next_sample += 10.0 if seconds < 300 else 60.0
        if seconds >= scenario.deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
    return progress


def make_changes(emulator: RunningEmulator, changes: list[Change]) -> dict[tuple[str, int], Change]:
    """The users' changes, through the portal itself (each fires its event; users' edits
    do not use the app's REST limit). Answers the added records by (type, new ID)."""
    portal = emulator.engine.portal
    added = {}
    for change in changes:
        entity = ENTITY_TYPES[change.entity]
        if change.action == "add":
            added[(change.entity, portal.add(entity, change.fields))] = change
        else:
            assert change.record_id is not None
            portal.update(entity, change.record_id, change.fields)
    return added


def verify(emulator: RunningEmulator, added: dict[tuple[str, int], Change]) -> dict[str, int]:
    """What became of the planted duplicates and traps, read from the portal's records."""
    records = emulator.engine.portal.records
    outcome: Counter[str] = Counter()
    for (entity, new_id), change in added.items():
        present = records[entity]
        merged = new_id not in present and change.original in present
        if change.kind == "duplicate":
            outcome["duplicates_merged" if merged else "duplicates_not_merged"] += 1
        elif change.kind == "conflict":
            # The same person with another position: Bitrix24 refuses; a rules file
            # (--rules, e.g. POST = "newest") settles it first, else it waits for review.
            outcome["conflicts_merged_by_rules" if merged else "conflicts_left_alone"] += 1
        elif new_id not in present:
            outcome["traps_or_new_records_merged_away"] += 1
    return dict(outcome)


async def run_drain(args: argparse.Namespace, scenario: Scenario) -> dict[str, Any]:
    rng = random.Random(args.seed)
    portal, phones = build_portal(
        rng,
        contacts=args.contacts,
        leads=args.leads,
        companies=args.companies,
        spare_phones=scenario.events * 2,
    )
    changes = plan_changes(rng, portal, phones, scenario.events)
    prefix = f"bench-drain-{os.urandom(4).hex()}:"
    keys = Keys(prefix)
    ingress_port = free_port()
    method_times = {**DEFAULT_METHOD_TIMES, MERGE_METHOD: scenario.merge_time}
    config = EmulatorConfig(
        secret=uuid.uuid4().hex,
        events_url=f"http://127.0.0.1:{ingress_port}/webhooks/bitrix24",
        application_token=TOKEN,
        method_times=method_times,
    )
    redis = aioredis.Redis.from_url(args.redis_url)
    children: list[Child] = []
    counters = Counters()
    print(
        f"{scenario.label}: {scenario.events} events, B24_BATCH_COMMANDS="
        f"{scenario.batch_commands}, mergeBatch {scenario.merge_time} s",
        file=sys.stderr,
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="b24-drain-") as tmp:
            async with running_emulator(config, seed=portal.seed) as emulator:
                env = service_env(
                    args.redis_url,
                    prefix,
                    b24_webhook_url=emulator.webhook_url,
                    b24_batch_commands=scenario.batch_commands,
                    worker_concurrency=args.concurrency,
                    **({"merge_rules_file": args.rules} if args.rules else {}),
                )
                work = Path(tmp)
                web = ["web", "--host", "127.0.0.1", "--port", str(ingress_port)]
                children.append(spawn("ingress", command(*web), env, work / "ingress.log", work))
                for number in range(1, args.workers + 1):
                    await redis.delete(keys.worker_health)
                    log = work / f"worker-{number}.log"
                    children.append(spawn(f"worker {number}", command("worker"), env, log, work))
                    await wait_for_key(redis, keys.worker_health, children[-1])
                await asyncio.to_thread(wait_healthy, ingress_port, children[0].process, "ingress")
                async with (
                    aiohttp.ClientSession() as http,
                    http.delete(f"{emulator.root}/_emulator/stats") as response,
                ):
                    response.raise_for_status()
                emulator.engine.portal.listeners.append(counters.listen)
                load_before = os.getloadavg()[0]
                started = time.monotonic()
                added = make_changes(emulator, changes)
                no_merge = sum(c.kind not in ("duplicate", "conflict") for c in changes)
                progress = await watch(redis, keys, emulator, counters, started, scenario, no_merge)
                stats = emulator.engine.stats.as_dict()
                metrics = parse_metrics(await redis.hgetall(keys.metrics))
                rss = {child.name: round(child.peak_rss_mb(), 1) for child in children}
                rss["benchmark (emulator, portal)"] = round(_vm_hwm_mb("self"), 1)
                planted = verify(emulator, added)
                stop(children)
                warnings = log_warnings(children[1:])
                if args.logs:
                    kept = Path(args.logs) / scenario.label
                    kept.mkdir(parents=True, exist_ok=True)
                    for child in children:
                        shutil.copy(child.log, kept / child.log.name)
    finally:
        stop(children)
        await redis.aclose()
        cleaned = await redis_report_and_cleanup(args.redis_url, prefix)
    requests = stats["http_requests"]
    return {
        "label": scenario.label,
        "events": scenario.events,
        "batch_commands": scenario.batch_commands,
        "merge_time_s": scenario.merge_time,
        "merge_time_is_docs_default": scenario.merge_time == DEFAULT_METHOD_TIMES[MERGE_METHOD],
        "workers": args.workers,
        "worker_concurrency": args.concurrency,
        "finished": progress.finished_s is not None,
        "wall_s": round(progress.finished_s, 1) if progress.finished_s is not None else None,
        "no_merge_done_s": progress.no_merge_done_s,
        "deadline_s": scenario.deadline,
        "events_announced": counters.announced,
        "events_delivered": stats["events"],
        "http_requests": requests,
        "batch_requests": stats["batch_requests"],
        "commands": stats["commands_total"],
        "commands_by_method": stats["commands"],
        "requests_per_event": round(requests / scenario.events, 4),
        "commands_per_request": round(stats["commands_total"] / max(1, requests), 1),
        "refusals": stats["refusals"],
        "command_errors": stats["command_errors"],
        "jobs": {k: int(v) for k, v in metrics.get("b24dd_worker_jobs_total", {}).items()},
        "merges": {k: int(v) for k, v in metrics.get("b24dd_worker_merges_total", {}).items()},
        # mergeBatch answers as the portal gave them; CONFLICT should be 0 (predicted).
        "mergebatch_answers": stats["merges"]["statuses"],
        # Issue 13's floor: the merges' time at 420 s per 600 s; and the exact one for
        # merges all ready at once (the first window's budget is there at the start).
        "operating_floor_s": round(
            stats["commands"].get(MERGE_METHOD, 0)
            * scenario.merge_time
            * OPERATING_WINDOW
            / OPERATING_LIMIT,
            1,
        ),
        "operating_floor_burst_s": operating_floor(
            stats["commands"].get(MERGE_METHOD, 0), scenario.merge_time
        ),
        "rules": args.rules,
        "planted": planted,
        "peak_rss_mb": rss,
        "worker_log_warnings": warnings,
        "at_150s": progress.at_150s,
        "timeline": progress.samples,
        "load_before": round(load_before, 2),
        "load_max": round(progress.max_load, 2),
        "redis_keys_cleaned": cleaned["keys_deleted"],
    }


# -- Redis memory per queued event -------------------------------------------------------
@contextlib.contextmanager
def throwaway_redis(fallback_url: str) -> Iterator[tuple[str, str]]:
    """A redis-server of our own (nothing else writes to it), or REDIS_URL without one."""
    server = shutil.which("redis-server")
    if server is None:
        yield fallback_url, "REDIS_URL (shared: other users add noise)"
        return
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="b24-drain-redis-") as tmp:
        argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", tmp]
        child = spawn("redis-server", argv, dict(os.environ), Path(tmp) / "redis.log", Path(tmp))
        try:
            yield f"redis://127.0.0.1:{port}/0", "a throw-away redis-server"
        finally:
            stop([child])


async def used_memory(redis: aioredis.Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def wait_delivered(emulator: RunningEmulator, count: int, within: float = 120.0) -> None:
    stats = emulator.engine.stats
    for _ in range(int(within / 0.1)):  # bounded
        if stats.events_sent + stats.events_failed >= count:
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"only {stats.events_sent} of {count} events delivered in {within} s")


async def run_memory(args: argparse.Namespace) -> dict[str, Any]:
    warm_up = 100
    prefix = f"bench-drain-memory-{os.urandom(4).hex()}:"
    keys = Keys(prefix)
    with throwaway_redis(args.redis_url) as (url, which), tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config = EmulatorConfig(
            secret=uuid.uuid4().hex,
            events_url=f"http://127.0.0.1:{port}/webhooks/bitrix24",
            application_token=TOKEN,
        )
        redis = aioredis.Redis.from_url(url)
        ingress: list[Child] = []
        try:
            async with running_emulator(config) as emulator:
                env = service_env(url, prefix, b24_webhook_url=emulator.webhook_url)
                web = command("web", "--host", "127.0.0.1", "--port", str(port))
                ingress.append(spawn("ingress", web, env, Path(tmp) / "ingress.log", Path(tmp)))
                await asyncio.to_thread(wait_healthy, port, ingress[0].process, "ingress")
                portal, contact = emulator.engine.portal, ENTITY_TYPES["CONTACT"]
                for n in range(warm_up):  # scripts loaded, connections and buffers grown
                    portal.add(contact, {"NAME": f"Warm {n}"})
                await wait_delivered(emulator, warm_up)
                await asyncio.sleep(0.5)
                before = await used_memory(redis)
                for n in range(args.memory_events):  # each a new record: a job each
                    portal.add(contact, {"NAME": f"Queued {n}", "PHONE": [{"VALUE": "+7999"}]})
                await wait_delivered(emulator, warm_up + args.memory_events)
                await asyncio.sleep(0.5)
                after = await used_memory(redis)
                queued = int(await redis.zcard(keys.queue))
                job_ids = await redis.zrange(keys.queue, 0, -1)
                sizes = [await redis.memory_usage(b"arq:job:" + job_id) or 0 for job_id in job_ids]
                pending = [
                    await redis.memory_usage(key) or 0
                    async for key in redis.scan_iter(match=f"{prefix}pending:*", count=1000)
                ]
                queue_size = await redis.memory_usage(keys.queue) or 0
        finally:
            stop(ingress)
            await redis.aclose()
            await redis_report_and_cleanup(url, prefix)
    return {
        "redis": which,
        "events": args.memory_events,
        "jobs_queued": queued,
        "used_memory_before": before,
        "used_memory_after": after,
        "bytes_per_event": round((after - before) / args.memory_events, 1),
        "memory_usage_per_job": {
            "job_key": round(sum(sizes) / max(1, len(sizes)), 1),
            "pending_key": round(sum(pending) / max(1, len(pending)), 1),
            "queue_entry": round(queue_size / max(1, queued), 1),
        },
    }


# -- the report ----------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, dict):
        return ", ".join(f"{k or '-'} {v}" for k, v in value.items()) or "none"
    return str(value)


def print_table(results: list[dict[str, Any]]) -> None:
    rows = [
        ("events (portal users' changes)", "events"),
        ("B24_BATCH_COMMANDS", "batch_commands"),
        ("mergeBatch time, s", "merge_time_s"),
        ("finished", "finished"),
        ("wall time, s", "wall_s"),
        ("all but merges done at, s", "no_merge_done_s"),
        ("at 150 s", "at_150s"),
        ("events delivered (incl. merges')", "events_announced"),
        ("Bitrix24 HTTP requests", "http_requests"),
        ("of them batch requests", "batch_requests"),
        ("commands", "commands"),
        ("requests per event", "requests_per_event"),
        ("commands per request", "commands_per_request"),
        ("merges by outcome", "merges"),
        ("mergeBatch answers (portal)", "mergebatch_answers"),
        ("operating floor (420 s per 600 s), s", "operating_floor_s"),
        ("operating floor, all at once, s", "operating_floor_burst_s"),
        ("rules file", "rules"),
        ("refusals (HTTP)", "refusals"),
        ("errors inside batches", "command_errors"),
        ("jobs by decision", "jobs"),
        ("planted records", "planted"),
        ("peak RSS, MB", "peak_rss_mb"),
        ("worker log warnings", "worker_log_warnings"),
        ("load average 1 min, max", "load_max"),
    ]
    width = 34
    print()
    print(f"{'':{width}}" + "".join(f"{r['label']:>24}" for r in results))
    for title, key in rows:
        cells = [_fmt(r.get(key)) for r in results]
        if max(len(c) for c in cells) <= 22:
            print(f"{title:{width}}" + "".join(f"{c:>24}" for c in cells))
        else:
            print(title)
            for result, cell in zip(results, cells, strict=True):
                print(f"  {result['label']:>{width - 2}}  {cell}")


def assess(
    drain: dict[str, Any] | None, naive: dict[str, Any] | None, memory: dict[str, Any] | None
) -> dict[str, Any]:
    met: dict[str, Any] = {}
    if drain is not None:
        met["requests_per_event"] = drain["requests_per_event"] <= TARGETS["requests_per_event"]
        met["wall_s"] = drain["finished"] and drain["wall_s"] <= TARGETS["wall_s"]
        met["query_limit_refusals"] = drain["refusals"].get("QUERY_LIMIT_EXCEEDED", 0) == 0
        workers = [v for k, v in drain["peak_rss_mb"].items() if k.startswith("worker")]
        met["worker_peak_rss_mb"] = max(workers) <= TARGETS["worker_peak_rss_mb"]
    if naive is not None:
        met["naive_requests_per_event"] = (
            naive["requests_per_event"] > TARGETS["naive_requests_per_event"]
        )
    if drain is not None and naive is not None:
        met["ratio"] = naive["requests_per_event"] / drain["requests_per_event"] >= TARGETS["ratio"]
    if memory is not None:
        met["redis_bytes_per_event"] = memory["bytes_per_event"] <= TARGETS["redis_bytes_per_event"]
    return met


async def run(args: argparse.Namespace) -> dict[str, Any]:
    host = machine()
    merge_time = args.merge_time
    label = "drain" if merge_time == DEFAULT_METHOD_TIMES[MERGE_METHOD] else f"drain@{merge_time}s"
    drain = naive = memory = None
    if args.events:
        scenario = Scenario(label, args.events, 50, merge_time, args.deadline)
        drain = await run_drain(args, scenario)
    if args.naive_events:
        scenario = Scenario("naive", args.naive_events, 1, merge_time, args.naive_deadline)
        naive = await run_drain(args, scenario)
    if args.memory_events:
        memory = await run_memory(args)
    results = [r for r in (drain, naive) if r is not None]
    if results:
        print_table(results)
    ratio = None
    if drain is not None and naive is not None:
        ratio = round(naive["requests_per_event"] / drain["requests_per_event"], 1)
        print(f"ratio of requests per event, naive / batched: {ratio} (target >= 30)")
    if memory is not None:
        print(
            f"Redis memory per queued event: {memory['bytes_per_event']} B "
            f"({memory['events']} events, {memory['redis']}; target <= 1024 B)"
        )
    met = assess(drain, naive, memory)
    print("targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in met.items()))
    host["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "benchmark": "drain",
        "drain": drain,
        "naive": naive,
        "ratio": ratio,
        "memory": memory,
        "targets": TARGETS,
        "met": met,
        "machine": host,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="burst of the drain (0: skip)")
    parser.add_argument("--naive-events", type=int, default=200, help="burst without batching")
    parser.add_argument("--memory-events", type=int, default=2000, help="events queued (0: skip)")
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--companies", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=50, help="WORKER_CONCURRENCY")
    parser.add_argument(
        "--merge-time",
        type=float,
        default=DEFAULT_METHOD_TIMES[MERGE_METHOD],
        help="seconds the emulator charges a mergeBatch (the docs' example: 2)",
    )
    parser.add_argument(
        "--rules", help="MERGE_RULES_FILE for the workers (e.g. bench/drain-rules.toml)"
    )
    parser.add_argument("--deadline", type=float, default=2400.0, help="drain bound, s")
    parser.add_argument("--naive-deadline", type=float, default=1200.0, help="naive bound, s")
    parser.add_argument("--seed", type=int, default=7, help="of the generated portal")
    parser.add_argument("--logs", help="keep the service's logs in this directory")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6391/0")
    )
    args = parser.parse_args()
    if not (0 <= args.events <= 20_000 and 0 <= args.naive_events <= 2_000):
        parser.error("--events 0..20000, --naive-events 0..2000")
    if not (0 <= args.memory_events <= 100_000 and 1 <= args.workers <= 8):
        parser.error("--memory-events 0..100000, --workers 1..8")
    if not (10 <= args.deadline <= 7200 and 10 <= args.naive_deadline <= 7200):
        parser.error("--deadline and --naive-deadline 10..7200 s")
    if args.rules:
        if not Path(args.rules).is_file():
            parser.error(f"--rules {args.rules}: no such file")
        args.rules = str(Path(args.rules).resolve())  # the services run in another directory
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # finally blocks run
    try:
        report = asyncio.run(run(args))
    except KeyboardInterrupt:
        print("interrupted: every process started was stopped", file=sys.stderr)
        return 130
    print(json.dumps(report))
    return 0  # a figure not reached is reported, not an error (the machine may be busy)


if __name__ == "__main__":
    sys.exit(main())

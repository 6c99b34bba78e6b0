"""Ingress throughput: accepted events/s and latency at 32 connections, against a bare
aiohttp handler that only reads the body, measured in the same run (issue 4).

    REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/ingress.py

Both servers run as their own processes on 127.0.0.1: the real ingress
(``b24-dedupe web``, JSON log lines to a file, Redis at REDIS_URL under a
throw-away prefix) and the bare handler. wrk (``apt-get install -y wrk``) POSTs
Bitrix24-shaped form events with a new record ID each time, so that every event
creates a job (the most expensive path). The rounds alternate bare and ingress;
each kind's best round is reported, as noise from other processes only slows a
round down. Prints a table; the last line is one JSON object.

Targets: ingress >= 0.3 x bare events/s, ingress p99 <= 15 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-application-token"
RATIO_TARGET = 0.3
P99_TARGET_MS = 15.0

# One event as the portal sends it (Bitrix24 REST docs: outbound webhooks); ID filled in by wrk.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local head = "event=ONCRMCONTACTUPDATE&event_handler_id=7&data%%5BFIELDS%%5D%%5BID%%5D="
local tail = "&ts=1714557600&auth%%5Bdomain%%5D=bench.bitrix24.ru"
  .. "&auth%%5Bclient_endpoint%%5D=https%%3A%%2F%%2Fbench.bitrix24.ru%%2Frest%%2F"
  .. "&auth%%5Bserver_endpoint%%5D=https%%3A%%2F%%2Foauth.bitrix.info%%2Frest%%2F"
  .. "&auth%%5Bmember_id%%5D=a223c6b3710f85df22e9377d6c4f7553"
  .. "&auth%%5Bapplication_token%%5D=%(token)s"
local id = %(first_id)d
request = function()
  id = id + 1
  return wrk.format(nil, nil, nil, head .. ((id %% %(records)d) + 1) .. tail)
end
"""


@dataclass
class Round:
    server: str
    requests: int
    non_2xx: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float
    warmup_accepted: int

    @property
    def accepted_per_second(self) -> float:
        return (self.requests - self.non_2xx) / self.seconds


def serve_bare(port: int) -> None:
    """The comparison: an aiohttp handler that reads the body and answers 200."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/bitrix24", handle)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(200):  # bounded: 20 s
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not answer /healthz on port {port}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_DURATION = re.compile(r"([\d.]+)(us|ms|s)\b")


def _ms(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(wrk: str, url: str, script: Path, connections: int, seconds: int) -> dict[str, Any]:
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    requests = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if requests is None:
        raise SystemExit(f"cannot read wrk's output:\n{output}")
    elapsed = float(requests.group(2)) * {"s": 1.0, "ms": 0.001, "m": 60.0}[requests.group(3)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: .*", output)
    percentile = {
        m.group(1): _ms(m.group(2))
        for m in re.finditer(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", output, re.M)
    }
    return {
        "requests": int(requests.group(1)),
        "seconds": elapsed,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "p50_ms": percentile["50"],
        "p99_ms": percentile["99"],
        "socket_errors": errors.group(0) if errors else "",
    }


class Scripts:
    """A wrk script per run, each starting at record IDs no earlier run used: every
    event the ingress accepts then creates a job (none coalesces with an earlier one)."""

    SPACING = 5_000_000  # more events than one run of at most 120 s sends

    def __init__(self, folder: Path, records: int) -> None:
        self.folder = folder
        self.records = records
        self.runs = 0

    def next(self) -> Path:
        self.runs += 1
        path = self.folder / f"event-{self.runs}.lua"
        first_id = self.runs * self.SPACING + int.from_bytes(os.urandom(2), "big")
        values = {"token": TOKEN, "records": self.records, "first_id": first_id}
        path.write_text(WRK_SCRIPT % values)
        return path


def measure(
    server: str, pid: int, wrk: str, port: int, scripts: Scripts, args: argparse.Namespace
) -> Round:
    url = f"http://127.0.0.1:{port}/webhooks/bitrix24"
    warmup_accepted = 0
    if args.warmup:
        warmup = run_wrk(wrk, url, scripts.next(), args.connections, args.warmup)
        warmup_accepted = warmup["requests"] - warmup["non_2xx"]
    before = cpu_seconds(pid)
    result = run_wrk(wrk, url, scripts.next(), args.connections, args.duration)
    cpu = cpu_seconds(pid) - before
    if result["socket_errors"]:
        print(f"  {server}: wrk reports {result['socket_errors']}", file=sys.stderr)
    return Round(
        server=server,
        requests=result["requests"],
        non_2xx=result["non_2xx"],
        seconds=result["seconds"],
        rps=result["requests"] / result["seconds"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        cpu_us_per_request=cpu / max(1, result["requests"]) * 1e6,
        warmup_accepted=warmup_accepted,
    )


async def redis_report_and_cleanup(redis_url: str, prefix: str) -> dict[str, int]:
    """How many jobs the run queued; then every key it wrote, arq's job keys first."""
    import redis.asyncio as aioredis
    from arq.constants import job_key_prefix

    client = aioredis.from_url(redis_url)  # type: ignore[no-untyped-call]
    try:
        queue = prefix + "queue"
        jobs = await client.zcard(queue)
        start = 0
        while batch := await client.zrange(queue, start, start + 4999):
            await client.delete(*[job_key_prefix + job_id.decode() for job_id in batch])
            start += len(batch)
        deleted = 0
        keys: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=5000):
            keys.append(key)
            if len(keys) >= 5000:
                deleted += await client.delete(*keys)
                keys = []
        if keys:
            deleted += await client.delete(*keys)
        return {"jobs_queued": jobs, "keys_deleted": deleted + start}
    finally:
        await client.aclose()


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    redis_version = (
        subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True
        ).stdout.split()[2:3]
        if shutil.which("redis-server")
        else []
    )
    import aiohttp

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "redis_server": redis_version[0].removeprefix("v=") if redis_version else "",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured round")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--records",
        type=int,
        default=100_000_000,
        help="distinct record IDs (small: most events coalesce)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6391/0")
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        help="the ingress's LOG_LEVEL (WARNING: without its per-event lines)",
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if not 1 <= args.duration <= 120 or not 0 <= args.warmup <= 30 or not 1 <= args.rounds <= 10:
        parser.error("--duration 1..120, --warmup 0..30, --rounds 1..10")
    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk",
            file=sys.stderr,
        )
        return 2

    prefix = f"bench-ingress-{os.urandom(4).hex()}:"
    started = time.time()
    host = machine()
    with tempfile.TemporaryDirectory(prefix="b24-bench-") as tmp:
        scripts = Scripts(Path(tmp), args.records)
        log_path = Path(tmp) / "ingress.log"
        bare_port, ingress_port = free_port(), free_port()
        environment = {
            **os.environ,
            "REDIS_URL": args.redis_url,
            "REDIS_PREFIX": prefix,
            "B24_APPLICATION_TOKEN": TOKEN,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": args.log_level,
        }
        bare = subprocess.Popen(
            [sys.executable, __file__, "--serve-bare", str(bare_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with log_path.open("wb") as log:
            ingress = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "commands.main",
                    "web",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ingress_port),
                ],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        rounds: list[Round] = []
        try:
            wait_healthy(bare_port, bare, "the bare handler")
            wait_healthy(ingress_port, ingress, "the ingress")
            for number in range(args.rounds):
                for name, process, port in (
                    ("bare", bare, bare_port),
                    ("ingress", ingress, ingress_port),
                ):
                    result = measure(name, process.pid, wrk, port, scripts, args)
                    rounds.append(result)
                    print(
                        f"round {number + 1} {name:8} {result.rps:9.0f} req/s  "
                        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                        f"non-2xx {result.non_2xx}",
                        flush=True,
                    )
        finally:
            for process in (bare, ingress):
                process.terminate()
            for process in (bare, ingress):
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
            stored = asyncio.run(redis_report_and_cleanup(args.redis_url, prefix))
        log_lines = log_path.read_text(errors="replace").count("\n")

    best_bare = max((r for r in rounds if r.server == "bare"), key=lambda r: r.rps)
    best = max((r for r in rounds if r.server == "ingress"), key=lambda r: r.accepted_per_second)
    ratio = best.accepted_per_second / best_bare.rps
    met = ratio >= RATIO_TARGET and best.p99_ms <= P99_TARGET_MS
    # Every event had a new record ID: each one the ingress accepted must be a job. wrk
    # does not count the answers still on their way when a run ends (at most one per
    # connection and run), whose jobs are there too.
    ingress_rounds = [r for r in rounds if r.server == "ingress"]
    accepted = sum(r.requests - r.non_2xx + r.warmup_accepted for r in ingress_rounds)
    in_flight = args.connections * len(ingress_rounds) * (2 if args.warmup else 1)
    kept = (
        accepted <= stored["jobs_queued"] <= accepted + in_flight
        if args.records >= 10_000_000
        else None
    )

    print()
    print(f"{'':22}{'bare handler':>16}{'ingress':>16}")
    print(f"{'events/s (accepted)':22}{best_bare.rps:16.0f}{best.accepted_per_second:16.0f}")
    print(f"{'p50 latency, ms':22}{best_bare.p50_ms:16.2f}{best.p50_ms:16.2f}")
    print(f"{'p99 latency, ms':22}{best_bare.p99_ms:16.2f}{best.p99_ms:16.2f}")
    print(
        f"{'server CPU/request, us':22}{best_bare.cpu_us_per_request:16.0f}"
        f"{best.cpu_us_per_request:16.0f}"
    )
    print(f"{'non-2xx answers':22}{best_bare.non_2xx:16d}{best.non_2xx:16d}")
    print(
        f"ratio {ratio:.3f} (target >= {RATIO_TARGET}), ingress p99 {best.p99_ms:.2f} ms "
        f"(target <= {P99_TARGET_MS} ms): {'met' if met else 'NOT met'}"
    )
    print(
        f"events accepted {accepted}, jobs in Redis {stored['jobs_queued']}"
        f"{'' if kept is None else (' (all kept)' if kept else ' (MISSING JOBS)')}, "
        f"ingress log lines {log_lines}, "
        f"{args.connections} connections, best of {args.rounds} x {args.duration} s, "
        f"{time.time() - started:.0f} s in all"
    )
    print(
        json.dumps(
            {
                "benchmark": "ingress",
                "connections": args.connections,
                "duration_s": args.duration,
                "rounds": args.rounds,
                "log_level": args.log_level,
                "bare_rps": round(best_bare.rps),
                "ingress_accepted_per_s": round(best.accepted_per_second),
                "ratio": round(ratio, 3),
                "ingress_p50_ms": best.p50_ms,
                "ingress_p99_ms": best.p99_ms,
                "bare_p99_ms": best_bare.p99_ms,
                "targets": {"ratio": RATIO_TARGET, "p99_ms": P99_TARGET_MS},
                "met": met,
                "events_accepted": accepted,
                "jobs_queued": stored["jobs_queued"],
                "every_accepted_event_queued": kept,
                "all_rounds": [
                    {
                        **asdict(r),
                        "rps": round(r.rps),
                        "cpu_us_per_request": round(r.cpu_us_per_request),
                    }
                    for r in rounds
                ],
                "machine": host,
            }
        )
    )
    return 0  # a figure not reached is reported, not an error (the machine may be busy)


if __name__ == "__main__":
    sys.exit(main())

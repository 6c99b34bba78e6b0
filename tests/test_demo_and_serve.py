"""``b24-dedupe demo`` (what `make run` starts without a portal) and ``b24-dedupe serve``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import aiohttp
import redis.asyncio as aioredis

from b24.emulator.server import RunningEmulator, free_port
from b24_dedupe.decisions import Decision
from commands.demo.main import forget_previous_demo
from tests.conftest import REDIS_URL, StartEmulator

COMMAND = [sys.executable, "-m", "commands.main"]


async def _read_until(stream: asyncio.StreamReader, needle: str, lines: list[str]) -> bool:
    """Collect lines until one holds ``needle`` (bounded: 60 s)."""
    try:
        async with asyncio.timeout(60):
            while line := (await stream.readline()).decode():
                lines.append(line)
                if needle in line:
                    return True
    except TimeoutError:
        return False
    return False


async def test_demo_merges_duplicates_and_stops_on_ctrl_c(
    redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    port, emulator_port = free_port(), free_port()
    # Under this test's own prefix: the demo replaces what is under its prefix, and the
    # default one (b24dd-demo:) may be a `make run` demo's in the same Redis.
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "demo",
        "--port",
        str(port),
        "--emulator-port",
        str(emulator_port),
        "--every",
        "0.5",
        "--redis-prefix",
        redis_namespace,
        env={**os.environ, "REDIS_URL": REDIS_URL},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        assert await _read_until(process.stdout, "decision=merged", lines), "".join(lines[-20:])
        assert await _read_until(process.stdout, "portal user:", lines), "".join(lines[-20:])
    finally:
        process.send_signal(signal.SIGINT)
        assert process.stdout is not None
        rest = await asyncio.wait_for(process.stdout.read(), 30)
        code = await asyncio.wait_for(process.wait(), 30)
    output = "".join(lines) + rest.decode()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output
    assert "demo-secret" not in output  # the emulated webhook's secret is redacted too
    # Everything the CLI needs to see the demo's decisions (issue 8), at start and at
    # the end, with a summary of what was decided (issue 13).
    audit = f"REDIS_URL={REDIS_URL} REDIS_PREFIX={redis_namespace} b24-dedupe audit"
    assert audit in "".join(lines)
    (summary,) = [line for line in output.splitlines() if "demo stopped:" in line]
    assert " merged" in summary and audit in summary
    # One line per decision: not arq's two per job, nor a stop by a signal nobody sent.
    assert " → " not in output and " ← " not in output
    assert "SIGUSR1" not in output
    assert await redis_client.exists(f"{redis_namespace}audit-index")  # under its prefix


async def test_a_demo_forgets_only_its_own_previous_data(
    redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    mine, other = f"{redis_namespace}demo:", f"{redis_namespace}demo-other:"
    await redis_client.set(mine + "audit:1", "old")
    await redis_client.set(other + "audit:1", "someone else's")
    await forget_previous_demo(redis_client, mine)
    assert not await redis_client.exists(mine + "audit:1")
    assert await redis_client.get(other + "audit:1") == b"someone else's"


async def test_serve_runs_ingress_and_worker_against_a_portal(
    start_emulator: StartEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    port = free_port()
    emulator: RunningEmulator = await start_emulator(
        rps=50,
        burst=100,
        events_url=f"http://127.0.0.1:{port}/webhooks/bitrix24",
        application_token="serve-token",
    )
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": redis_namespace,
        "B24_WEBHOOK_URL": emulator.webhook_url,
        "B24_APPLICATION_TOKEN": "serve-token",
        "B24_RPS": "50",
        "B24_BURST": "100",
        "DEBOUNCE_SECONDS": "0.1",
        "WEB_PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        *COMMAND, "serve", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        assert await _read_until(process.stdout, "service running", lines), "".join(lines)
        async with aiohttp.ClientSession() as http:
            for name in ("Twin", "Twin"):
                async with http.post(
                    emulator.webhook_url + "crm.contact.add",
                    json={"fields": {"NAME": name, "PHONE": [{"VALUE": "+7 903 100-20-30"}]}},
                ):
                    pass
        assert await _read_until(process.stdout, f'"decision": "{Decision.MERGED}"', lines), (
            "".join(lines)
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        rest = await asyncio.wait_for(process.stdout.read(), 30)
        code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0, rest.decode()[-2000:]
    assert set(emulator.engine.portal.records["CONTACT"]) == {1}
    output = "".join(lines) + rest.decode()
    assert emulator.config.secret not in output
    assert "serve-token" not in output
    # The evidence is masked in the log (issue 12): the last digits, not the number.
    (decision,) = [json.loads(line) for line in lines if '"decision": "merged"' in line]
    assert list(decision["evidence"].values()) == [["PHONE:+•••••••2030"]]
    assert "9031002030" not in output


async def test_serve_without_a_portal_says_what_to_set(redis_namespace: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("B24_")}
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "serve",
        env={**env, "REDIS_URL": REDIS_URL},
        cwd="/",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"B24_WEBHOOK_URL" in stderr and b"b24-dedupe demo" in stderr

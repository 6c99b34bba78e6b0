"""The worker keeps trying Redis for as long as its process runs (worker/loop.py), and a
process that runs a worker says it is not ready while that worker does not run.

Each test that stops Redis runs a redis-server of its own (tests never stop the
shared one); the service's commands run as an administrator starts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from b24.crm import EntityType, RecordRef
from b24.emulator.server import RunningEmulator, free_port
from b24_dedupe.audit import AuditLog
from b24_dedupe.dedupe_queue import enqueue_event
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from tests.conftest import REDIS_URL, StartEmulator
from tests.reliability.processes import RedisServer
from tests.waiting import wait_until
from webhooks_in.app import create_app
from worker.loop import WorkerLoop

COMMAND = [sys.executable, "-m", "commands.main"]
TOKEN = "loop-application-token"
SEED = {
    "contacts": [
        {"NAME": "Loop", "PHONE": [{"VALUE": "+7 903 555-00-01"}]},
        {"NAME": "Loop", "PHONE": [{"VALUE": "+7 903 555-00-01"}]},
        {"NAME": "Other", "PHONE": [{"VALUE": "+7 903 555-00-02"}]},
    ]
}
# arq alone gives up on Redis after 5 tries a second apart: the commands are checked
# past that.
ARQ_GIVES_UP_AFTER = 6.5


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A redis-server of this test's own, not started yet."""
    server = RedisServer(tmp_path / "redis")
    try:
        yield server
    finally:
        await server.stop()


async def _decided(redis_url: str, prefix: str, record: RecordRef) -> bool:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return bool(await AuditLog(client, Keys(prefix)).for_record(record))
    except (aioredis.ConnectionError, OSError):
        return False
    finally:
        await client.aclose()


async def _enqueue(redis_url: str, prefix: str, record: RecordRef) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await enqueue_event(client, Keys(prefix), record, debounce=0.0)
    finally:
        await client.aclose()


async def test_the_loop_waits_for_redis_and_comes_back_when_it_is_lost(
    own_redis: RedisServer, start_emulator: StartEmulator
) -> None:
    emulator = await start_emulator(rps=100.0, burst=100, seed=SEED)
    settings = Settings(
        redis_url=own_redis.url,
        redis_prefix="loop-test:",
        b24_webhook_url=emulator.webhook_url,
        b24_rps=100.0,
        b24_burst=100,
    )
    loop = WorkerLoop(settings, configure_logging=False, first_retry=0.05, last_retry=0.1)
    task = loop.start()
    try:
        # Redis is not there: more failed attempts than arq alone makes, and still trying.
        await wait_until(lambda: loop.restarts >= 8, what="eight attempts to reach Redis")
        assert not task.done() and not loop.alive
        await own_redis.start()
        await wait_until(lambda: loop.alive, what="the worker to start once Redis answers")
        first = RecordRef(EntityType.CONTACT, 2)
        await _enqueue(own_redis.url, settings.redis_prefix, first)
        await wait_until(
            lambda: _decided(own_redis.url, settings.redis_prefix, first),
            what="the first job to be decided",
        )
        # Redis is lost mid-run (killed) and comes back from its append-only file.
        restarts = loop.restarts
        await own_redis.kill()
        await wait_until(lambda: not loop.alive, what="the loop to notice Redis is gone")
        await wait_until(lambda: loop.restarts > restarts + 2, what="attempts while it is gone")
        assert not task.done()
        await own_redis.start()
        await wait_until(lambda: loop.alive, what="the worker to start again")
        second = RecordRef(EntityType.CONTACT, 3)
        await _enqueue(own_redis.url, settings.redis_prefix, second)
        await wait_until(
            lambda: _decided(own_redis.url, settings.redis_prefix, second),
            what="a job after Redis came back to be decided",
        )
    finally:
        await loop.stop()
    assert task.cancelled() and loop.worker is None


async def test_readyz_is_503_while_the_worker_of_the_process_does_not_run(
    redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    running = False
    settings = Settings(redis_url=REDIS_URL, redis_prefix=redis_namespace)
    runner = web.AppRunner(create_app(settings, worker_alive=lambda: running))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                assert answer.status == 503
                assert await answer.json() == {"status": "unavailable", "worker": "down"}
            running = True
            async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                assert answer.status == 200
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _command(
    *args: str, env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *COMMAND, *args, env=env, stdout=output, stderr=output
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _status(http: aiohttp.ClientSession, url: str) -> int:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as answer:
            return answer.status
    except aiohttp.ClientError:
        return 0


async def test_serve_and_worker_started_before_redis_process_what_they_accept(
    own_redis: RedisServer, start_emulator: StartEmulator, tmp_path: Path
) -> None:
    port = free_port()
    emulator: RunningEmulator = await start_emulator(
        rps=100.0,
        burst=100,
        seed=SEED,
        events_url=f"http://127.0.0.1:{port}/webhooks/bitrix24",
        application_token=TOKEN,
    )
    base = {
        "PATH": os.environ.get("PATH", ""),
        "REDIS_URL": own_redis.url,
        "B24_WEBHOOK_URL": emulator.webhook_url,
        "B24_APPLICATION_TOKEN": TOKEN,
        "B24_RPS": "100",
        "B24_BURST": "100",
        "DEBOUNCE_SECONDS": "0.1",
    }
    serve_env = {**base, "REDIS_PREFIX": "serve-test:", "WEB_PORT": str(port)}
    worker_env = {**base, "REDIS_PREFIX": "worker-test:"}
    readyz = f"http://127.0.0.1:{port}/readyz"
    async with (
        _command("serve", env=serve_env, log=tmp_path / "serve.log") as serve,
        _command("worker", env=worker_env, log=tmp_path / "worker.log") as worker,
        aiohttp.ClientSession() as http,
    ):
        await wait_until(lambda: _status(http, readyz), what="the ingress to answer")
        # Past the point where arq alone gives up: both still run, and serve is not ready.
        await asyncio.sleep(ARQ_GIVES_UP_AFTER)
        assert serve.returncode is None, (tmp_path / "serve.log").read_text()
        assert worker.returncode is None, (tmp_path / "worker.log").read_text()
        assert await _status(http, readyz) == 503
        await own_redis.start()

        async def ready() -> bool:
            return await _status(http, readyz) == 200

        await wait_until(ready, what="serve to be ready", within=30)
        # An event serve accepts is processed: a change on the portal, then its decision.
        async with http.post(
            emulator.webhook_url + "crm.contact.update",
            json={"id": 3, "fields": {"COMMENTS": "called"}},
        ) as answer:
            assert answer.status == 200
        await wait_until(
            lambda: _decided(own_redis.url, "serve-test:", RecordRef(EntityType.CONTACT, 3)),
            what="serve's worker to decide the accepted event",
            within=30,
        )
        # A job queued for the separate worker is processed too.
        record = RecordRef(EntityType.CONTACT, 2)
        await _enqueue(own_redis.url, "worker-test:", record)
        await wait_until(
            lambda: _decided(own_redis.url, "worker-test:", record),
            what="the worker to decide its job",
            within=30,
        )
    assert serve.returncode == 0 and worker.returncode == 0
    for name in ("serve", "worker"):
        text = (tmp_path / f"{name}.log").read_text()
        assert "Redis does not answer" in text and "Traceback" not in text, text[-3000:]

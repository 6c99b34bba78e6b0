"""Fixtures for the ingress: the real app on a real Redis under the test's own prefix.

arq keeps its job keys outside our prefix (``arq:job:{id}``); every job a test
leaves in its queue is removed with its arq keys when the test ends.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.typing import WorkerCoroutine
from arq.worker import Worker, func
from pydantic import SecretStr

from b24.emulator.server import free_port
from b24.phpquery import encode_php_query
from b24_dedupe.keys import DEDUPE_JOB, Keys
from b24_dedupe.logs import JsonFormatter, Redactor
from b24_dedupe.settings import Settings
from tests.conftest import REDIS_URL
from webhooks_in.app import create_app

PAYLOADS = Path(__file__).parent / "payloads"
# The token the sample payloads carry, and a second one (rotation).
TOKEN = "payload-token-3f9c2a"
NEXT_TOKEN = "rotated-token-71d0e4"
FORM = "application/x-www-form-urlencoded"
URL = "/webhooks/bitrix24"

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def content_type_of(name: str) -> str:
    return "application/json" if name.endswith(".json") else FORM


def event_body(
    event: str = "ONCRMLEADUPDATE", entity_id: Any = 1, token: str = TOKEN, **extra: Any
) -> str:
    """A form body as the portal sends it (REST docs: outbound webhooks)."""
    fields: dict[str, Any] = {
        "event": event,
        "event_handler_id": "3",
        "data": {"FIELDS": {"ID": str(entity_id)}},
        "ts": "1714557600",
        "auth": {
            "domain": "portal.bitrix24.ru",
            "client_endpoint": "https://portal.bitrix24.ru/rest/",
            "server_endpoint": "https://oauth.bitrix.info/rest/",
            "member_id": "a223c6b3710f85df22e9377d6c4f7553",
            "application_token": token,
        },
    }
    fields.update(extra)
    return encode_php_query(fields)


@pytest.fixture
def settings(redis_namespace: str) -> Settings:
    return Settings(
        redis_url=REDIS_URL,
        redis_prefix=redis_namespace,
        b24_application_token=SecretStr(f"{TOKEN}, {NEXT_TOKEN}"),
        debounce_seconds=0.05,
        max_body_bytes=2048,
    )


@pytest.fixture
def keys(settings: Settings) -> Keys:
    return Keys(settings.redis_prefix)


@pytest.fixture
async def queue_cleanup(redis_client: aioredis.Redis, keys: Keys) -> AsyncIterator[aioredis.Redis]:
    """The test's Redis; its jobs' arq keys are deleted afterwards (the prefix by conftest)."""
    yield redis_client
    job_ids = [job_id.decode() for job_id in await redis_client.zrange(keys.queue, 0, -1)]
    arq_keys = [
        prefix + job_id
        for job_id in job_ids
        for prefix in (job_key_prefix, in_progress_key_prefix, retry_key_prefix)
    ]
    if arq_keys:
        await redis_client.delete(*arq_keys)


@pytest.fixture
async def redis(queue_cleanup: aioredis.Redis) -> aioredis.Redis:
    return queue_cleanup


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, settings: Settings, redis: aioredis.Redis
) -> TestClient[Any, Any]:
    """The ingress app, built by its factory, behind aiohttp's test server."""
    return await aiohttp_client(create_app(settings))


async def post_event(client: TestClient[Any, Any], body: str | bytes, **headers: str) -> Any:
    """POST a form body; the answer's status and JSON."""
    headers.setdefault("Content-Type", FORM)
    response = await client.post(URL, data=body, headers=headers)
    return response.status, await response.json()


async def queued_jobs(redis: aioredis.Redis, keys: Keys) -> list[dict[str, Any]]:
    """The jobs in the test's queue, each as arq stored it (plus its id and score)."""
    jobs = []
    for job_id, score in await redis.zrange(keys.queue, 0, -1, withscores=True):
        raw = await redis.get(job_key_prefix + job_id.decode())
        job = pickle.loads(raw) if raw is not None else {}
        job.update(id=job_id.decode(), score=int(score))
        jobs.append(job)
    return jobs


async def namespace_keys(redis: aioredis.Redis, keys: Keys) -> list[str]:
    found = redis.scan_iter(match=keys.prefix + "*", count=1000)
    return sorted([key.decode() async for key in found])


# -- a real arq worker ---------------------------------------------------------------

JobFunction = Callable[..., Awaitable[Any]]


def arq_worker(keys: Keys, job: JobFunction, **options: Any) -> Worker:
    """A real arq worker on the test's queue that runs ``job`` as the dedupe job."""
    options.setdefault("burst", True)
    options.setdefault("poll_delay", 0)
    return Worker(
        functions=[func(cast(WorkerCoroutine, job), name=DEDUPE_JOB)],
        redis_settings=RedisSettings.from_dsn(REDIS_URL),
        queue_name=keys.queue,
        keep_result=0,
        handle_signals=False,
        max_jobs=4,
        **options,
    )


@asynccontextmanager
async def running_worker(keys: Keys, job: JobFunction, **options: Any) -> AsyncIterator[Worker]:
    """A burst worker running in the background for the ``with`` block, closed after it."""
    worker = arq_worker(keys, job, **options)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
        await asyncio.wait_for(asyncio.shield(task), 30)  # bounded: burst mode ends by itself
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()


# -- a real ingress server -----------------------------------------------------------


@asynccontextmanager
async def ingress_server(settings: Settings) -> AsyncIterator[str]:
    """The ingress on a free loopback port for the ``with`` block; yields its event URL."""
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}{URL}"
    finally:
        await runner.cleanup()


class LogLines:
    """What a logger wrote through b24_dedupe.logs' JSON formatter."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@contextmanager
def captured_log(logger_name: str = "webhooks_in") -> Iterator[LogLines]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor([TOKEN, NEXT_TOKEN])))
    logger = logging.getLogger(logger_name)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield LogLines(stream)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

"""The whole service on 127.0.0.1: emulator -> events -> ingress -> Redis -> arq worker.

Nothing of ours is mocked: the emulator stands in for the Bitrix24 cloud only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from arq.worker import Worker as ArqWorker

from b24.crm import RecordRef
from b24.emulator.fields import ENTITY_TYPES
from b24.emulator.server import RunningEmulator, free_port
from b24.emulator.state import SENDER
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from tests.conftest import REDIS_URL, StartEmulator
from webhooks_in.app import create_app as create_ingress
from worker.app import CONFIGURE_LOGGING, worker_options
from worker.jobs import DEDUPE_CONTEXT

TOKEN = "scenario-application-token"


@dataclass
class Stack:
    emulator: RunningEmulator
    settings: Settings
    redis: aioredis.Redis
    http: aiohttp.ClientSession
    arq: ArqWorker
    keys: Keys = field(init=False)

    def __post_init__(self) -> None:
        self.keys = Keys(self.settings.redis_prefix)

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.redis, self.keys)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """A REST call as a portal user would make it (it fires events)."""
        async with self.http.post(self.emulator.webhook_url + method, json=params or {}) as r:
            body = await r.json()
        assert "error" not in body, body
        return body["result"]

    async def add(self, entity: str, **fields: Any) -> int:
        for code in ("PHONE", "EMAIL"):
            if isinstance(fields.get(code), list | tuple):
                fields[code] = [{"VALUE": v, "VALUE_TYPE": "WORK"} for v in fields[code]]
        new_id: int = await self.call(f"crm.{entity.lower()}.add", {"fields": fields})
        return new_id

    async def exists(self, entity: str, entity_id: int) -> bool:
        return entity_id in self.emulator.engine.portal.records[entity]

    def record(self, entity: str, entity_id: int) -> dict[str, Any]:
        return self.emulator.engine.portal.get(ENTITY_TYPES[entity], entity_id)

    async def settle(self, rounds: int = 600) -> None:
        """Wait (bounded: 60 s) until events are delivered and no job waits or runs."""
        sender = self.emulator.app[SENDER]
        quiet = 0
        for _ in range(rounds):
            await sender.drain(1.0)
            queued = await self.redis.zcard(self.keys.queue)
            if queued == 0 and not self.arq.tasks:
                quiet += 1
                if quiet >= 3:
                    return
            else:
                quiet = 0
            await asyncio.sleep(0.1)
        raise AssertionError("the service did not settle within 60 s")

    async def decisions(self, entity: str, entity_id: int) -> list[AuditEntry]:
        return await self.audit.for_record(RecordRef(entity, entity_id))

    async def last_decision(self, entity: str, entity_id: int) -> AuditEntry:
        entries = [e for e in await self.decisions(entity, entity_id) if e.entity_id == entity_id]
        assert entries, f"no audit entry for {entity} {entity_id}"
        return entries[-1]


StartStack = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def start_stack(
    start_emulator: StartEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> AsyncIterator[StartStack]:
    """Start emulator, ingress and one in-process arq worker: ``await start_stack(...)``."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            seed: dict[str, Any] | None = None,
            emulator_settings: dict[str, Any] | None = None,
            **overrides: Any,
        ) -> Stack:
            ingress_port = free_port()
            emulator = await start_emulator(
                seed=seed,
                events_url=f"http://127.0.0.1:{ingress_port}/webhooks/bitrix24",
                application_token=TOKEN,
                **{"rps": 50.0, "burst": 100, **(emulator_settings or {})},
            )
            settings = Settings(
                redis_url=REDIS_URL,
                redis_prefix=redis_namespace,
                b24_webhook_url=emulator.webhook_url,
                b24_application_token=TOKEN,
                b24_rps=emulator.config.rps,
                b24_burst=emulator.config.burst,
                **{"debounce_seconds": 0.05, "worker_concurrency": 10, **overrides},
            )
            runner = web.AppRunner(create_ingress(settings))
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", ingress_port).start()
            stack.push_async_callback(runner.cleanup)
            options = worker_options(settings)
            options["ctx"][CONFIGURE_LOGGING] = False
            options.update(poll_delay=0.02, handle_signals=False, cron_jobs=[])
            arq = ArqWorker(**options)
            task = asyncio.create_task(arq.async_run())

            async def stop() -> None:
                await arq.close()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            stack.push_async_callback(stop)
            http = await stack.enter_async_context(aiohttp.ClientSession())
            for _ in range(100):  # bounded: the worker starts in well under 10 s
                if DEDUPE_CONTEXT in arq.ctx:
                    break
                await asyncio.sleep(0.1)
            return Stack(emulator, settings, redis_client, http, arq)

        yield start

"""The emulated portal sends real events to a real ingress server; a real arq worker runs
the jobs. Loopback only; nothing of ours is mocked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from b24.crm import RecordRef
from b24.emulator.server import RunningEmulator
from b24.emulator.state import SENDER
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from tests.conftest import StartEmulator
from tests.ingress.conftest import TOKEN, ingress_server, queued_jobs, running_worker
from tests.ingress.test_coalescing import Runs, counting_job


async def call(
    http: aiohttp.ClientSession, emulator: RunningEmulator, method: str, params: dict[str, Any]
) -> Any:
    async with http.post(emulator.webhook_url + method, json=params) as response:
        body = await response.json()
    assert "error" not in body, body
    return body["result"]


StartPortal = Callable[[str], Awaitable[RunningEmulator]]


@pytest.fixture
async def start_portal(
    start_emulator: StartEmulator, settings: Settings
) -> AsyncIterator[StartPortal]:
    """An ingress server, and an emulated portal sending it events with ``token``."""
    async with ingress_server(settings) as events_url:

        async def start(token: str) -> RunningEmulator:
            return await start_emulator(
                rps=1000.0, burst=1000, events_url=events_url, application_token=token
            )

        yield start


async def test_portal_events_become_one_job_per_changed_record(
    start_portal: StartPortal,
    http: aiohttp.ClientSession,
    settings: Settings,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    emulator = await start_portal(TOKEN)
    contact = await call(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ann"}})
    for name in ("Anna", "Anne", "Ania"):
        await call(http, emulator, "crm.contact.update", {"id": contact, "fields": {"NAME": name}})
    lead = await call(http, emulator, "crm.lead.add", {"fields": {"TITLE": "Call back"}})
    company = await call(http, emulator, "crm.company.add", {"fields": {"TITLE": "Gone"}})
    await call(http, emulator, "crm.company.delete", {"id": company})
    await emulator.app[SENDER].drain(10.0)

    stats = emulator.engine.stats
    assert (stats.events_sent, stats.events_failed) == (7, 0)
    jobs = sorted(
        (job["k"]["entity"], job["k"]["entity_id"]) for job in await queued_jobs(redis, keys)
    )
    # Four updates of the contact: one job. The company's ADD enqueued a job (in
    # whichever order ADD and DELETE arrived: the portal sends four at once).
    assert jobs == sorted([("CONTACT", contact), ("LEAD", lead), ("COMPANY", company)])
    assert await redis.exists(keys.deleted(RecordRef("COMPANY", company))) == 1

    runs = Runs()
    async with running_worker(keys, counting_job(redis, keys, settings, runs)):
        pass
    assert sorted(runs.records) == [("CONTACT", contact), ("LEAD", lead)]
    assert runs.skipped_deleted == [("COMPANY", company)]


async def test_events_with_a_wrong_token_are_refused_and_not_stored(
    start_portal: StartPortal, http: aiohttp.ClientSession, redis: aioredis.Redis, keys: Keys
) -> None:
    emulator = await start_portal("stolen-or-stale")
    await call(http, emulator, "crm.lead.add", {"fields": {"TITLE": "x"}})
    await emulator.app[SENDER].drain(10.0)
    assert (emulator.engine.stats.events_sent, emulator.engine.stats.events_failed) == (0, 1)
    assert await queued_jobs(redis, keys) == []

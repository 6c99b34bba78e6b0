"""Coalescing with a real arq worker: events come through the real ingress app, and a
job defined here follows the worker's protocol (job_started ... job_finished) and
counts its runs. No sleeps: the job waits on events the test sets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from b24.crm import RecordRef
from b24_dedupe.dedupe_queue import enqueue_event, is_deleted, job_finished, job_started
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from tests.ingress.conftest import event_body, post_event, queued_jobs, running_worker

Client = TestClient[Any, Any]
LEASE = 30.0
WAIT = 10.0  # bound on every wait below; never reached when the code is right


@dataclass
class Runs:
    """What the test's dedupe job saw."""

    records: list[tuple[str, int]] = field(default_factory=list)
    skipped_deleted: list[tuple[str, int]] = field(default_factory=list)
    reruns: list[bool] = field(default_factory=list)


def counting_job(
    redis: aioredis.Redis,
    keys: Keys,
    settings: Settings,
    runs: Runs,
    after_start: Callable[[], Awaitable[None]] | None = None,
) -> Any:
    """The worker's protocol around a run that only counts (``after_start`` may hold it)."""

    async def dedupe_record(ctx: dict[str, Any], entity: str, entity_id: int) -> None:
        await job_started(redis, keys, RecordRef(entity, entity_id), ctx["job_id"], LEASE)
        try:
            if after_start is not None:
                await after_start()
            if await is_deleted(redis, keys, RecordRef(entity, entity_id)):
                runs.skipped_deleted.append((entity, entity_id))
                return
            runs.records.append((entity, entity_id))
        finally:
            rerun = await job_finished(
                redis,
                keys,
                RecordRef(entity, entity_id),
                settings.debounce_seconds,
                job_id=ctx["job_id"],
            )
            runs.reruns.append(rerun)

    return dedupe_record


async def test_a_burst_within_the_debounce_window_is_one_run(
    client: Client, redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    outcomes = [
        (await post_event(client, event_body(event, 31)))[1]["result"]
        for event in ["ONCRMLEADADD", *["ONCRMLEADUPDATE"] * 9]
    ]
    assert outcomes == ["enqueued"] + ["coalesced"] * 9

    runs = Runs()
    async with running_worker(keys, counting_job(redis, keys, settings, runs)):
        pass
    assert runs.records == [("LEAD", 31)]
    assert runs.reruns == [False]
    assert await queued_jobs(redis, keys) == []
    assert (
        await redis.exists(keys.pending(RecordRef("LEAD", 31)), keys.running(RecordRef("LEAD", 31)))
        == 0
    )


async def test_bursts_for_different_records_are_one_run_each(
    client: Client, redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    for _ in range(3):
        for event, entity_id in [
            ("ONCRMCONTACTUPDATE", 1),
            ("ONCRMCOMPANYUPDATE", 1),
            ("ONCRMCONTACTUPDATE", 2),
        ]:
            assert (await post_event(client, event_body(event, entity_id)))[0] == 200
    runs = Runs()
    async with running_worker(keys, counting_job(redis, keys, settings, runs)):
        pass
    assert sorted(runs.records) == [("COMPANY", 1), ("CONTACT", 1), ("CONTACT", 2)]


async def test_events_during_a_running_job_lead_to_exactly_one_more_run(
    client: Client, redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    runs = Runs()

    async def hold_first_run() -> None:
        if not started.is_set():  # the first run waits until the test has sent its events
            started.set()
            await asyncio.wait_for(release.wait(), WAIT)

    dedupe_record = counting_job(redis, keys, settings, runs, after_start=hold_first_run)

    assert (await post_event(client, event_body("ONCRMCONTACTADD", 8)))[1] == {"result": "enqueued"}
    async with running_worker(keys, dedupe_record):
        await asyncio.wait_for(started.wait(), WAIT)
        outcomes = [
            (await post_event(client, event_body("ONCRMCONTACTUPDATE", 8)))[1]["result"]
            for _ in range(4)
        ]
        assert outcomes == ["rerun"] * 4
        assert await queued_jobs(redis, keys) != []  # the running job is still arq's
        release.set()
    assert runs.records == [("CONTACT", 8), ("CONTACT", 8)]
    assert runs.reruns == [True, False]
    assert await queued_jobs(redis, keys) == []


async def test_an_event_between_job_end_and_arq_cleanup_is_not_lost(
    client: Client, redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    # arq deletes a finished job's keys by its id after the function returns; an event in
    # between must lead to a job of its own, which that cleanup does not touch.
    runs = Runs()
    counted = counting_job(redis, keys, settings, runs)
    late: list[str] = []

    async def dedupe_record(ctx: dict[str, Any], entity: str, entity_id: int) -> None:
        await counted(ctx, entity, entity_id)
        if len(runs.records) == 1:
            late.append((await post_event(client, event_body("ONCRMLEADUPDATE", 5)))[1]["result"])

    await post_event(client, event_body("ONCRMLEADADD", 5))
    async with running_worker(keys, dedupe_record):
        pass
    assert late == ["enqueued"]
    assert runs.records == [("LEAD", 5), ("LEAD", 5)]


async def test_a_pending_job_for_a_deleted_record_ends_without_work(
    client: Client, redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    assert (await post_event(client, event_body("ONCRMCOMPANYUPDATE", 12)))[1] == {
        "result": "enqueued"
    }
    assert (await post_event(client, event_body("ONCRMCOMPANYDELETE", 12)))[1] == {
        "result": "deleted"
    }
    runs = Runs()
    async with running_worker(keys, counting_job(redis, keys, settings, runs)):
        pass
    assert runs.skipped_deleted == [("COMPANY", 12)]
    assert runs.records == []


async def test_a_pending_flag_whose_job_is_gone_does_not_swallow_events(
    redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    # e.g. a job that failed before job_started, or expired: arq removed its key.
    await redis.set(keys.pending(RecordRef("LEAD", 40)), "f" * 32)
    outcome = await enqueue_event(
        redis, keys, RecordRef("LEAD", 40), debounce=settings.debounce_seconds
    )
    assert outcome == "enqueued"
    [job] = await queued_jobs(redis, keys)
    assert await redis.get(keys.pending(RecordRef("LEAD", 40))) == job["id"].encode()


async def test_a_running_flag_whose_worker_died_does_not_swallow_events(
    redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    # job_started by a job arq no longer runs (no in-progress key): not a live run.
    await job_started(redis, keys, RecordRef("CONTACT", 41), "0" * 32, LEASE)
    await redis.set(keys.rerun(RecordRef("CONTACT", 41)), "1")
    outcome = await enqueue_event(
        redis, keys, RecordRef("CONTACT", 41), debounce=settings.debounce_seconds
    )
    assert outcome == "enqueued"
    assert (
        await redis.exists(
            keys.running(RecordRef("CONTACT", 41)), keys.rerun(RecordRef("CONTACT", 41))
        )
        == 0
    )
    assert len(await queued_jobs(redis, keys)) == 1


async def test_job_finished_joins_a_job_already_waiting(
    redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    # A rerun flag while another job for the record already waits: no second job.
    first = await enqueue_event(
        redis, keys, RecordRef("LEAD", 50), debounce=settings.debounce_seconds
    )
    assert first == "enqueued"
    await redis.set(keys.rerun(RecordRef("LEAD", 50)), "1")
    assert await job_finished(redis, keys, RecordRef("LEAD", 50), settings.debounce_seconds) is True
    assert len(await queued_jobs(redis, keys)) == 1
    assert await redis.exists(keys.rerun(RecordRef("LEAD", 50))) == 0


async def test_job_finished_without_events_enqueues_nothing(
    redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    await job_started(redis, keys, RecordRef("LEAD", 51), "a" * 32, LEASE)
    assert (
        await job_finished(redis, keys, RecordRef("LEAD", 51), settings.debounce_seconds) is False
    )
    assert await queued_jobs(redis, keys) == []
    assert await redis.exists(keys.running(RecordRef("LEAD", 51))) == 0


async def test_job_started_keeps_another_jobs_pending_flag(
    redis: aioredis.Redis, keys: Keys, settings: Settings
) -> None:
    await enqueue_event(redis, keys, RecordRef("LEAD", 52), debounce=settings.debounce_seconds)
    waiting = await redis.get(keys.pending(RecordRef("LEAD", 52)))
    await job_started(redis, keys, RecordRef("LEAD", 52), "b" * 32, LEASE)
    assert await redis.get(keys.pending(RecordRef("LEAD", 52))) == waiting
    assert await redis.get(keys.running(RecordRef("LEAD", 52))) == b"b" * 32
    assert 0 < await redis.pttl(keys.running(RecordRef("LEAD", 52))) <= LEASE * 1000

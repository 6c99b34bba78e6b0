"""Dedupe jobs in arq's queue, coalesced per record: one Lua script per step.

A record (``LEAD:12``) moves through three flags (names in :mod:`b24_dedupe.keys`):

``pending`` = job id
    a job for the record waits in the queue; further events join it ("coalesced").
``running`` = job id, with a lease
    that job has started (:func:`job_started`); an event now sets ``rerun``.
``rerun``
    one more run follows the running one; :func:`job_finished` enqueues it.

The job is an ordinary arq job of :data:`~b24_dedupe.keys.DEDUPE_JOB` with kwargs
``{"entity", "entity_id"}``, written the way ``ArqRedis.enqueue_job`` writes one
(``arq:job:{id}`` with an expiry, scored in the queue at now + debounce), but with
a fresh id each time: arq deletes a finished job's keys by id after the job function
returns, so an id reused for the next run could be deleted under it.

Why no accepted event is lost:

- every step reads and writes the flags in one script, so no event falls between
  a check and a write;
- a job takes the record off ``pending`` (:func:`job_started`) before it reads the
  record, so an event coalesced into it is seen by it;
- an event while it runs leaves ``rerun``, which :func:`job_finished` turns into a new
  job in the same step that ends ``running``;
- a flag that names a job which no longer exists is stale and does not coalesce: the
  event enqueues a new job. ``pending`` is stale when the job's arq key is gone (the
  job failed before :func:`job_started`, or expired); ``running`` when arq's
  in-progress key is gone (the worker died, or the job ended without
  :func:`job_finished`).

The stale checks read arq's keys by the job id found in the flag, so the scripts
touch keys they do not declare: fine on one Redis, as arq itself requires.
"""

from __future__ import annotations

import enum
import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeAlias, cast

from arq.constants import expires_extra_ms, in_progress_key_prefix, job_key_prefix
from arq.jobs import serialize_job
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from b24.crm import RecordRef
from b24_dedupe.keys import DEDUPE_JOB, Keys

# Sends one command, returns its reply: ``Redis.execute_command`` or an auto-pipeline's.
Execute: TypeAlias = Callable[..., Awaitable[Any]]


class CommandSender(Protocol):
    """Anything that sends one Redis command: ``redis.asyncio.Redis``, or the ingress's
    ``AutoPipeline``, which shares round trips between concurrent events."""

    def execute_command(self, *args: Any) -> Awaitable[Any]: ...


# How long a DELETE event is remembered: longer than any job waits in the queue.
DELETED_TTL_SECONDS = 86_400


class Enqueued(enum.StrEnum):
    """What :func:`enqueue_event` did with an event (a label in logs and metrics)."""

    ENQUEUED = "enqueued"  # a new job waits for the record
    COALESCED = "coalesced"  # a job already waits for the record and will see this change
    RERUN = "rerun"  # the record's job is running: one more run follows it
    DELETED = "deleted"  # a DELETE: recorded, a waiting job ends without work


class _Script:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def run(self, execute: Execute, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA, falling back to EVAL once after a Redis restart or SCRIPT FLUSH."""
        try:
            return await execute("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await execute("EVAL", self.source, len(keys), *keys, *args)


# Shared by the scripts: ARGV[1..4] is the new job (id, serialized job, score, expiry
# ms), created only when needed; arq's key prefixes are written into the source.
_COMMON = f"""
local function create_job(job_key, queue, pending)
  redis.call('SET', job_key, ARGV[2], 'PX', ARGV[4])
  redis.call('ZADD', queue, ARGV[3], ARGV[1])
  redis.call('SET', pending, ARGV[1], 'PX', ARGV[4])
end
local function job_waits(pending)
  local job_id = redis.call('GET', pending)
  return job_id and redis.call('EXISTS', '{job_key_prefix}' .. job_id) == 1
end
local function job_runs(job_id)
  return redis.call('EXISTS', '{in_progress_key_prefix}' .. job_id) == 1
end
"""

# KEYS: pending, running, rerun, queue, new job key   ARGV: the new job
# Returns 0 enqueued, 1 coalesced, 2 rerun.
_ENQUEUE = _Script(
    _COMMON
    + """
if job_waits(KEYS[1]) then
  return 1
end
local running = redis.call('GET', KEYS[2])
if running then
  if job_runs(running) then
    redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
    return 2
  end
  redis.call('DEL', KEYS[2])
end
-- a rerun flag left by a job that ended without job_finished: this job covers it
redis.call('DEL', KEYS[3])
create_job(KEYS[5], KEYS[4], KEYS[1])
return 0
"""
)

# KEYS: pending, running   ARGV: job id, lease ms
_STARTED = _Script(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
"""
)

# KEYS: pending, running, rerun, queue, new job key
# ARGV: the new job, then the finishing job's id ('' when unknown)
# Returns 1 when a rerun follows.
_FINISHED = _Script(
    _COMMON
    + """
local running = redis.call('GET', KEYS[2])
if running and ARGV[5] ~= '' and running ~= ARGV[5] and job_runs(running) then
  -- another job holds the record (our lease ran out): its rerun is its own
  return 0
end
redis.call('DEL', KEYS[2])
if redis.call('DEL', KEYS[3]) == 0 then
  return 0
end
if not job_waits(KEYS[1]) then
  create_job(KEYS[5], KEYS[4], KEYS[1])
end
return 1
"""
)


def _direct(redis: Redis | CommandSender) -> Execute:
    return cast(Execute, redis.execute_command)


_OUTCOMES = (Enqueued.ENQUEUED, Enqueued.COALESCED, Enqueued.RERUN)


def _new_job(record: RecordRef, debounce: float) -> list[Any]:
    """ARGV for a new arq job: id, serialized job, score, expiry (as enqueue_job sets them)."""
    now_ms = round(time.time() * 1000)
    debounce_ms = round(debounce * 1000)
    kwargs = {"entity": record.entity.value, "entity_id": record.id}
    body = serialize_job(DEDUPE_JOB, (), kwargs, None, now_ms)
    # 128 random bits in hex, the shape of arq's uuid4().hex, at a fifth of its cost.
    job_id = os.urandom(16).hex()
    return [job_id, body, now_ms + debounce_ms, debounce_ms + expires_extra_ms]


def _job_keys(keys: Keys, record: RecordRef, job_id: str) -> list[str]:
    return [
        keys.pending(record),
        keys.running(record),
        keys.rerun(record),
        keys.queue,
        job_key_prefix + job_id,
    ]


async def enqueue_event(
    redis: Redis | CommandSender,
    keys: Keys,
    record: RecordRef,
    *,
    debounce: float,
    deleted: bool = False,
) -> Enqueued:
    """Record one accepted event for a record, in one Redis round trip.

    ADD/UPDATE: join the waiting job, or mark a rerun of the running one, or enqueue a
    job that starts ``debounce`` seconds from now. DELETE (``deleted=True``): set the
    record's deleted flag for :data:`DELETED_TTL_SECONDS`; nothing is enqueued.
    """
    send = _direct(redis)
    if deleted:
        await send("SET", keys.deleted(record), b"1", "EX", DELETED_TTL_SECONDS)
        return Enqueued.DELETED
    job = _new_job(record, debounce)
    code = await _ENQUEUE.run(
        send,
        _job_keys(keys, record, job[0]),
        job,
    )
    return _OUTCOMES[int(code)]


async def job_started(
    redis: Redis, keys: Keys, record: RecordRef, job_id: str, lease_seconds: float
) -> None:
    """Call first in the job, before reading the record: later events lead to a rerun.

    Clears ``pending`` (when it names this job) and sets ``running`` for
    ``lease_seconds`` (the job timeout).
    """
    lease_ms = max(1, round(lease_seconds * 1000))
    await _STARTED.run(
        _direct(redis),
        [keys.pending(record), keys.running(record)],
        [job_id, lease_ms],
    )


async def job_finished(
    redis: Redis,
    keys: Keys,
    record: RecordRef,
    debounce: float,
    *,
    job_id: str | None = None,
) -> bool:
    """Call last in the job (in ``finally``): clears ``running``; when an event came
    meanwhile, enqueues the one rerun (``debounce`` seconds from now) and returns True.

    With ``job_id`` the lease is only cleared when it is still this job's.
    """
    job = _new_job(record, debounce)
    rerun = await _FINISHED.run(
        _direct(redis),
        _job_keys(keys, record, job[0]),
        [*job, job_id or ""],
    )
    return bool(rerun)


async def is_deleted(redis: Redis, keys: Keys, record: RecordRef) -> bool:
    """True when a DELETE event for the record arrived (within :data:`DELETED_TTL_SECONDS`)."""
    return bool(await redis.exists(keys.deleted(record)))

"""The arq job, and the one place where Bitrix24's errors become arq's retries.

- Rate and operating limits, a lock held by another merge: the job is deferred
  (``Retry``) without using up its failure budget; it waits in the queue as the
  record's pending job, so new events for the record join it.
- ``OVERLOAD_LIMIT`` and a webhook the portal refuses: every job stops (a halt flag in
  Redis), loudly, and waits instead of retrying in a loop; nothing is dropped.
- Other transient faults, and a job that runs out of time (``JOB_TIMEOUT_SECONDS``):
  retried with growing pauses, ``JOB_MAX_TRIES`` times, then recorded as an error in
  the audit.
- Redis gone mid-job: arq runs the job again once Redis is back (its job key stays
  until the job completes); the record's flags are left as they are.

A job that ends (decided, or failed for good) releases the record's in-progress
flag in one ``finally``, which also enqueues the one rerun an event during the run
asked for. A deferred job has handed its flags back to the queue instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from arq import Retry
from redis.exceptions import RedisError

from b24.client import (
    AuthError,
    LimitError,
    MethodError,
    OperatingLimit,
    OutcomeUnknown,
    Overloaded,
    TransientError,
)
from b24.crm import EntityType, RecordRef
from b24_dedupe.decisions import Decision
from b24_dedupe.dedupe_queue import job_finished, job_started
from b24_dedupe.settings import Settings
from worker.dedupe import process
from worker.merging import LockBusy
from worker.run import DedupeContext, Run

log = logging.getLogger("worker.jobs")

DEDUPE_CONTEXT = "dedupe_context"  # ctx key of the process's DedupeContext
SETTINGS = "settings"
HALT_SECONDS = 300.0  # how long a halt lasts before jobs look again
# A job hands itself back this long before arq's timeout (JOB_TIMEOUT_SECONDS; at most
# a quarter of it): time for a few Redis commands. arq fails a job past its timeout and
# deletes it, and with it the record's event.
JOB_DEADLINE_MARGIN = 5.0
FAILURE_TTL = 86_400


def job_deadline(settings: Settings) -> float:
    """Seconds a dedupe job may work before it hands itself back to the queue."""
    timeout = settings.job_timeout_seconds
    return timeout - min(JOB_DEADLINE_MARGIN, timeout / 4)


# Failures that end the job with an ``error`` entry (and no traceback).
B24Failure = (TransientError, OutcomeUnknown, TimeoutError, MethodError)


def _backoff(failures: int) -> float:
    return min(300.0, 2.0**failures) * random.uniform(0.5, 1.0)


async def dedupe_record(ctx: dict[str, Any], entity: str, entity_id: int) -> str:
    """Process one record; answers the decision (``merged``, ``no_merge`` …).

    The arguments stay two plain values: they are what the ingress's Lua script and
    earlier versions wrote into queued jobs.
    """
    context: DedupeContext = ctx[DEDUPE_CONTEXT]
    settings: Settings = ctx[SETTINGS]
    record = RecordRef(EntityType(entity), entity_id)
    job = _Job(context, settings, record, ctx["job_id"])
    halted = await context.redis.get(context.keys.halt)
    if halted is not None:
        ttl = await context.redis.ttl(context.keys.halt)
        raise await job.defer(max(float(ttl), 5.0))
    await job_started(context.redis, context.keys, record, job.job_id, settings.job_timeout_seconds)
    ended = False  # decided or failed for good: the record's flags are released below
    try:
        async with asyncio.timeout(job_deadline(settings)):
            entry = await process(context, record)
        await context.redis.delete(context.keys.failures(job.job_id))
        ended = True
        return entry.decision
    except Exception as exc:
        retry = await job.settle(exc)
        if retry is not None:
            raise retry from None
        ended = True
        if not isinstance(exc, B24Failure):
            raise  # a bug: recorded; arq logs the traceback and does not retry
        return Decision.ERROR
    finally:
        if ended:
            await job_finished(
                context.redis,
                context.keys,
                record,
                settings.debounce_seconds,
                job_id=job.job_id,
            )


class _Job:
    """One try of a dedupe job: how it hands itself back, how it records a failure."""

    def __init__(
        self, context: DedupeContext, settings: Settings, record: RecordRef, job_id: str
    ) -> None:
        self.context = context
        self.settings = settings
        self.record = record
        self.job_id = job_id

    async def defer(self, seconds: float) -> Retry:
        """Hand the record back to the queue: this job is its pending job again."""
        redis, keys = self.context.redis, self.context.keys
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.running(self.record), keys.rerun(self.record))
            pipe.set(keys.pending(self.record), self.job_id, px=round((seconds + 86_400) * 1000))
            await pipe.execute()
        return Retry(defer=seconds)

    async def settle(self, exc: Exception) -> Retry | None:
        """What ``exc`` means for this job: a ``Retry`` to raise, or ``None`` when the
        job ends here (the failure is then in the audit)."""
        where = {"entity": self.record.entity, "record": self.record.id}
        if isinstance(exc, OperatingLimit):
            wait = max(1.0, (exc.reset_at or time.time() + 60) - time.time())
            log.warning(
                "operating limit: job deferred",
                extra={**where, "method": exc.method, "defer": round(wait)},
            )
            return await self.defer(wait)
        if isinstance(exc, Overloaded | AuthError):
            await self.context.redis.set(
                self.context.keys.halt, f"{type(exc).__name__}: {exc}", ex=int(HALT_SECONDS)
            )
            log.critical(
                "the portal refuses us: all jobs halted; act before they resume",
                extra={
                    **where,
                    "error": type(exc).__name__,
                    "detail": str(exc),
                    "halt_seconds": HALT_SECONDS,
                },
            )
            return await self.defer(HALT_SECONDS)
        if isinstance(exc, LimitError | LockBusy):
            return await self.defer(random.uniform(1.0, 3.0))
        if isinstance(exc, TransientError | OutcomeUnknown | TimeoutError):
            failures = await self._count_failure()
            if failures < self.settings.job_max_tries:
                log.warning(
                    "transient fault: job retried",
                    extra={**where, "error": type(exc).__name__, "failures": failures},
                )
                return await self.defer(_backoff(failures))
            await self._record_failure(
                f"gave up after {failures} faults: {type(exc).__name__}: {exc}"
            )
            return None
        if isinstance(exc, MethodError):
            await self._record_failure(f"{exc.code}: {exc.description}")
            return None
        if isinstance(exc, RedisError | OSError):
            log.warning(
                "Redis unavailable: job retried", extra={**where, "error": type(exc).__name__}
            )
            return Retry(defer=_backoff(1))
        await self._record_failure(f"unexpected {type(exc).__name__}: {exc}")
        return None

    async def _count_failure(self) -> int:
        key = self.context.keys.failures(self.job_id)
        failures = int(await self.context.redis.incr(key))
        await self.context.redis.expire(key, FAILURE_TTL)
        return failures

    async def _record_failure(self, reason: str) -> None:
        entry = Run(self.record).entry(Decision.ERROR, reason)
        await self.context.audit.write(entry)
        log.error(
            "job failed",
            extra={
                "entity": self.record.entity,
                "record": self.record.id,
                "reason": reason,
                "audit_id": entry.id,
            },
        )

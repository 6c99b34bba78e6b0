"""The arq job, and the one place where Bitrix24's errors become arq's retries.

- Rate and operating limits, a lock held by another merge: the job is deferred
  (``Retry``) without using up its failure budget; it waits in the queue as the
  record's pending job, so new events for the record join it.
- ``OVERLOAD_LIMIT`` and a webhook the portal refuses: every job stops (a halt flag in
  Redis), loudly, and waits instead of retrying in a loop; nothing is dropped.
- Other transient faults, and a job that runs out of time (``JOB_TIMEOUT_SECONDS``):
  retried with growing pauses, ``JOB_MAX_TRIES`` times, then recorded as an error in
  the audit.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from arq import Retry
from redis.asyncio import Redis
from redis.exceptions import RedisError

from b24.client import (
    AuthError,
    LimitError,
    MethodError,
    OperatingLimit,
    Overloaded,
    TransientError,
)
from b24.client.errors import OutcomeUnknown
from b24_dedupe.dedupe_queue import job_finished, job_started
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from worker.dedupe import process
from worker.merging import LockBusy
from worker.run import Run, Worker

log = logging.getLogger("worker.jobs")

WORKER = "dedupe_worker"  # ctx key of the process's Worker
SETTINGS = "settings"
HALT_SECONDS = 300.0  # how long a halt lasts before jobs look again
# A job hands itself back this long before arq's timeout (JOB_TIMEOUT_SECONDS; at most
# a quarter of it): time for a few Redis commands. arq fails a job past its timeout and
# deletes it, and with it the record's event.
JOB_DEADLINE_MARGIN = 5.0


def job_deadline(settings: Settings) -> float:
    """Seconds a dedupe job may work before it hands itself back to the queue."""
    timeout = settings.job_timeout_seconds
    return timeout - min(JOB_DEADLINE_MARGIN, timeout / 4)


FAILURE_TTL = 86_400


def _backoff(failures: int) -> float:
    return min(300.0, 2.0**failures) * random.uniform(0.5, 1.0)


async def _defer(
    redis: Redis, keys: Keys, entity: str, entity_id: int, job_id: str, seconds: float
) -> Retry:
    """Hand the record back to the queue: this job is its pending job again."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.running(entity, entity_id), keys.rerun(entity, entity_id))
        pipe.set(keys.pending(entity, entity_id), job_id, px=round((seconds + 86_400) * 1000))
        await pipe.execute()
    return Retry(defer=seconds)


async def dedupe_record(ctx: dict[str, Any], entity: str, entity_id: int) -> str:
    """Process one record; answers the decision (``merged``, ``no_merge`` …)."""
    worker: Worker = ctx[WORKER]
    settings: Settings = ctx[SETTINGS]
    redis, keys = worker.redis, worker.keys
    job_id: str = ctx["job_id"]
    halted = await redis.get(keys.halt)
    if halted is not None:
        ttl = await redis.ttl(keys.halt)
        raise await _defer(redis, keys, entity, entity_id, job_id, max(float(ttl), 5.0))
    await job_started(redis, keys, entity, entity_id, job_id, settings.job_timeout_seconds)
    try:
        async with asyncio.timeout(job_deadline(settings)):
            entry = await process(worker, entity, entity_id)
    except OperatingLimit as exc:
        wait = max(1.0, (exc.reset_at or time.time() + 60) - time.time())
        log.warning(
            "operating limit: job deferred",
            extra={
                "entity": entity,
                "record": entity_id,
                "method": exc.method,
                "defer": round(wait),
            },
        )
        raise await _defer(redis, keys, entity, entity_id, job_id, wait) from None
    except (Overloaded, AuthError) as exc:
        await redis.set(keys.halt, f"{type(exc).__name__}: {exc}", ex=int(HALT_SECONDS))
        log.critical(
            "the portal refuses us: all jobs halted; act before they resume",
            extra={
                "entity": entity,
                "record": entity_id,
                "error": type(exc).__name__,
                "detail": str(exc),
                "halt_seconds": HALT_SECONDS,
            },
        )
        raise await _defer(redis, keys, entity, entity_id, job_id, HALT_SECONDS) from None
    except (LimitError, LockBusy):
        raise await _defer(
            redis, keys, entity, entity_id, job_id, random.uniform(1.0, 3.0)
        ) from None
    except (TransientError, OutcomeUnknown, TimeoutError) as exc:
        failures = int(await redis.incr(keys.failures(job_id)))
        await redis.expire(keys.failures(job_id), FAILURE_TTL)
        if failures < settings.job_max_tries:
            log.warning(
                "transient fault: job retried",
                extra={
                    "entity": entity,
                    "record": entity_id,
                    "error": type(exc).__name__,
                    "failures": failures,
                },
            )
            raise await _defer(redis, keys, entity, entity_id, job_id, _backoff(failures)) from None
        await _record_failure(
            worker,
            entity,
            entity_id,
            f"gave up after {failures} faults: {type(exc).__name__}: {exc}",
        )
        await job_finished(redis, keys, entity, entity_id, settings.debounce_seconds, job_id=job_id)
        return "error"
    except MethodError as exc:
        await _record_failure(worker, entity, entity_id, f"{exc.code}: {exc.description}")
        await job_finished(redis, keys, entity, entity_id, settings.debounce_seconds, job_id=job_id)
        return "error"
    except (RedisError, OSError) as exc:
        # Redis went away mid-job: arq re-queues the job once Redis is back (its job key
        # stays until the job completes), so the record is not lost.
        log.warning(
            "Redis unavailable: job retried",
            extra={"entity": entity, "record": entity_id, "error": type(exc).__name__},
        )
        raise Retry(defer=_backoff(1)) from None
    except Exception as exc:
        # A bug: recorded and the record's flags released (a rerun still happens); arq
        # logs the traceback and does not retry.
        await _record_failure(worker, entity, entity_id, f"unexpected {type(exc).__name__}: {exc}")
        await job_finished(redis, keys, entity, entity_id, settings.debounce_seconds, job_id=job_id)
        raise
    await redis.delete(keys.failures(job_id))
    await job_finished(redis, keys, entity, entity_id, settings.debounce_seconds, job_id=job_id)
    return entry.decision


async def _record_failure(worker: Worker, entity: str, entity_id: int, reason: str) -> None:
    entry = Run(entity, entity_id).entry("error", reason)
    await worker.audit.write(entry)
    log.error(
        "job failed",
        extra={"entity": entity, "record": entity_id, "reason": reason, "audit_id": entry.id},
    )

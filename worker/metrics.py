"""What a worker counts after each decision, added to the hash all workers share
(:mod:`b24_dedupe.shared_metrics` renders it)."""

from __future__ import annotations

import re

from redis.asyncio import Redis

from b24.client.client import ClientStats
from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import MERGE_ANSWERS, Decision
from b24_dedupe.keys import Keys
from b24_dedupe.shared_metrics import counter_field

# A number standing alone (an ID, a count), not digits inside a word ("Bitrix24").
_DIGITS = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")


def reason_label(reason: str) -> str:
    """A reason without the IDs and values that make each one unique: "contacts 12 and
    34 differ" -> "contacts N and N differ"; "Bitrix24 refused this merge" unchanged."""
    head = reason.split(":", 1)[0]
    return _DIGITS.sub("N", head).strip()[:80]


async def record(
    redis: Redis, keys: Keys, entry: AuditEntry, client: ClientStats | None = None
) -> None:
    """Count one finished decision, and what the client sent since the last count
    (one round trip)."""
    async with redis.pipeline(transaction=False) as pipe:
        if client is not None:
            pipe.hincrby(keys.metrics, "b24dd_bitrix24_requests_total", client.requests)
            pipe.hincrby(keys.metrics, "b24dd_bitrix24_request_commands_total", client.commands)
            pipe.hincrbyfloat(
                keys.metrics, "b24dd_limiter_wait_seconds_total", client.limiter_wait_seconds
            )
            for code, count in client.refusals.items():
                pipe.hincrby(
                    keys.metrics, counter_field("b24dd_bitrix24_refusals_total", code=code), count
                )
        pipe.hincrby(
            keys.metrics, counter_field("b24dd_worker_jobs_total", decision=entry.decision), 1
        )
        status = entry.status
        if status in MERGE_ANSWERS:
            pipe.hincrby(
                keys.metrics, counter_field("b24dd_worker_merges_total", outcome=status), 1
            )
        if entry.decision is Decision.NO_MERGE:
            pipe.hincrby(
                keys.metrics,
                counter_field("b24dd_worker_no_merge_total", reason=reason_label(entry.reason)),
                1,
            )
        pipe.hincrby(keys.metrics, "b24dd_worker_bitrix24_commands_total", entry.requests)
        pipe.hincrbyfloat(keys.metrics, "b24dd_worker_job_seconds_total", entry.duration)
        await pipe.execute()

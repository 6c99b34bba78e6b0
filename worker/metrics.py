"""The workers' counters, kept in Redis so that every worker process adds to one set.

Workers come and go (``--scale worker=N``); counting in Redis lets the ingress's
``/metrics`` show the whole service at once. Each counter is a field of one hash:
``name|label=value|label=value``. :func:`render` turns the hash into Prometheus text.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from typing import Any, cast

from redis.asyncio import Redis

from b24.client.client import ClientStats
from b24_dedupe.keys import Keys
from worker.audit import AuditEntry

HELP = {
    "b24dd_worker_jobs_total": "Dedupe jobs finished, by decision.",
    "b24dd_worker_merges_total": "Merges sent to Bitrix24, by outcome.",
    "b24dd_worker_no_merge_total": "Records left alone, by reason.",
    "b24dd_worker_bitrix24_commands_total": "Bitrix24 commands spent by jobs.",
    "b24dd_worker_job_seconds_total": "Time spent in jobs.",
    "b24dd_bitrix24_requests_total": "HTTP requests sent to Bitrix24 by the workers.",
    "b24dd_bitrix24_request_commands_total": "Commands those requests carried (batching).",
    "b24dd_bitrix24_refusals_total": "Requests Bitrix24 refused or that failed, by code.",
    "b24dd_limiter_wait_seconds_total": "Time workers waited for the shared rate limiter.",
}
_DIGITS = re.compile(r"\d+")


def reason_label(reason: str) -> str:
    """A reason without the IDs and values that make each one unique."""
    head = reason.split(":", 1)[0]
    return _DIGITS.sub("N", head).strip()[:80]


def _field(name: str, **labels: str) -> str:
    return "|".join([name, *(f"{k}={v}" for k, v in sorted(labels.items()))])


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
                    keys.metrics, _field("b24dd_bitrix24_refusals_total", code=code), count
                )
        pipe.hincrby(keys.metrics, _field("b24dd_worker_jobs_total", decision=entry.decision), 1)
        if entry.outcome.get("status") in ("SUCCESS", "CONFLICT", "ERROR", "PARTIAL"):
            status = str(entry.outcome["status"])
            pipe.hincrby(keys.metrics, _field("b24dd_worker_merges_total", outcome=status), 1)
        if entry.decision == "no_merge":
            pipe.hincrby(
                keys.metrics,
                _field("b24dd_worker_no_merge_total", reason=reason_label(entry.reason)),
                1,
            )
        pipe.hincrby(keys.metrics, "b24dd_worker_bitrix24_commands_total", entry.requests)
        pipe.hincrbyfloat(keys.metrics, "b24dd_worker_job_seconds_total", entry.duration)
        await pipe.execute()


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render_counters(counters: Mapping[bytes, bytes]) -> list[str]:
    by_name: dict[str, list[str]] = {}
    for raw_field, raw_value in sorted(counters.items()):
        name, *labels = raw_field.decode().split("|")
        pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in (lab.split("=", 1) for lab in labels))
        by_name.setdefault(name, []).append(
            f"{name}{{{pairs}}} {raw_value.decode()}" if pairs else f"{name} {raw_value.decode()}"
        )
    lines = []
    for name, samples in by_name.items():
        lines += [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} counter", *samples]
    return lines


async def render(redis: Redis, keys: Keys) -> str:
    """Prometheus text of the workers' counters and the queue's depth."""
    counters = await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(keys.metrics))
    depth = await cast(Awaitable[Any], redis.zcard(keys.queue))
    lines = render_counters(counters)
    lines += [
        "# HELP b24dd_queue_depth Dedupe jobs waiting or running.",
        "# TYPE b24dd_queue_depth gauge",
        f"b24dd_queue_depth {int(depth)}",
    ]
    return "\n".join(lines) + "\n"

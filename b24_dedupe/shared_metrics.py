"""Counters every worker process adds to one Redis hash, and their Prometheus text.

Workers come and go (``--scale worker=N``); counting in Redis lets the ingress's
``/metrics`` show the whole service at once. Each counter is a field of the hash
``keys.metrics``: ``name|label=value|label=value``. Workers write it
(:mod:`worker.metrics`); :func:`render` reads it with any command sender (a redis-py
client, or the ingress's own pipeline).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from b24_dedupe.keys import Keys

Execute = Callable[..., Awaitable[Any]]

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


def counter_field(name: str, **labels: str) -> str:
    return "|".join([name, *(f"{k}={v}" for k, v in sorted(labels.items()))])


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


def _pairs(raw: Any) -> dict[bytes, bytes]:
    """HGETALL as redis-py answers it (a dict) or as RESP does (a flat list)."""
    if isinstance(raw, dict):
        return {bytes(k): bytes(v) for k, v in raw.items()}
    items = list(raw or [])
    return {bytes(items[i]): bytes(items[i + 1]) for i in range(0, len(items) - 1, 2)}


async def render(execute: Execute, keys: Keys) -> str:
    """Prometheus text of the workers' counters and the queue's depth.

    ``execute(*command)`` sends one Redis command (``redis.execute_command``).
    """
    counters = _pairs(await execute("HGETALL", keys.metrics))
    depth = await execute("ZCARD", keys.queue)
    lines = render_counters(counters)
    lines += [
        "# HELP b24dd_queue_depth Dedupe jobs waiting or running.",
        "# TYPE b24dd_queue_depth gauge",
        f"b24dd_queue_depth {int(depth)}",
    ]
    return "\n".join(lines) + "\n"

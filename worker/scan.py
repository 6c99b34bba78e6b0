"""Finding records that no event brought: the periodic recovery scan, ``scan --enqueue``.

Bitrix24 never resends an event (Bitrix24 docs: events), so a record changed while the
ingress was down would stay unprocessed. The periodic scan walks records modified
since its watermark (``>=DATE_MODIFY``, ID ascending, ``start=-1``: the fast walk the
Bitrix24 docs advise for large volumes of data), 50 pages a request as the backfill
reads (:mod:`worker.backfill.reading`), and enqueues those a job has not read at that
DATE_MODIFY. ``b24-dedupe scan --enqueue`` does the same for a whole base;
``b24-dedupe scan`` itself is the backfill (:mod:`worker.backfill`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from b24.client import Bitrix24Client
from b24.crm import EntityType, RecordRef
from b24_dedupe.dedupe_queue import Enqueued, enqueue_event
from b24_dedupe.keys import Keys
from worker.backfill.reading import read_batches

log = logging.getLogger("worker.scan")


@dataclass
class ScanResult:
    seen: int = 0
    enqueued: int = 0
    skipped: int = 0


async def scan(
    client: Bitrix24Client,
    redis: Redis,
    keys: Keys,
    entity: EntityType,
    *,
    since: str | None = None,
    only_unprocessed: bool = True,
    debounce: float = 0.0,
    progress: Callable[[ScanResult], None] | None = None,
) -> tuple[ScanResult, str | None]:
    """Enqueue a dedupe job for each record of ``entity`` modified at or after ``since``.

    Answers the counts and the newest DATE_MODIFY seen (the next watermark).
    """
    result = ScanResult()
    newest: str | None = since
    flt = {">=DATE_MODIFY": since} if since else {}
    async for page in read_batches(client, entity, select=("DATE_MODIFY",), filter=flt):
        markers = await redis.mget([keys.processed(RecordRef(entity, int(r["ID"]))) for r in page])
        for row, marker in zip(page, markers, strict=True):
            result.seen += 1
            modified = str(row.get("DATE_MODIFY") or "")
            if newest is None or modified > newest:
                newest = modified
            if only_unprocessed and marker is not None and marker.decode() == modified:
                result.skipped += 1
                continue
            outcome = await enqueue_event(
                redis, keys, RecordRef(entity, int(row["ID"])), debounce=debounce
            )
            if outcome is not Enqueued.DELETED:
                result.enqueued += 1
        if progress is not None:
            progress(result)
    return result, newest


async def scan_recent(
    client: Bitrix24Client, redis: Redis, keys: Keys, debounce: float
) -> dict[str, ScanResult]:
    """One pass of the periodic scan over the three types, from each watermark on.

    The first pass only sets the watermarks: older records are ``b24-dedupe scan``'s.
    """
    results: dict[str, ScanResult] = {}
    for entity in EntityType:
        watermark_key = keys.scan_watermark(entity)
        raw = await redis.get(watermark_key)
        if raw is None:
            page = await client.page(
                entity.methods.list,
                {"order": {"DATE_MODIFY": "DESC"}, "select": ["ID", "DATE_MODIFY"], "start": -1},
            )
            # An empty portal: everything that comes later is new.
            first = str(page.items[0]["DATE_MODIFY"]) if page.items else "1970-01-01T00:00:00"
            await redis.set(watermark_key, first)
            continue
        result, newest = await scan(
            client, redis, keys, entity, since=raw.decode(), debounce=debounce
        )
        if newest:
            await redis.set(watermark_key, newest)
        results[entity] = result
        if result.enqueued:
            log.info(
                "scan found changes no event brought",
                extra={"entity": entity, "seen": result.seen, "enqueued": result.enqueued},
            )
    return results

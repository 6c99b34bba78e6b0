"""The audit trail: every decision, and before any merge the full state of its records.

Each entry is a JSON document in Redis under ``keys.audit(id)``, indexed by time in
``keys.audit_index``. A merge writes its entry with outcome ``PENDING``
before ``crm.entity.mergeBatch`` is sent and completes it afterwards, so a merge that
was interrupted is visible as such. With a journal directory configured, the entry is
also appended to a JSON-lines file and fsync'd before the merge, for the day Redis
loses its last second of writes.

Retention (:meth:`AuditLog.prune`, run daily by the worker and by ``b24-dedupe audit
prune``): an entry that holds the records of a merge (``merged``, ``restored``, an
``error`` with snapshots) is kept ``AUDIT_MERGE_RETENTION_DAYS`` (0, the default: for
ever, so any merge can be restored); every other entry ``AUDIT_RETENTION_DAYS``
(180). A ``pending`` entry is never removed. Each entry is also indexed by its class
(``keys.audit_brief`` or ``keys.audit_lasting``), so a prune reads only what it removes.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from b24.crm import EntityType, RecordRef
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.keys import Keys


def new_audit_id(now: float | None = None) -> str:
    """Sortable by time: ``20261127T210501Z-3f9a1c``."""
    stamp = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return stamp.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def merge_link(entity: EntityType, ids: list[int], portal: str = "") -> str:
    """Where an administrator finishes a merge Bitrix24 refuses: the portal's merge form
    (``https://PORTAL/crm/contact/merge/?id=1,2``; relative when ``portal`` is empty)."""
    return portal.rstrip("/") + entity.merge_path(ids)


@dataclass
class AuditEntry:
    """One decision about one record."""

    entity: EntityType
    entity_id: int
    decision: Decision
    reason: str
    id: str = field(default_factory=new_audit_id)
    at: float = field(default_factory=time.time)
    group: list[int] = field(default_factory=list)
    survivor: int | None = None
    evidence: dict[str, list[str]] = field(default_factory=dict)  # candidate -> shared values
    excluded: dict[str, str] = field(default_factory=dict)  # candidate -> reason
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> full record
    outcome: dict[str, Any] = field(default_factory=dict)
    # Values written before the merge so that Bitrix24's merger finds nothing to refuse
    # (worker.resolution): record id -> field -> {"before": ..., "after": ...}.
    writes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: int = 0
    duration: float = 0.0

    def __post_init__(self) -> None:
        # Entries read back from JSON (and older ones) carry plain strings.
        self.entity = EntityType(self.entity)
        self.decision = Decision(self.decision)

    @property
    def record(self) -> RecordRef:
        return RecordRef(self.entity, self.entity_id)

    @property
    def status(self) -> str | None:
        """The outcome's status (:class:`Outcome` value), if the entry has one."""
        status = self.outcome.get("status")
        return None if status is None else str(status)

    def to_json(self) -> str:
        body = asdict(self)
        if not body["writes"]:
            del body["writes"]  # most entries write nothing (and entries before it had none)
        return json.dumps(body, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> AuditEntry:
        return cls(**json.loads(raw))


def retention_class(entry: AuditEntry) -> str | None:
    """``lasting`` for an entry that holds the records of a merge (restore needs them),
    ``brief`` for any other, None for a merge not completed yet (never removed)."""
    if entry.decision is Decision.PENDING or entry.status == Outcome.PENDING:
        return None
    if entry.decision in (Decision.MERGED, Decision.RESTORED):
        return "lasting"
    if entry.decision is Decision.ERROR and entry.snapshots:
        return "lasting"  # a merge that failed part-way: its snapshots may be all there is
    return "brief"


@dataclass
class PruneResult:
    brief: int = 0  # entries without a merge, past AUDIT_RETENTION_DAYS
    lasting: int = 0  # merges and restores, past AUDIT_MERGE_RETENTION_DAYS


class AuditLog:
    def __init__(self, redis: Redis, keys: Keys, journal_dir: str | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.journal_dir = Path(journal_dir) if journal_dir else None

    async def write(self, entry: AuditEntry, *, durable: bool = False) -> None:
        """Store the entry; ``durable`` also appends it to the fsync'd journal first."""
        body = entry.to_json()
        if durable and self.journal_dir is not None:
            self._journal(body)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.audit(entry.id), body)
            pipe.zadd(self.keys.audit_index, {entry.id: entry.at})
            if entry.decision is Decision.PENDING:
                pipe.zadd(self.keys.audit_pending, {entry.id: entry.at})
            else:
                pipe.zrem(self.keys.audit_pending, entry.id)
            self._classify(pipe, entry)
            await pipe.execute()

    def _classify(self, pipe: Any, entry: AuditEntry) -> None:
        """Index the entry by how long it is kept (none while PENDING: never removed)."""
        kept = retention_class(entry)
        for name, key in (("brief", self.keys.audit_brief), ("lasting", self.keys.audit_lasting)):
            if name == kept:
                pipe.zadd(key, {entry.id: entry.at})
            else:
                pipe.zrem(key, entry.id)

    async def prune(
        self,
        retention_days: float,
        merge_retention_days: float,
        *,
        now: float | None = None,
        dry_run: bool = False,
        batch: int = 500,
    ) -> PruneResult:
        """Remove the entries past their retention (0 days: kept for ever)."""
        now = time.time() if now is None else now
        await self._sort_older_entries()
        result = PruneResult()
        for days, index in (
            (retention_days, self.keys.audit_brief),
            (merge_retention_days, self.keys.audit_lasting),
        ):
            if days <= 0:
                continue
            cutoff, offset = now - days * 86_400, 0
            while True:
                ids = await self.redis.zrangebyscore(
                    index, "-inf", f"({cutoff}", start=offset if dry_run else 0, num=batch
                )
                if not ids:
                    break
                names = [raw.decode() for raw in ids]
                if dry_run:
                    offset += len(names)
                else:
                    async with self.redis.pipeline(transaction=True) as pipe:
                        pipe.delete(*(self.keys.audit(name) for name in names))
                        pipe.zrem(self.keys.audit_index, *names)
                        pipe.zrem(index, *names)
                        await pipe.execute()
                if index == self.keys.audit_brief:
                    result.brief += len(names)
                else:
                    result.lasting += len(names)
        return result

    async def _sort_older_entries(self, batch: int = 500) -> None:
        """Entries written before retention existed: index each by its class, once."""
        if await self.redis.exists(self.keys.audit_sorted):
            return
        start = 0
        while True:
            ids = await self.redis.zrange(self.keys.audit_index, start, start + batch - 1)
            if not ids:
                break
            start += len(ids)
            bodies = await self.redis.mget([self.keys.audit(raw.decode()) for raw in ids])
            async with self.redis.pipeline(transaction=False) as pipe:
                for body in bodies:
                    if body is not None:
                        self._classify(pipe, AuditEntry.from_json(body))
                await pipe.execute()
        await self.redis.set(self.keys.audit_sorted, str(time.time()))

    async def pending_before(self, moment: float) -> list[AuditEntry]:
        """Merges begun before ``moment`` whose outcome was never written (a worker died)."""
        ids = await self.redis.zrangebyscore(self.keys.audit_pending, "-inf", moment)
        return [e for e in [await self.get(i.decode()) for i in ids] if e is not None]

    async def since(self, moment: float) -> list[AuditEntry]:
        """Entries written at or after ``moment``, oldest first."""
        ids = await self.redis.zrangebyscore(self.keys.audit_index, moment, "+inf")
        return [e for e in [await self.get(i.decode()) for i in ids] if e is not None]

    def _journal(self, body: str) -> None:
        assert self.journal_dir is not None
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        path = self.journal_dir / f"audit-{datetime.now(UTC):%Y%m%d}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (body + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    async def get(self, audit_id: str) -> AuditEntry | None:
        raw = await self.redis.get(self.keys.audit(audit_id))
        return AuditEntry.from_json(raw) if raw is not None else None

    async def latest(self, limit: int = 50) -> list[AuditEntry]:
        ids = await self.redis.zrevrange(self.keys.audit_index, 0, max(0, limit - 1))
        return [e for e in [await self.get(i.decode()) for i in ids] if e is not None]

    async def entries(self, batch: int = 200) -> AsyncIterator[AuditEntry]:
        """Every entry, oldest first."""
        start = 0
        while True:
            ids = await self.redis.zrange(self.keys.audit_index, start, start + batch - 1)
            if not ids:
                return
            for raw_id in ids:
                entry = await self.get(raw_id.decode())
                if entry is not None:
                    yield entry
            start += batch

    async def newest(self, batch: int = 200) -> AsyncIterator[AuditEntry]:
        """Every entry, newest first."""
        start = 0
        while True:
            ids = await self.redis.zrevrange(self.keys.audit_index, start, start + batch - 1)
            if not ids:
                return
            bodies = await self.redis.mget([self.keys.audit(raw.decode()) for raw in ids])
            for body in bodies:
                if body is not None:
                    yield AuditEntry.from_json(body)
            start += batch

    async def find(
        self,
        limit: int = 50,
        *,
        record: RecordRef | None = None,
        decisions: Collection[Decision] = (),
        outcomes: Collection[str] = (),
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries about ``record`` (as the job's record or in a merge
        group), with one of ``decisions`` and one of ``outcomes`` (any when empty)."""
        found: list[AuditEntry] = []
        async for entry in self.newest():
            if record is not None and not (
                entry.entity == record.entity
                and (entry.entity_id == record.id or record.id in entry.group)
            ):
                continue
            if decisions and entry.decision not in decisions:
                continue
            if outcomes and (entry.status or "") not in outcomes:
                continue
            found.append(entry)
            if len(found) >= limit:
                break
        return found

    async def for_record(self, record: RecordRef, limit: int = 1000) -> list[AuditEntry]:
        """Entries about a record (as the job's record or inside a merge group)."""
        found = []
        async for entry in self.entries():
            if entry.entity == record.entity and (
                entry.entity_id == record.id or record.id in entry.group
            ):
                found.append(entry)
                if len(found) >= limit:
                    break
        return found

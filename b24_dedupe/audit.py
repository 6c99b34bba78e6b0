"""The audit trail: every decision, and before any merge the full state of its records.

Each entry is a JSON document in Redis under ``keys.audit(id)`` (no expiry), indexed
by time in ``keys.audit_index``. A merge writes its entry with outcome ``PENDING``
before ``crm.entity.mergeBatch`` is sent and completes it afterwards, so a merge that
was interrupted is visible as such. With a journal directory configured, the entry is
also appended to a JSON-lines file and fsync'd before the merge, for the day Redis
loses its last second of writes.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from b24.crm import EntityType, RecordRef
from b24_dedupe.decisions import Decision
from b24_dedupe.keys import Keys


def new_audit_id(now: float | None = None) -> str:
    """Sortable by time: ``20261127T210501Z-3f9a1c``."""
    stamp = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return stamp.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def merge_link(entity: EntityType, ids: list[int]) -> str:
    """Where an administrator finishes a merge Bitrix24 answered with CONFLICT (docs)."""
    return entity.merge_path(ids)


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
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> AuditEntry:
        return cls(**json.loads(raw))


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
            await pipe.execute()

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

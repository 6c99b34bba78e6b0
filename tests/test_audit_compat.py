"""Audit entries written before the audit had types still read, and read the same.

``tests/fixtures/audit-entries-v1.jsonl`` was written by ``AuditEntry.to_json`` of the
code before ``b24_dedupe.decisions`` existed (commit 8b97025): plain strings for the
record type, the decision and the outcome.
"""

from __future__ import annotations

import json
from pathlib import Path

import redis.asyncio as aioredis

from b24.crm import EntityType, RecordRef
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.keys import Keys
from worker.restoring import deleted_records

FIXTURE = Path(__file__).parent / "fixtures" / "audit-entries-v1.jsonl"


def _lines() -> list[str]:
    return FIXTURE.read_text().splitlines()


def test_every_old_entry_reads_with_its_types() -> None:
    entries = [AuditEntry.from_json(line) for line in _lines()]
    assert [e.decision for e in entries] == [
        Decision.MERGED,
        Decision.NO_MERGE,
        Decision.CONFLICT,
        Decision.RESTORED,
        Decision.PENDING,
        Decision.ERROR,
    ]
    assert all(isinstance(e.decision, Decision) for e in entries)
    assert all(isinstance(e.entity, EntityType) for e in entries)
    merged = entries[0]
    assert merged.record == RecordRef(EntityType.CONTACT, 12)
    assert merged.status == Outcome.SUCCESS
    assert deleted_records(merged) == [34]  # restore still accepts an old merge


def test_an_old_entry_is_written_back_byte_for_byte() -> None:
    for line in _lines():
        assert json.loads(AuditEntry.from_json(line).to_json()) == json.loads(line)
        assert AuditEntry.from_json(line).to_json() == line


async def test_old_entries_in_redis_are_listed_and_found(
    redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    keys = Keys(redis_namespace)
    for line in _lines():
        raw = json.loads(line)
        await redis_client.set(keys.audit(raw["id"]), line)
        await redis_client.zadd(keys.audit_index, {raw["id"]: raw["at"]})
    audit = AuditLog(redis_client, keys)
    latest = await audit.latest(10)
    assert latest[0].id == "20261127T210506Z-000005"  # newest first
    about = await audit.for_record(RecordRef(EntityType.CONTACT, 34))
    assert [e.decision for e in about] == [Decision.MERGED]

"""What one dedupe run works with: the process's resources, the run's own state, reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from b24.client import Bitrix24Client, NotFound
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.keys import Keys
from worker.communications import EvidenceRules
from worker.not_duplicates import NotDuplicates
from worker.policy import Policy

ENTITY_TYPE_IDS = {"LEAD": 1, "CONTACT": 3, "COMPANY": 4}


@dataclass
class Worker:
    """What a run needs; built once per process in ``on_startup``."""

    client: Bitrix24Client
    redis: Redis
    keys: Keys
    audit: AuditLog
    not_duplicates: NotDuplicates
    rules: EvidenceRules
    policy: Policy
    dry_run: bool = False
    # How long a merge's value locks last: as long as a job may run (JOB_TIMEOUT_SECONDS),
    # so that a live job keeps them and a killed worker's locks hold nothing up longer.
    lock_seconds: float = 300.0


@dataclass
class Run:
    """The state of one run, for its audit entry and its log line."""

    entity: str
    entity_id: int
    started: float = field(default_factory=time.monotonic)
    commands: int = 0
    candidates: list[int] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)

    def entry(self, decision: str, reason: str, **fields: Any) -> AuditEntry:
        return AuditEntry(
            entity=self.entity,
            entity_id=self.entity_id,
            decision=decision,
            reason=reason,
            evidence=self.evidence,
            excluded=self.excluded,
            requests=self.commands,
            duration=round(time.monotonic() - self.started, 3),
            **fields,
        )


def _method(entity: str, action: str) -> str:
    return f"crm.{entity.lower()}.{action}"


async def get_record(
    worker: Worker, run: Run, entity: str, entity_id: int
) -> dict[str, Any] | None:
    run.commands += 1
    try:
        record: dict[str, Any] = await worker.client.call(_method(entity, "get"), {"id": entity_id})
    except NotFound:
        return None
    return record


async def get_many(
    worker: Worker, run: Run, entity: str, ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    wanted = list(dict.fromkeys(ids))
    records = await asyncio.gather(*(get_record(worker, run, entity, i) for i in wanted))
    return {i: r for i, r in zip(wanted, records, strict=True) if r is not None}

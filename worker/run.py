"""What one dedupe run works with: the process's resources, the run's own state, reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from b24.client import Bitrix24Client, NotFound
from b24.crm import EntityType, RecordRef
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision
from b24_dedupe.keys import Keys
from b24_dedupe.merge_rules import MergeRules
from b24_dedupe.proposals import Proposals
from b24_dedupe.review import ReviewQueue
from worker.communications import EvidenceRules
from worker.field_descriptions import FieldDescriptions
from worker.not_duplicates import NotDuplicates
from worker.policy import Policy


@dataclass
class DedupeContext:
    """What every dedupe job of a process needs; built once in arq's ``on_startup``."""

    client: Bitrix24Client
    redis: Redis
    keys: Keys
    audit: AuditLog
    not_duplicates: NotDuplicates
    rules: EvidenceRules
    policy: Policy
    fields: FieldDescriptions
    merge_rules: MergeRules
    review: ReviewQueue
    proposals: Proposals
    # The portal's language: Bitrix24's merger compares names through its transliteration.
    language: str = "ru"
    # https://PORTAL, for the links to Bitrix24's own merge form in the audit.
    portal_url: str = ""
    dry_run: bool = False
    # How long a merge's value locks last: as long as a job may run (JOB_TIMEOUT_SECONDS),
    # so that a live job keeps them and a killed worker's locks hold nothing up longer.
    lock_seconds: float = 300.0


@dataclass
class Run:
    """The state of one run, for its audit entry and its log line."""

    record: RecordRef
    started: float = field(default_factory=time.monotonic)
    commands: int = 0
    candidates: list[int] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def entity(self) -> EntityType:
        return self.record.entity

    @property
    def entity_id(self) -> int:
        return self.record.id

    def entry(self, decision: Decision, reason: str, **fields: Any) -> AuditEntry:
        return AuditEntry(
            entity=self.record.entity,
            entity_id=self.record.id,
            decision=decision,
            reason=reason,
            evidence=self.evidence,
            excluded=self.excluded,
            requests=self.commands,
            duration=round(time.monotonic() - self.started, 3),
            **fields,
        )


async def get_record(context: DedupeContext, run: Run, record: RecordRef) -> dict[str, Any] | None:
    """The record as ``crm.*.get`` answers it; ``None`` when the portal has no such record."""
    run.commands += 1
    try:
        found: dict[str, Any] = await context.client.call(
            record.entity.methods.get, {"id": record.id}
        )
    except NotFound:
        return None
    return found


async def get_many(
    context: DedupeContext, run: Run, entity: EntityType, ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """The records that exist among ``ids``, read at once (the client batches them)."""
    wanted = list(dict.fromkeys(ids))
    records = await asyncio.gather(
        *(get_record(context, run, RecordRef(entity, i)) for i in wanted)
    )
    return {i: r for i, r in zip(wanted, records, strict=True) if r is not None}

"""The review queue: groups of records the service would not merge alone.

A group waits here when a person can settle it: a field whose rule is ``review``, a
merge Bitrix24 refused (CONFLICT), a candidate that could as well be someone else, a
group larger than ``MAX_GROUP_SIZE``. Each group is stored once, with its records as
they were read, the fields in which they differ and the reason; a group about the
same records is refreshed, not added again, and a group some of whose records are
gone leaves the queue when it is next looked at.

Redis (names in :mod:`b24_dedupe.keys`): one JSON document per group; a sorted set of
all group ids by the time they first came, and one per record type and reason (the
page's filters and counts stay fast at any size); one key per record naming its group.
"""

from __future__ import annotations

import enum
import hashlib
import json
import time
from collections.abc import Awaitable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

from b24.crm import EntityType, RecordRef
from b24_dedupe.keys import Keys


class ReviewReason(enum.StrEnum):
    """Why a group waits for a person (the queue's filter)."""

    RULE = "rule"  # a differing field whose rule is ``review``
    CONFLICT = "conflict"  # Bitrix24 answered CONFLICT to the merge
    AMBIGUOUS = "ambiguous"  # a candidate that could as well be someone else
    TOO_LARGE = "too_large"  # more records than MAX_GROUP_SIZE


@dataclass
class ReviewGroup:
    """One group waiting for a person; ``ids`` in survival order (survivor first)."""

    entity: EntityType
    ids: list[int]
    reason: ReviewReason
    detail: str  # in words: which fields, which rule, what Bitrix24 said
    differing: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> id -> value
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> record as read
    evidence: dict[str, list[str]] = field(default_factory=dict)  # id -> shared values
    audit_id: str | None = None  # the decision that sent it here
    first_seen: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    id: str = ""

    def __post_init__(self) -> None:
        self.entity = EntityType(self.entity)
        self.reason = ReviewReason(self.reason)
        self.ids = [int(i) for i in self.ids]
        if not self.id:
            self.id = group_id(self.entity, self.ids)

    @property
    def survivor(self) -> int:
        return self.ids[0]

    @property
    def refs(self) -> list[RecordRef]:
        return [RecordRef(self.entity, i) for i in self.ids]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ReviewGroup:
        return cls(**json.loads(raw))


def group_id(entity: EntityType, ids: list[int]) -> str:
    """Short, stable and safe in a URL: ``contact-12-3f9a1c2b`` (lowest id, then a hash of
    all of them), so that the same records always make the same group."""
    ordered = sorted(set(ids))
    digest = hashlib.sha1(",".join(map(str, ordered)).encode()).hexdigest()[:8]
    return f"{entity.value.lower()}-{ordered[0]}-{digest}"


async def _redis(call: Any) -> Any:
    return await cast(Awaitable[Any], call)


class ReviewQueue:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def put(self, group: ReviewGroup) -> tuple[ReviewGroup, bool]:
        """Store ``group``; answers the stored group and whether it is new.

        A group about the same records keeps its id and its first-seen time (it is
        refreshed); groups that share a record with it are replaced by it.
        """
        existing = await self.get(group.id)
        is_new = existing is None
        if existing is not None:
            group.first_seen = existing.first_seen
        group.updated = time.time()
        replaced = set()
        for ref in group.refs:
            other = await self.redis.get(self.keys.review_record(ref))
            if other is not None and other.decode() != group.id:
                replaced.add(other.decode())
        for other_id in replaced:
            await self.remove(other_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if existing is not None:
                self._unindex(pipe, existing)
            pipe.set(self.keys.review_group(group.id), group.to_json())
            self._index(pipe, group)
            await pipe.execute()
        return group, is_new

    def _index(self, pipe: Any, group: ReviewGroup) -> None:
        score = {group.id: group.first_seen}
        pipe.zadd(self.keys.review_index, score)
        pipe.zadd(self.keys.review_index_of(group.entity, None), score)
        pipe.zadd(self.keys.review_index_of(None, group.reason), score)
        pipe.zadd(self.keys.review_index_of(group.entity, group.reason), score)
        for ref in group.refs:
            pipe.set(self.keys.review_record(ref), group.id)

    def _unindex(self, pipe: Any, group: ReviewGroup) -> None:
        pipe.zrem(self.keys.review_index, group.id)
        pipe.zrem(self.keys.review_index_of(group.entity, None), group.id)
        pipe.zrem(self.keys.review_index_of(None, group.reason), group.id)
        pipe.zrem(self.keys.review_index_of(group.entity, group.reason), group.id)
        for ref in group.refs:
            pipe.delete(self.keys.review_record(ref))

    async def get(self, group_id: str) -> ReviewGroup | None:
        raw = await self.redis.get(self.keys.review_group(group_id))
        return ReviewGroup.from_json(raw) if raw is not None else None

    async def remove(self, group_id: str) -> bool:
        """Take a group out of the queue (merged, dismissed, or its records gone)."""
        group = await self.get(group_id)
        if group is None:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            self._unindex(pipe, group)
            pipe.delete(self.keys.review_group(group_id))
            await pipe.execute()
        return True

    async def for_record(self, ref: RecordRef) -> ReviewGroup | None:
        raw = await self.redis.get(self.keys.review_record(ref))
        return None if raw is None else await self.get(raw.decode())

    async def forget_record(self, ref: RecordRef) -> bool:
        """The record was merged or deleted: its group leaves the queue."""
        group = await self.for_record(ref)
        return group is not None and await self.remove(group.id)

    async def page(
        self,
        entity: EntityType | None = None,
        reason: ReviewReason | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[ReviewGroup]:
        """Groups waiting, oldest first, filtered by type and reason."""
        key = self.keys.review_index_of(entity, reason)
        ids = await self.redis.zrange(key, offset, offset + max(0, limit) - 1)
        if not ids:
            return []
        raws = await self.redis.mget([self.keys.review_group(i.decode()) for i in ids])
        groups = [ReviewGroup.from_json(raw) for raw in raws if raw is not None]
        return [g for g in groups if not await self._gone(g)]

    async def _gone(self, group: ReviewGroup) -> bool:
        """A record of the group was deleted on the portal (its DELETE event came): the
        group leaves the queue, nobody has anything left to decide."""
        flags = await self.redis.exists(*(self.keys.deleted(ref) for ref in group.refs))
        if flags:
            await self.remove(group.id)
        return bool(flags)

    async def count(
        self, entity: EntityType | None = None, reason: ReviewReason | None = None
    ) -> int:
        return int(await _redis(self.redis.zcard(self.keys.review_index_of(entity, reason))))

    async def counts(self) -> Mapping[tuple[EntityType, ReviewReason], int]:
        """How many groups wait, per record type and reason."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pairs = [(e, r) for e in EntityType for r in ReviewReason]
            for entity, reason in pairs:
                pipe.zcard(self.keys.review_index_of(entity, reason))
            answers = await pipe.execute()
        return {pair: int(n) for pair, n in zip(pairs, answers, strict=True) if n}

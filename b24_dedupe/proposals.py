"""Dry-run proposals: the merges ``MERGE_MODE=dry-run`` would have made, one per group.

Each proposal is the audit entry of a ``dry_run`` decision (with the full state of the
records). The index keeps one per group of records, newest state wins, so that a
group whose two records were both looked at is proposed once. A person approves a
proposal (the review page, or switching to ``auto``: the worker then looks at the
proposed records again) or it is superseded when the records change.
"""

from __future__ import annotations

from redis.asyncio import Redis

from b24.crm import EntityType
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.keys import Keys


class Proposals:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def propose(self, entry: AuditEntry) -> bool:
        """Index a ``dry_run`` entry; False when the same group was proposed already in
        the same state (then the entry needs no second place in the audit)."""
        group_key = self.keys.proposal_of(entry.entity, entry.group)
        fingerprint = "|".join(
            str(entry.snapshots.get(str(i), {}).get("DATE_MODIFY")) for i in sorted(entry.group)
        )
        previous = await self.redis.get(group_key)
        if previous is not None:
            old_id, _, old_print = previous.decode().partition(" ")
            if old_print == fingerprint:
                return False
            await self.redis.zrem(self.keys.proposals, old_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(group_key, f"{entry.id} {fingerprint}")
            pipe.zadd(self.keys.proposals, {entry.id: entry.at})
            await pipe.execute()
        return True

    async def withdraw(self, entry: AuditEntry) -> None:
        """The proposal was carried out (or its records are gone)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.proposals, entry.id)
            pipe.delete(self.keys.proposal_of(entry.entity, entry.group))
            await pipe.execute()

    async def withdraw_group(self, entity: EntityType, ids: list[int]) -> None:
        """The group was merged: whatever was proposed for it is done."""
        previous = await self.redis.getdel(self.keys.proposal_of(entity, ids))
        if previous is not None:
            await self.redis.zrem(self.keys.proposals, previous.decode().partition(" ")[0])

    async def count(self) -> int:
        return int(await self.redis.zcard(self.keys.proposals))

    async def page(self, audit: AuditLog, offset: int = 0, limit: int = 50) -> list[AuditEntry]:
        """Proposals, newest first."""
        ids = await self.redis.zrevrange(self.keys.proposals, offset, offset + limit - 1)
        entries = [await audit.get(i.decode()) for i in ids]
        return [e for e in entries if e is not None]

    async def all_ids(self) -> list[str]:
        return [i.decode() for i in await self.redis.zrange(self.keys.proposals, 0, -1)]

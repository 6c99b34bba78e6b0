"""The portal-level "not duplicates" list: pairs of records, or values, an administrator
has said are not evidence of one customer. The decision respects both."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any, cast

from redis.asyncio import Redis

from b24.crm import EntityType
from b24_dedupe.keys import Keys
from worker.communications import Communication


async def _redis(call: Any) -> Any:
    """redis-py types its asyncio commands as sync-or-async; here they are always async."""
    return await cast(Awaitable[Any], call)


def pair_member(entity: EntityType, a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{entity}:{low}:{high}"


class NotDuplicates:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def add_pair(self, entity: EntityType, a: int, b: int) -> bool:
        return bool(
            await _redis(self.redis.sadd(self.keys.not_duplicate_pairs, pair_member(entity, a, b)))
        )

    async def remove_pair(self, entity: EntityType, a: int, b: int) -> bool:
        return bool(
            await _redis(self.redis.srem(self.keys.not_duplicate_pairs, pair_member(entity, a, b)))
        )

    async def add_value(self, comm: Communication) -> bool:
        return bool(await _redis(self.redis.sadd(self.keys.not_duplicate_values, str(comm))))

    async def remove_value(self, comm: Communication) -> bool:
        return bool(await _redis(self.redis.srem(self.keys.not_duplicate_values, str(comm))))

    async def pairs(self, entity: EntityType, ids: Iterable[int]) -> set[frozenset[int]]:
        """The marked pairs among ``ids``."""
        wanted = sorted(set(ids))
        members = [pair_member(entity, a, b) for i, a in enumerate(wanted) for b in wanted[i + 1 :]]
        if not members:
            return set()
        flags = await _redis(self.redis.smismember(self.keys.not_duplicate_pairs, members))
        marked = set()
        for member, flag in zip(members, flags, strict=True):
            if flag:
                _, low, high = member.split(":")
                marked.add(frozenset({int(low), int(high)}))
        return marked

    async def values(self) -> set[str]:
        return {
            v.decode() for v in await _redis(self.redis.smembers(self.keys.not_duplicate_values))
        }

    async def all_pairs(self) -> list[str]:
        return sorted(
            v.decode() for v in await _redis(self.redis.smembers(self.keys.not_duplicate_pairs))
        )

"""A lock on the normalised values of a merge group, all or none, in one round trip.

Jobs for records that share a value may run at once on different workers; each
merge first takes a lock on every value of its group, so two merges never work on
the same records at the same time. Values are locked in one Lua script: no partial
locks, hence no deadlock. A lock expires by itself (a worker killed mid-merge does
not hold it forever).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Iterable
from typing import Any, cast

from redis.asyncio import Redis

from b24_dedupe.keys import Keys

_ACQUIRE = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return 1
"""

_RELEASE = """
local released = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
"""


class ValueLock:
    def __init__(self, redis: Redis, keys: Keys, values: Iterable[str], ttl_seconds: float) -> None:
        self.redis = redis
        self.lock_keys = sorted({keys.lock(v) for v in values})
        self.ttl_ms = max(1, round(ttl_seconds * 1000))
        self.token = secrets.token_hex(8)
        self.held = False

    async def acquire(self) -> bool:
        if not self.lock_keys:
            self.held = True
            return True
        result = await cast(
            Awaitable[Any],
            self.redis.eval(
                _ACQUIRE, len(self.lock_keys), *self.lock_keys, self.token, str(self.ttl_ms)
            ),
        )
        self.held = bool(result)
        return self.held

    async def release(self) -> None:
        if self.held and self.lock_keys:
            await cast(
                Awaitable[Any],
                self.redis.eval(_RELEASE, len(self.lock_keys), *self.lock_keys, self.token),
            )
        self.held = False

"""The portal's request limit, shared by every process through Redis.

Bitrix24 keeps a leaky bucket per portal: a counter that drains ``rps`` a second and
refuses a request past ``burst`` (https://apidocs.bitrix24.com/limits.html). The same bucket is
kept here in Redis, one per portal, changed only by Lua scripts (atomic), timed by
Redis' clock (one clock for all processes). A caller that finds it full waits for the
drain instead of sending a request the portal would refuse.

When the portal refuses anyway (``QUERY_LIMIT_EXCEEDED``: other apps on the same
address share its bucket), every process pauses: a portal-wide cool-down in Redis
whose length doubles with each refusal that comes after the previous pause ended, with
jitter, up to a cap (the docs' advice: lower the rate, retry with growing delays).
"""

from __future__ import annotations

import asyncio
import logging
import random

import redis.asyncio as aioredis

from b24.client.keys import ClientKeys

log = logging.getLogger("b24.client")

# KEYS: bucket, cooldown. ARGV: rate, capacity.
# Answers "0" when a request may go now (and counts it), or the seconds to wait.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cool_until = tonumber(redis.call('HGET', KEYS[2], 'until') or '0')
if cool_until > now then
  return string.format('%.6f', cool_until - now)
end
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'ts') or tostring(now))
level = math.max(0, level - math.max(0, now - last) * rate)
if level + 1 > capacity then
  return string.format('%.6f', (level + 1 - capacity) / rate)
end
level = level + 1
redis.call('HSET', KEYS[1], 'level', string.format('%.6f', level), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(level / rate * 1000) + 1000)
return '0'
"""

# KEYS: bucket, cooldown. ARGV: capacity, base, cap, jitter in [0, 1), quiet seconds.
# Answers {strike, seconds of pause left, 1 when this refusal began the pause}. A
# refusal that arrives while a pause is on was sent before it began: it changes nothing.
_REFUSED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'level', ARGV[1], 'ts', string.format('%.6f', now))
local cool_until = tonumber(redis.call('HGET', KEYS[2], 'until') or '0')
local strikes = tonumber(redis.call('HGET', KEYS[2], 'strikes') or '0')
if cool_until > now then
  return {strikes, string.format('%.6f', cool_until - now), 0}
end
strikes = strikes + 1
local delay = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ (strikes - 1))
delay = delay * (0.5 + 0.5 * tonumber(ARGV[4]))
redis.call('HSET', KEYS[2], 'until', string.format('%.6f', now + delay), 'strikes', strikes)
redis.call('PEXPIRE', KEYS[2], math.ceil((delay + tonumber(ARGV[5])) * 1000))
return {strikes, string.format('%.6f', delay), 1}
"""


class RateLimiter:
    """The leaky bucket of one portal, as all processes share it.

    ``capacity`` is the portal's burst less ``headroom``: a request counted here
    reaches the portal a little later, and the margin absorbs that jitter.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: ClientKeys,
        portal: str,
        *,
        rate: float,
        burst: int,
        headroom: int,
        cooldown_base: float,
        cooldown_max: float,
        cooldown_quiet: float,
    ) -> None:
        if rate <= 0 or burst - headroom < 1:
            raise ValueError("the limiter needs a positive rate and burst > headroom")
        self.portal = portal
        self.rate = rate
        self.capacity = burst - headroom
        self._keys = [keys.rate_bucket(portal), keys.cooldown(portal)]
        self._cooldown = (cooldown_base, cooldown_max, cooldown_quiet)
        self._acquire = redis.register_script(_ACQUIRE)
        self._refused = redis.register_script(_REFUSED)
        # One coroutine of this process asks Redis at a time; the others queue here.
        self._turn = asyncio.Lock()

    async def acquire(self) -> float:
        """Wait until one request may be sent, count it; answers the seconds waited."""
        waited = 0.0
        async with self._turn:
            while True:
                wait = float(await self._acquire(keys=self._keys, args=[self.rate, self.capacity]))
                if wait <= 0:
                    return waited
                # A little jitter keeps processes that woke together from asking in step.
                pause = wait + random.uniform(0, 0.01)
                await asyncio.sleep(pause)
                waited += pause

    async def refused(self) -> float:
        """The portal answered ``QUERY_LIMIT_EXCEEDED``: pause every process.

        Answers the seconds of pause left.
        """
        base, cap, quiet = self._cooldown
        strikes, left, began = await self._refused(
            keys=self._keys, args=[self.capacity, base, cap, random.random(), quiet]
        )
        pause = float(left)
        log.log(
            logging.WARNING if int(began) else logging.DEBUG,
            "portal %s: QUERY_LIMIT_EXCEEDED, all processes pause %.2fs (strike %s)",
            self.portal,
            pause,
            int(strikes),
        )
        return pause

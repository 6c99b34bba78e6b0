"""The operating limit: each method's execution time, as every response reports it.

Bitrix24 adds up each method's execution time in ten one-minute buckets; every
answer carries ``time.operating`` (the method's time in the window) and
``time.operating_reset_at``; inside a batch each sub-call counts on its own method
(https://apidocs.bitrix24.com/limits.html, "Resource Consumption Limits"). Past the
limit the method answers 429 ``OPERATION_TIME_LIMIT`` until its reset, while other
methods keep working.

Kept here per method, in Redis so that all processes see it:

- a method past ``slow_from`` of its budget is *paced*: one call per interval that
  spreads what is left of the budget until the reset;
- a method refused with ``OPERATION_TIME_LIMIT`` is *paused* until its reset time,
  and only that method. A caller waits out a pause or pace up to ``max_wait``; a longer
  one raises :class:`~b24.client.errors.OperatingLimit` carrying the time to come back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as aioredis

from b24.client.commands import method_key
from b24.client.errors import OperatingLimit
from b24.client.keys import ClientKeys
from b24.client.responses import Timing

log = logging.getLogger("b24.client")

# A method's state outlives its last answer by the docs' ten-minute window and a margin.
_STATE_TTL_SECONDS = 900

# KEYS: method state. ARGV: interval, now, max wait. Books the method's next free turn
# (turns are ``interval`` apart, first come first served) when it is at most ``max wait``
# away: answers "1 WAIT"; otherwise books nothing and answers "0 WAIT".
_TAKE_TURN = """
local now = tonumber(ARGV[2])
local next_at = tonumber(redis.call('HGET', KEYS[1], 'next_at') or '0')
local turn = math.max(now, next_at)
if turn - now > tonumber(ARGV[3]) then
  return '0 ' .. string.format('%.6f', turn - now)
end
redis.call('HSET', KEYS[1], 'next_at', string.format('%.6f', turn + tonumber(ARGV[1])))
return '1 ' .. string.format('%.6f', turn - now)
"""


@dataclass(frozen=True)
class MethodState:
    """What is known of one method's budget (unix times, seconds)."""

    operating: float = 0.0
    reset_at: float = 0.0
    cost: float = 0.0
    blocked_until: float = 0.0

    @classmethod
    def from_redis(cls, raw: Mapping[Any, Any]) -> MethodState:
        """From HGETALL, whether the Redis client decodes responses or not."""
        fields = {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in raw.items()}

        def number(name: str) -> float:
            try:
                return float(fields.get(name, 0))
            except (TypeError, ValueError):
                return 0.0

        return cls(number("operating"), number("reset_at"), number("cost"), number("blocked_until"))


def pace_interval(state: MethodState, *, limit: float, slow_from: float, now: float) -> float:
    """Seconds between calls of a method near its budget; 0 when it is free to go.

    Past ``slow_from * limit`` the budget left is spread evenly until the reset: with
    ``cost`` seconds a call, ``left / cost`` calls fit in ``reset_at - now`` seconds.
    """
    if state.reset_at <= now or state.operating < slow_from * limit:
        return 0.0
    span = state.reset_at - now
    left = limit - state.operating
    if left <= 0:
        return span
    return min(span, span * max(state.cost, 0.001) / left)


def _clock(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).strftime("%H:%M:%S")


class OperatingTracker:
    """Each method's operating time on one portal, shared through Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: ClientKeys,
        portal: str,
        *,
        limit: float,
        slow_from: float,
        max_wait: float,
        fallback: float,
        refresh: float,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.portal = portal
        self.limit = limit
        self.slow_from = slow_from
        self.max_wait = max_wait
        self.fallback = fallback
        self.refresh = refresh
        self._take_turn = redis.register_script(_TAKE_TURN)
        self._cache: dict[str, tuple[MethodState, float]] = {}
        self._turns: dict[str, asyncio.Lock] = {}

    def _key(self, method: str) -> str:
        return self._keys.operating(self.portal, method_key(method))

    async def state(self, method: str) -> MethodState:
        """The method's state, from this process' copy when it is fresh enough."""
        name = method_key(method)
        cached = self._cache.get(name)
        if cached is not None and time.monotonic() - cached[1] < self.refresh:
            return cached[0]
        raw = await cast(Awaitable[dict[Any, Any]], self._redis.hgetall(self._key(name)))
        state = MethodState.from_redis(raw)
        self._cache[name] = (state, time.monotonic())
        return state

    async def admit(self, method: str) -> None:
        """Wait until ``method`` may be called; raise OperatingLimit past ``max_wait``."""
        name = method_key(method)
        while True:
            state = await self.state(name)
            now = time.time()
            if state.blocked_until > now:
                wait = state.blocked_until - now
                if wait > self.max_wait:
                    raise OperatingLimit(
                        f"{method}: paused until {_clock(state.blocked_until)} UTC "
                        "(OPERATION_TIME_LIMIT)",
                        method=method,
                        reset_at=state.blocked_until,
                    )
                await asyncio.sleep(wait)
                self._cache.pop(name, None)
                continue
            interval = pace_interval(state, limit=self.limit, slow_from=self.slow_from, now=now)
            if interval <= 0:
                return
            async with self._turns.setdefault(name, asyncio.Lock()):
                answer = await self._take_turn(
                    keys=[self._key(name)], args=[interval, time.time(), self.max_wait]
                )
            booked, turn_in = (answer.decode() if isinstance(answer, bytes) else answer).split()
            wait = float(turn_in)
            if booked != "1":
                # The turns within max_wait are taken by earlier callers: come back when
                # the budget grows (the window's reset), not for a turn others queue for.
                raise OperatingLimit(
                    f"{method}: slowed near its operating budget, no turn within "
                    f"{self.max_wait:.0f} s (next at {_clock(now + wait)} UTC)",
                    method=method,
                    reset_at=max(state.reset_at, now + wait),
                )
            log.debug("portal %s: %s paced, next call in %.2fs", self.portal, method, wait)
            await asyncio.sleep(wait)
            return

    async def observe(self, timings: Mapping[str, Sequence[Timing]]) -> None:
        """Note the ``time`` blocks of one request's calls, by method, in call order."""
        if not timings:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for method, seen in timings.items():
                known = [t for t in seen if t.operating is not None]
                if not known:
                    continue
                name = method_key(method)
                last = known[-1]
                costs = [t.processing for t in known if t.processing]
                old = await self.state(name)
                cost = sum(costs) / len(costs) if costs else old.cost
                if old.cost and costs:
                    cost = 0.7 * old.cost + 0.3 * cost
                state = MethodState(
                    operating=last.operating or 0.0,
                    reset_at=last.operating_reset_at or old.reset_at,
                    cost=cost,
                    blocked_until=old.blocked_until,
                )
                self._cache[name] = (state, time.monotonic())
                pipe.hset(
                    self._key(name),
                    mapping={
                        "operating": state.operating,
                        "reset_at": state.reset_at,
                        "cost": state.cost,
                    },
                )
                pipe.expire(self._key(name), _STATE_TTL_SECONDS)
            await pipe.execute()

    async def block(self, method: str, reset_at: float | None) -> float:
        """``method`` was refused with OPERATION_TIME_LIMIT: pause it; answers until when.

        Until ``reset_at`` when the answer named it, else the last reset seen for the
        method, else ``fallback`` seconds from now (the next one-minute bucket, at most).
        """
        name = method_key(method)
        now = time.time()
        old = await self.state(name)
        if reset_at is not None and reset_at > now:
            until = reset_at
        elif old.reset_at > now:
            until = old.reset_at
        else:
            until = now + self.fallback
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._key(name), mapping={"blocked_until": until})
            pipe.expire(self._key(name), _STATE_TTL_SECONDS)
            await pipe.execute()
        self._cache[name] = (
            MethodState(old.operating, old.reset_at, old.cost, until),
            time.monotonic(),
        )
        log.log(
            logging.WARNING if old.blocked_until <= now else logging.DEBUG,
            "portal %s: %s paused until %s UTC (OPERATION_TIME_LIMIT)",
            self.portal,
            method,
            _clock(until),
        )
        return until

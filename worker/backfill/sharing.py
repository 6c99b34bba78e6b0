"""How the backfill shares the portal with the live service.

- **Requests.** The scan's client is a background caller
  (:meth:`b24.client.Bitrix24Client.run_in_background`): it takes at most a share of the
  portal's request rate (default half) from a leaky bucket of its own, on top of the
  portal's bucket every process shares in Redis; and before each request it passes
  :class:`LiveFirst`, which holds the scan back while live jobs are due in the queue.
- **mergeBatch's operating budget.** :class:`MergeBudget` sends the scan's merges a few
  at a time, one at a time while the client paces the method near its budget, none
  while the method is paused (Bitrix24 docs: limits).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis

from b24.client import OperatingLimit
from b24.client.operating import pace_interval
from b24.crm import MERGE_BATCH
from b24_dedupe.audit import AuditEntry
from b24_dedupe.keys import Keys
from worker.run import DedupeContext

log = logging.getLogger("worker.backfill")


@dataclass
class LiveFirst:
    """The scan's gate before each request: live events first.

    While more than ``threshold`` jobs are due in the live queue (arq's queue holds
    each job under the time it may run; running jobs stay in it until they end), the
    scan waits. A queue that does not drain (no worker running) does not stop it for
    good: after ``patience`` seconds of waiting one request goes, and the wait starts
    again.
    """

    redis: Redis
    keys: Keys
    threshold: int = 20
    patience: float = 60.0
    poll: float = 0.5
    waited: float = 0.0  # seconds the scan gave way, in all
    _warned: bool = field(default=False, repr=False)

    async def __call__(self) -> None:
        started = time.monotonic()
        while True:
            due = int(await self.redis.zcount(self.keys.queue, "-inf", time.time() * 1000))
            if due <= self.threshold:
                return
            if time.monotonic() - started >= self.patience:
                if not self._warned:
                    log.warning(
                        "live queue does not drain: the scan goes on",
                        extra={"due": due, "patience": self.patience},
                    )
                    self._warned = True
                return
            await asyncio.sleep(self.poll)
            self.waited += self.poll


@dataclass
class MergeBudget:
    """Keeps the backfill's merges in step with mergeBatch's operating limit.

    Bitrix24 counts each method's execution time in a sliding 10 minutes (docs:
    limits); a merge costs about 2 s of it. Near its budget the client paces the method
    (turns one pace interval apart, booked first come first served with the live
    workers; a turn more than ``operating_max_wait`` away is refused at once) and
    pauses it once the portal refuses, in Redis for every process. The backfill sends
    up to ``concurrency`` merges at once while the budget is far; once it is paced
    (counting the merges under way), only as many as have a turn within the client's
    patience (each waits one interval more than the one before); while it is paused,
    none; after a pause, or when what the portal said last has expired, one, until an
    answer says how much budget the window freed. So it spends the budget to its end
    without merges refused for want of a turn, and keeps the requests full.
    """

    context: DedupeContext
    concurrency: int = 5
    _slots: asyncio.Semaphore = field(init=False)
    _in_flight: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    async def _state(self) -> tuple[float, int]:
        """(seconds the method is paused for, merges that may be under way now)."""
        tracker = self.context.client.operating
        state = await tracker.state(MERGE_BATCH)
        now = time.time()
        paused = max(0.0, state.blocked_until - now)
        slow = tracker.slow_from * tracker.limit
        if state.reset_at <= now:
            # What the portal last said has expired: its oldest minute has left the
            # window, but how much that freed only the next answer tells. When much was
            # spent, one merge asks first (others would be refused and re-read for
            # nothing); when little was, nothing has to wait.
            return paused, 1 if state.operating >= slow else self.concurrency
        coming = state.operating + self._in_flight * state.cost
        if coming < slow:
            return paused, self.concurrency
        left = tracker.limit - coming
        interval = (state.reset_at - now) * max(state.cost, 0.001) / left if left > 0 else 1e9
        fits = int(0.8 * tracker.max_wait / max(interval, 0.001))
        return paused, max(1, min(self.concurrency, fits))

    async def run(self, merge: Callable[[], Awaitable[AuditEntry]]) -> AuditEntry:
        async with self._slots:
            while True:
                paused, allowed = await self._state()
                if paused > 0:
                    await asyncio.sleep(min(paused, 30.0) + random.uniform(0, 0.5))
                elif self._in_flight >= allowed:
                    await asyncio.sleep(random.uniform(0.2, 0.5))  # one under way ends first
                else:
                    break
            self._in_flight += 1
            try:
                return await merge()
            finally:
                self._in_flight -= 1

    async def after_refusal(self, exc: OperatingLimit) -> None:
        """Wait after mergeBatch was refused (not sent): until the pause ends, or, when
        the client found no turn near enough, about one pace interval (the time one
        more merge's share of what is left needs), so that the next try gets a turn."""
        paused, _ = await self._state()
        if paused > 0:
            await asyncio.sleep(min(paused, 60.0) + random.uniform(0, 0.5))
            return
        tracker = self.context.client.operating
        state = await tracker.state(MERGE_BATCH)
        interval = pace_interval(
            state, limit=tracker.limit, slow_from=tracker.slow_from, now=time.time()
        )
        await asyncio.sleep(min(60.0, max(2.0, interval)) * random.uniform(1.0, 1.2))

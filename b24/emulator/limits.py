"""The portal's two limits (facts.md, Limits; docs:limits).

- :class:`LeakyBucket`: a counter per portal that drains by ``rps`` a second and
  refuses a request that would take it past ``burst``. A refused request does not
  fill the bucket (inference: it did no work).
- :class:`OperatingBudget`: each method's execution time in ten one-minute buckets;
  a method whose time in the window reaches the limit is refused until its oldest
  bucket leaves the window (``operating_reset_at``).
"""

from __future__ import annotations

import math
from collections import defaultdict


class LeakyBucket:
    def __init__(self, rps: float, burst: int) -> None:
        self.rps = rps
        self.burst = burst
        self.level = 0.0
        self._last: float | None = None

    def _drain(self, now: float) -> None:
        if self._last is not None:
            self.level = max(0.0, self.level - (now - self._last) * self.rps)
        self._last = now

    def try_take(self, now: float) -> bool:
        self._drain(now)
        if self.level + 1 > self.burst:
            return False
        self.level += 1
        return True

    def fill(self, now: float) -> None:
        """Fill the bucket to the brim (a fault: the portal is busy with other apps)."""
        self._drain(now)
        self.level = float(self.burst)


class OperatingBudget:
    BUCKETS = 10

    def __init__(self, limit: float, window: float = 600.0) -> None:
        self.limit = limit
        self.window = window
        self.bucket_seconds = window / self.BUCKETS
        self._used: dict[str, dict[int, float]] = defaultdict(dict)

    def _bucket(self, now: float) -> int:
        return math.floor(now / self.bucket_seconds)

    def _live(self, method: str, now: float) -> dict[int, float]:
        buckets = self._used[method]
        oldest_live = self._bucket(now) - self.BUCKETS + 1
        for stale in [b for b in buckets if b < oldest_live]:
            del buckets[stale]
        return buckets

    def used(self, method: str, now: float) -> float:
        return sum(self._live(method, now).values())

    def reset_at(self, method: str, now: float) -> int:
        """When the method's time in the window next goes down (an empty window: now + window)."""
        buckets = {b: s for b, s in self._live(method, now).items() if s > 0}
        if not buckets:
            return int(now + self.window)
        return math.ceil((min(buckets) + self.BUCKETS) * self.bucket_seconds)

    def blocked(self, method: str, now: float) -> bool:
        return self.used(method, now) >= self.limit

    def charge(self, method: str, seconds: float, now: float) -> None:
        if seconds <= 0:
            return
        buckets = self._live(method, now)
        bucket = self._bucket(now)
        buckets[bucket] = buckets.get(bucket, 0.0) + seconds

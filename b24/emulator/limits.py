"""The portal's two limits (Bitrix24 REST docs: limits).

- :class:`LeakyBucket`: a counter per portal that drains by ``rps`` a second and
  refuses a request that would take it past ``burst``. A refused request does not
  fill the bucket (inference: it did no work).
- :class:`OperatingBudget`: each method's execution time, per webhook, in ten
  one-minute buckets; a method whose time in the window is past the limit is refused
  until its oldest bucket leaves the window (``operating_reset_at``). What a request
  spends is kept in :class:`RequestTimes` until it ends.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable


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
    """Execution time per key (webhook and method) in ten buckets (``loadlimiter.php``).

    A key's time in the window is the sum of its last ten buckets (:272-305). Each
    bucket remembers when its first time was spent: the window's reset
    (``operating_reset_at``) is the first time of the oldest bucket with time plus the
    window (:215-252, :331-347). What a request spends is stored when it ends, and only
    when the request's calls of one key sum over ``min_charge`` (:312-353): see
    :class:`RequestTimes`.
    """

    BUCKETS = 10

    def __init__(self, limit: float, window: float = 600.0, min_charge: float = 0.1) -> None:
        self.limit = limit
        self.window = window
        self.min_charge = min_charge
        self.bucket_seconds = window / self.BUCKETS
        # key -> bucket number -> [seconds, unix time of the bucket's first charge]
        self._used: dict[str, dict[int, list[float]]] = defaultdict(dict)

    def _bucket(self, now: float) -> int:
        return math.floor(now / self.bucket_seconds)

    def _live(self, key: str, now: float) -> dict[int, list[float]]:
        buckets = self._used[key]
        oldest_live = self._bucket(now) - self.BUCKETS + 1
        for stale in [b for b in buckets if b < oldest_live]:
            del buckets[stale]
        return buckets

    def stored(self, key: str, now: float) -> float:
        return sum(seconds for seconds, _ in self._live(key, now).values())

    def used(self, key: str, now: float, pending: Iterable[float] = ()) -> float:
        """Stored time plus this request's finished calls that each took over ``min_charge``."""
        return self.stored(key, now) + sum(s for s in pending if s > self.min_charge)

    def blocked(self, key: str, now: float, pending: Iterable[float] = ()) -> bool:
        """Past the limit (``$totalTime > getLimitTime()``, :183-184)."""
        return self.used(key, now, pending) > self.limit

    def reset_at(self, key: str, now: float, first_call: float | None = None) -> int:
        """The oldest bucket's first charge plus the window; else this request's first call
        (or now) plus the window."""
        buckets = self._live(key, now)
        for bucket in sorted(buckets):
            seconds, first = buckets[bucket]
            if seconds > 0:
                return int(first + self.window)
        return int((first_call if first_call is not None else now) + self.window)

    def charge(self, key: str, seconds: float, now: float, first: float | None = None) -> None:
        if seconds <= 0:
            return
        buckets = self._live(key, now)
        bucket = buckets.setdefault(self._bucket(now), [0.0, first if first is not None else now])
        bucket[0] += seconds


class RequestTimes:
    """One HTTP request's calls per budget key, stored when the request ends (``finalize``)."""

    def __init__(self, budget: OperatingBudget) -> None:
        self.budget = budget
        self.calls: dict[str, list[tuple[float, float]]] = {}  # key -> [(start, seconds)]

    def pending(self, key: str) -> list[float]:
        return [seconds for _, seconds in self.calls.get(key, [])]

    def add(self, key: str, start: float, seconds: float) -> None:
        self.calls.setdefault(key, []).append((start, seconds))

    def first_call(self) -> float | None:
        starts = [start for calls in self.calls.values() for start, _ in calls]
        return min(starts) if starts else None

    def finalize(self, now: float) -> None:
        for key, calls in self.calls.items():
            total = sum(seconds for _, seconds in calls)
            if total > self.budget.min_charge:
                self.budget.charge(key, total, now, first=calls[0][0])
        self.calls.clear()

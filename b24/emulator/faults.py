"""Faults a test or benchmark turns on: errors, latency and dropped connections.

Each kind has a share of requests it hits (``rates``), a count of the next requests
it hits for sure (``next``), and time windows (``schedule``). Kinds:
``internal_error`` (500 INTERNAL_SERVER_ERROR), ``overload`` (503 OVERLOAD_LIMIT),
``query_limit`` (503 QUERY_LIMIT_EXCEEDED: the bucket is filled as if other apps
had used it), ``drop`` (the connection is closed without an answer), ``latency``
(``latency_seconds`` added before the answer).

``methods`` narrows every kind to the requests for those REST methods (a batch
request's method is ``batch``); empty, the default, means every request.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

KINDS = ("internal_error", "overload", "query_limit", "drop", "latency")


class FaultSpecError(ValueError):
    """A fault description that cannot be applied."""


@dataclass
class Window:
    kind: str
    start: float  # monotonic
    end: float
    rate: float


@dataclass
class Faults:
    rates: dict[str, float] = field(default_factory=dict)
    next: dict[str, int] = field(default_factory=dict)
    schedule: list[Window] = field(default_factory=list)
    latency_seconds: float = 0.0
    methods: set[str] = field(default_factory=set)  # lower-cased; empty: all
    rng: random.Random = field(default_factory=random.Random)

    def update(self, spec: dict[str, Any]) -> None:
        """Apply a JSON description: ``{"rates": {...}, "next": {...}, "schedule": [...],
        "latency_seconds": x, "methods": [...], "seed": n}``; keys left out keep their
        value."""
        if not isinstance(spec, dict):
            raise FaultSpecError("the fault description must be a JSON object")
        unknown = set(spec) - {"rates", "next", "schedule", "latency_seconds", "methods", "seed"}
        if unknown:
            raise FaultSpecError(f"unknown keys: {', '.join(sorted(unknown))}")
        rates = self._kinds(spec.get("rates", {}), float, "rates")
        counts = self._kinds(spec.get("next", {}), int, "next")
        windows = []
        now = time.monotonic()
        schedule = spec.get("schedule", [])
        if not isinstance(schedule, list):
            raise FaultSpecError("schedule must be a list")
        for entry in schedule:
            if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
                raise FaultSpecError(f"each schedule entry needs a kind among {', '.join(KINDS)}")
            try:
                after = float(entry.get("after", 0))
                duration = float(entry["duration"])
                rate = float(entry.get("rate", 1.0))
            except (KeyError, TypeError, ValueError):
                raise FaultSpecError("a schedule entry needs a numeric duration") from None
            windows.append(Window(entry["kind"], now + after, now + after + duration, rate))
        if "latency_seconds" in spec:
            try:
                self.latency_seconds = float(spec["latency_seconds"])
            except (TypeError, ValueError):
                raise FaultSpecError("latency_seconds must be a number") from None
        if "methods" in spec:
            methods = spec["methods"]
            if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
                raise FaultSpecError("methods must be a list of REST method names")
            self.methods = {m.lower() for m in methods}
        if "seed" in spec:
            self.rng.seed(spec["seed"])
        self.rates.update(rates)
        self.next.update(counts)
        if "schedule" in spec:
            self.schedule = windows

    @staticmethod
    def _kinds(raw: Any, kind: type, name: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise FaultSpecError(f"{name} must be an object")
        bad = set(raw) - set(KINDS)
        if bad:
            raise FaultSpecError(f"unknown fault kinds in {name}: {', '.join(sorted(bad))}")
        try:
            return {k: kind(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise FaultSpecError(f"{name} values must be numbers") from None

    def clear(self) -> None:
        self.rates.clear()
        self.next.clear()
        self.schedule.clear()
        self.latency_seconds = 0.0
        self.methods.clear()

    def hits(self, kind: str, method: str) -> bool:
        """Whether this request (for REST ``method``) gets the fault ``kind`` (consumes
        a ``next`` count)."""
        if self.methods and method.lower() not in self.methods:
            return False
        if self.next.get(kind, 0) > 0:
            self.next[kind] -= 1
            return True
        rate = self.rates.get(kind, 0.0)
        now = time.monotonic()
        for window in self.schedule:
            if window.kind == kind and window.start <= now < window.end:
                rate = max(rate, window.rate)
        return rate > 0 and self.rng.random() < rate

    def describe(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "rates": dict(self.rates),
            "next": {k: v for k, v in self.next.items() if v > 0},
            "schedule": [
                {
                    "kind": w.kind,
                    "starts_in": round(w.start - now, 3),
                    "ends_in": round(w.end - now, 3),
                    "rate": w.rate,
                }
                for w in self.schedule
                if w.end > now
            ],
            "latency_seconds": self.latency_seconds,
            "methods": sorted(self.methods),
        }

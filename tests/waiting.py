"""Waiting for a condition with a deadline, instead of sleeping a fixed time and hoping.

A fixed sleep checks nothing on a slow machine (the thing had long happened, or the
sleep ran so late that anything would have happened) and fails on a loaded one. A test
polls for the condition instead and fails, naming it, once the deadline has passed.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def wait_until(
    predicate: Callable[[], object | Awaitable[object]],
    *,
    what: str,
    within: float = 10.0,
    interval: float = 0.02,
) -> None:
    """Poll ``predicate`` (plain or async) every ``interval`` seconds until it returns a
    true value; raise AssertionError naming ``what`` when it has not ``within`` seconds.

    The deadline only bounds a failing test: a passing one goes on as soon as the
    condition holds, so the deadline can be generous."""
    deadline = time.monotonic() + within
    attempts = 0
    while True:
        outcome = predicate()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        attempts += 1
        if outcome:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {within} s ({attempts} checks) waiting for {what}"
            )
        await asyncio.sleep(interval)

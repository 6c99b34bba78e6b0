"""Pacing near the operating budget: a caller waits for its own turn or is told at once.

A method past 80 % of its budget gets one call per interval. Callers take turns in the
order they come; a caller whose turn is more than ``operating_max_wait`` away must not
hold its place (a worker job's slot) by waiting in a loop: it gets OperatingLimit at
once, with the time the budget grows again.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from b24.client import OperatingLimit
from tests.client.conftest import MakeClient, contact, control, stats
from tests.conftest import StartEmulator

FINDBYCOMM = "crm.duplicate.findbycomm"
PHONE = {"type": "PHONE", "values": ["+79991234567"], "entity_type": "CONTACT"}


async def test_callers_past_the_wait_limit_are_refused_at_once_not_looped(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    # A 60 s window: 1.2 s of budget left at 0.02 s a call spreads to one call per ~1 s.
    emulator = await start_emulator(
        seed={"contacts": [contact("A", "+79991234567")]},
        rps=1000.0, burst=1000, operating_limit=10.0, operating_window=60.0,
    )  # fmt: skip
    client = make_client(emulator, operating_limit=10.0, operating_max_wait=1.5)
    await control(http, emulator, "operating", {"method": FINDBYCOMM, "seconds": 8.8})
    await client.call(FINDBYCOMM, PHONE)  # the answer tells the client: past 80 %

    async def timed() -> tuple[float, object]:
        started = time.monotonic()
        try:
            outcome: object = await client.call(FINDBYCOMM, PHONE)
        except OperatingLimit as exc:
            outcome = exc
        return time.monotonic() - started, outcome

    async with asyncio.timeout(30):
        results = await asyncio.gather(*(timed() for _ in range(5)))
    answered = [seconds for seconds, outcome in results if isinstance(outcome, dict)]
    refused = [(s, o) for s, o in results if isinstance(o, OperatingLimit)]
    # Turns ~1 s apart: now and ~1 s fit within 1.5 s; the other three are told at once.
    assert len(answered) == 2 and len(refused) == 3
    assert max(answered) < 1.5
    for seconds, exc in refused:
        assert seconds < 0.5
        assert isinstance(exc, OperatingLimit) and exc.method == FINDBYCOMM
        assert exc.reset_at is not None and exc.reset_at > time.time() + 10  # the window's reset
    assert (await stats(http, emulator))["commands"][FINDBYCOMM] == 3

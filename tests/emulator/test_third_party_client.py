"""A third-party Bitrix24 library (fast_bitrix24) drives the emulator as a portal.

fast_bitrix24 knows nothing of this project: it batches, pages and throttles the
way it does against real portals, so it checks the emulator's protocol from outside.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fast_bitrix24 import Bitrix

from b24.emulator.server import RunningEmulator


def _drive(webhook_url: str) -> dict[str, Any]:
    portal = Bitrix(webhook_url, verbose=False)
    added = portal.call(
        "crm.contact.add",
        [
            {"fields": {"NAME": f"Person {i}", "PHONE": [{"VALUE": f"+7 999 000 00 0{i % 3}"}]}}
            for i in range(60)
        ],
    )
    rows = portal.get_all("crm.contact.list", params={"select": ["ID", "NAME", "PHONE"]})
    found = portal.call(
        "crm.duplicate.findbycomm", {"type": "PHONE", "values": ["89990000001"]}, raw=True
    )
    return {"added": added, "rows": rows, "found": found}


async def test_fast_bitrix24_adds_lists_and_finds(emulator: RunningEmulator) -> None:
    outcome = await asyncio.wait_for(asyncio.to_thread(_drive, emulator.webhook_url), 60)
    assert sorted(outcome["added"]) == list(range(1, 61))
    assert len(outcome["rows"]) == 60
    assert {row["NAME"] for row in outcome["rows"]} == {f"Person {i}" for i in range(60)}
    assert outcome["found"]["result"] == {"CONTACT": list(range(2, 61, 3))}
    stats = emulator.engine.stats
    assert stats.batch_requests >= 2  # it packed the 60 adds into batches

"""Changes a portal user would make, fed to the demo portal one every few seconds.

Every change goes through the emulator's REST API, so the portal sends its events
to the ingress exactly as a real portal would.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aiohttp

from b24_dedupe.demo.seed import demo_people, reformat, twin

log = logging.getLogger("b24_dedupe.demo")


class Feeder:
    def __init__(self, http: aiohttp.ClientSession, webhook_url: str, seed: int = 7) -> None:
        self.http = http
        self.webhook_url = webhook_url
        self.rng = random.Random(seed)
        self.people: list[tuple[int, dict[str, Any]]] = []

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        async with self.http.post(self.webhook_url + method, json=params) as response:
            body = await response.json()
        if "error" in body:
            log.warning(
                "portal refused the demo's change", extra={"method": method, "error": body["error"]}
            )
            return None
        return body["result"]

    async def step(self) -> str:
        """Make one change and say what it was."""
        roll = self.rng.random()
        if roll < 0.35 or not self.people:
            person = demo_people(self.rng, 1)[0]
            new_id = await self.call("crm.contact.add", {"fields": person})
            if new_id:
                self.people.append((int(new_id), person))
            return f"a new customer, {person['NAME']} {person['LAST_NAME']} (contact {new_id})"
        entity_id, person = self.rng.choice(self.people)
        if roll < 0.75:
            copy = twin(person, self.rng)
            new_id = await self.call("crm.contact.add", {"fields": copy})
            return f"{person['NAME']} entered again, written differently (contact {new_id})"
        if roll < 0.9:
            phone = reformat(person["PHONE"][0]["VALUE"], self.rng)
            new_id = await self.call(
                "crm.contact.add",
                {
                    "fields": {
                        "NAME": self.rng.choice(["Boris", "Vera", "Tom"]),
                        "PHONE": [{"VALUE": phone}],
                    }
                },
            )
            return f"someone else with {person['NAME']}'s phone (contact {new_id}): a trap"
        await self.call(
            "crm.contact.update",
            {
                "id": entity_id,
                "fields": {"COMMENTS": f"called back at {self.rng.randint(9, 18)}:00"},
            },
        )
        return f"{person['NAME']}'s record edited (contact {entity_id})"

    async def run(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            what = await self.step()
            log.info("portal user: " + what)

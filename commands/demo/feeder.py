"""Changes a portal user would make, fed to the demo portal one every few seconds.

The changes are made on the emulated portal itself, as a user's edits in the
Bitrix24 interface are: they fire the portal's outbound events exactly as REST
changes do, but do not use the REST rate limit, which belongs to the service.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from b24.emulator.errors import RestError
from b24.emulator.fields import ENTITY_TYPES
from b24.emulator.portal import Portal
from commands.demo.seed import demo_people, reformat, twin

log = logging.getLogger("commands.demo")


class Feeder:
    def __init__(self, portal: Portal, seed: int = 7) -> None:
        self.portal = portal
        self.rng = random.Random(seed)
        self.people: list[tuple[int, dict[str, Any]]] = []

    def add(self, fields: dict[str, Any]) -> int | None:
        try:
            return self.portal.add(ENTITY_TYPES["CONTACT"], fields)
        except RestError as exc:
            log.warning("the portal refused the demo's change", extra={"error": exc.description})
            return None

    def step(self) -> str:
        """Make one change and say what it was."""
        roll = self.rng.random()
        if roll < 0.35 or not self.people:
            person = demo_people(self.rng, 1)[0]
            new_id = self.add(person)
            if new_id:
                self.people.append((int(new_id), person))
            return f"a new customer, {person['NAME']} {person['LAST_NAME']} (contact {new_id})"
        entity_id, person = self.rng.choice(self.people)
        if roll < 0.75:
            copy = twin(person, self.rng)
            new_id = self.add(copy)
            return f"{person['NAME']} entered again, written differently (contact {new_id})"
        if roll < 0.9:
            phone = reformat(person["PHONE"][0]["VALUE"], self.rng)
            new_id = self.add(
                {"NAME": self.rng.choice(["Boris", "Vera", "Tom"]), "PHONE": [{"VALUE": phone}]}
            )
            return f"someone else with {person['NAME']}'s phone (contact {new_id}): a trap"
        if not self.portal.exists(ENTITY_TYPES["CONTACT"], entity_id):
            return f"{person['NAME']}'s record was merged away; nothing to edit"
        comment = f"called back at {self.rng.randint(9, 18)}:00"
        self.portal.update(ENTITY_TYPES["CONTACT"], entity_id, {"COMMENTS": comment})
        return f"{person['NAME']}'s record edited (contact {entity_id})"

    async def run(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            what = self.step()
            log.info("portal user: " + what)

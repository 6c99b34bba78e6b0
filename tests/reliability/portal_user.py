"""A person working in the CRM while the faults happen: the suite's workload.

The user acts on the emulated portal directly (as the UI would, outside the REST
bucket), so every change fires the portal's outbound event. Customers come in
twice or three times with their phone written differently (duplicates to merge),
some share a phone with a stranger of another name (never to merge), some are
edited (an e-mail added, a phone rewritten: multifields, which never make a merge
CONFLICT), and loners are created and later deleted. Names and phones are unique
per customer, so that the right outcome is known.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from b24.emulator.fields import ENTITY_TYPES
from b24.emulator.portal import Portal

FIRST_NAMES = ("Ivan", "Anna", "Oleg", "Maria", "Pyotr", "Olga", "Sergei", "Elena")
LAST_NAMES = ("Petrov", "Smirnova", "Sidorov", "Ivanova", "Kuznetsov", "Popova")


def phone_formats(digits: str) -> list[str]:
    """One Russian mobile number (10 national digits) as people write it."""
    d = digits
    return [
        f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
        f"8{d}",
        f"7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
        f"+7{d}",
    ]


@dataclass
class Customer:
    entity: str
    name: str
    last_name: str
    digits: str
    email: str
    records: list[int] = field(default_factory=list)

    def fields(self, rng: random.Random, *, with_name: bool = True) -> dict[str, Any]:
        phone = rng.choice(phone_formats(self.digits))
        fields: dict[str, Any] = {"PHONE": [{"VALUE": phone, "VALUE_TYPE": "WORK"}]}
        if self.entity == "COMPANY":
            fields["TITLE"] = f"{self.last_name} {self.name} LLC"
        elif with_name:
            fields["NAME"], fields["LAST_NAME"] = self.name, self.last_name
        if self.entity == "LEAD":
            fields["TITLE"] = "web form"
        return fields


@dataclass
class PortalUser:
    portal: Portal
    rng: random.Random
    prefix: str = "9"  # first digit of every number this user invents
    customers: list[Customer] = field(default_factory=list)
    loners: list[tuple[str, int]] = field(default_factory=list)
    deleted: set[tuple[str, int]] = field(default_factory=set)  # deleted by the user
    actions: dict[str, int] = field(default_factory=dict)
    _serial: int = 0

    def _digits(self) -> str:
        """Ten national digits no other customer of this user has (7919 is prime to 10)."""
        self._serial += 1
        return f"{self.prefix}{self._serial * 7919 % 10**9:09d}"

    def _add(self, entity: str, fields: dict[str, Any]) -> int:
        return self.portal.add(ENTITY_TYPES[entity], fields)

    def _count(self, action: str) -> None:
        self.actions[action] = self.actions.get(action, 0) + 1

    def new_customer(self) -> Customer:
        entity = self.rng.choices(("CONTACT", "LEAD", "COMPANY"), (6, 2, 2))[0]
        serial = len(self.customers)
        customer = Customer(
            entity=entity,
            name=f"{self.rng.choice(FIRST_NAMES)}{serial}",
            last_name=self.rng.choice(LAST_NAMES),
            digits=self._digits(),
            email=f"customer{serial}.{self.prefix}@example.org",
        )
        customer.records.append(self._add(entity, customer.fields(self.rng)))
        self.customers.append(customer)
        self._count("new customer")
        return customer

    def duplicate(self, customer: Customer, *, with_name: bool = True) -> int:
        """The customer once more, the phone written another way."""
        record_id = self._add(customer.entity, customer.fields(self.rng, with_name=with_name))
        customer.records.append(record_id)
        self._count("duplicate")
        return record_id

    def living(self, customer: Customer) -> list[int]:
        records = self.portal.records[customer.entity]
        return [i for i in customer.records if i in records]

    def step(self) -> None:
        """One action, chosen at random."""
        roll = self.rng.random()
        growing = [c for c in self.customers if len(c.records) < 3]
        if roll < 0.3 or not self.customers:
            self.new_customer()
        elif roll < 0.6 and growing:
            self.duplicate(self.rng.choice(growing), with_name=self.rng.random() < 0.85)
        elif roll < 0.75:
            self._edit(self.rng.choice(self.customers))
        elif roll < 0.85:
            self._stranger()
        else:
            self._loner()

    def _edit(self, customer: Customer) -> None:
        living = self.living(customer)
        if not living:
            return
        record_id = self.rng.choice(living)
        if self.rng.random() < 0.5:
            change = {"EMAIL": [{"VALUE": customer.email, "VALUE_TYPE": "WORK"}]}
        else:
            phone = self.rng.choice(phone_formats(customer.digits))
            change = {"PHONE": [{"VALUE": phone, "VALUE_TYPE": "MOBILE"}]}
        self.portal.update(ENTITY_TYPES[customer.entity], record_id, change)
        self._count("edit")

    def _stranger(self) -> None:
        """Someone else (another name) who gives a customer's number: never merged."""
        contacts = [c for c in self.customers if c.entity == "CONTACT"]
        if not contacts:
            return
        customer = self.rng.choice(contacts)
        stranger = Customer(
            "CONTACT", f"Stranger{len(self.customers)}", "Other", customer.digits, ""
        )
        stranger.records.append(self._add("CONTACT", stranger.fields(self.rng)))
        self.customers.append(stranger)
        self._count("stranger")

    def _loner(self) -> None:
        if self.loners and self.rng.random() < 0.5:
            entity, record_id = self.loners.pop(self.rng.randrange(len(self.loners)))
            if record_id in self.portal.records[entity]:
                self.portal.delete(ENTITY_TYPES[entity], record_id)
                self.deleted.add((entity, record_id))
                self._count("delete")
            return
        fields = {
            "NAME": f"Loner{self._serial}",
            "PHONE": [{"VALUE": f"+7{self._digits()}", "VALUE_TYPE": "WORK"}],
        }
        self.loners.append(("CONTACT", self._add("CONTACT", fields)))
        self._count("loner")

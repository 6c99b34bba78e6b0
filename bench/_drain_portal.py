"""The drain benchmark's portal and what its users change, generated from one seed.

Used by ``bench/drain.py`` (the leading underscore keeps ``make bench`` from running
it on its own). Pure: it builds data and touches no portal.

The portal (defaults: 20,000 contacts, 5,000 leads, 3,000 companies) has no
duplicates a merge could take, but the traps of a real base: a switchboard number
behind 30 receptionists, ``info@`` mailboxes, relatives sharing a home phone, leads
that are the same people as contacts (findbycomm searches a record's own type only).

The burst of changes (each one outbound event) mixes, by share of N:

- 30 % ``duplicate``: a person or company entered again, written differently (phone
  as ``8 (9xx) …``, ``79…``, ``+79…``; e-mail in capitals; no name; an extra phone).
  One in 25 of them differs in a position, which Bitrix24 refuses to merge
  (``conflict``); the others must be merged into the older record.
- 10 % traps, which must not be merged: a new receptionist on the switchboard
  number, a contact with only an ``info@`` address, someone else with an existing
  contact's phone, a new lead of an existing contact, an edit of a relative.
- 35 % ``new``: new customers (contacts, leads, companies).
- 25 % ``edit``: a comment changed on an existing record.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from commands.demo.seed import COMPANY, FIRST, LAST, reformat

SWITCHBOARD = "+7 495 100-00-00"
RECEPTIONISTS = 30  # findbycomm calls a value shared by 20 or more records shared
FAMILIES = 100
INFO_MAILBOXES = 20
DOMAINS = ("mail.example", "inbox.example", "post.example", "corp.example")
SUFFIXES = ("LLC", "Group", "Trading", "Partners", "Labs", "Logistics")
POSTS = ("Manager", "Accountant", "Engineer", "Director", "Buyer")
CONFLICT_EVERY = 25  # one duplicate in 25 differs in POST: Bitrix24 answers CONFLICT

# Share of each kind of change in the burst (they add up to 1).
SHARES = {"duplicate": 0.30, "trap": 0.10, "new": 0.35, "edit": 0.25}
DUPLICATE_TYPES = (("CONTACT", 0.65), ("LEAD", 0.20), ("COMPANY", 0.15))
NEW_TYPES = (("CONTACT", 0.6), ("LEAD", 0.3), ("COMPANY", 0.1))
TRAPS = ("switchboard", "info_mailbox", "same_phone_other_name", "lead_of_contact", "relative")


@dataclass(frozen=True)
class Change:
    """One change a portal user makes: it fires exactly one outbound event.

    ``kind`` is what it is for the report; ``original`` the record it duplicates
    (for a ``duplicate`` or ``conflict``: the pair that must, or must not, be merged).
    """

    kind: str
    entity: str
    action: str  # "add" or "update"
    fields: dict[str, Any]
    record_id: int | None = None  # the record an update changes
    original: int | None = None


@dataclass
class Portal:
    """The seed (``running_emulator(seed=...)``) and the plain records changes draw on."""

    seed: dict[str, list[dict[str, Any]]]
    # IDs of records no trap involves, by type: duplicates and edits are drawn from them.
    plain: dict[str, list[int]] = field(default_factory=dict)
    relatives: list[int] = field(default_factory=list)
    info_domains: list[str] = field(default_factory=list)

    def record(self, entity: str, record_id: int) -> dict[str, Any]:
        section = {"CONTACT": "contacts", "LEAD": "leads", "COMPANY": "companies"}[entity]
        return self.seed[section][record_id - 1]


def _multi(values: list[str], value_type: str = "WORK") -> list[dict[str, str]]:
    return [{"VALUE": v, "VALUE_TYPE": value_type} for v in values]


class _Phones:
    """Distinct mobile numbers, +7 9xx xxx-xx-xx, none repeated within one portal."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self._numbers: Iterator[int] = iter(rng.sample(range(10**9), count))

    def next(self) -> str:
        digits = f"9{next(self._numbers):09d}"
        return f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


def _person(rng: random.Random, phones: _Phones, serial: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    person: dict[str, Any] = {"NAME": first, "LAST_NAME": last}
    numbers = [phones.next()] + ([phones.next()] if rng.random() < 0.1 else [])
    person["PHONE"] = _multi(numbers, rng.choice(("WORK", "MOBILE")))
    if rng.random() < 0.7:
        domain = rng.choice(DOMAINS)
        person["EMAIL"] = _multi([f"{first}.{last}{serial}@{domain}".lower()])
    return person


def _company(rng: random.Random, phones: _Phones, serial: int) -> dict[str, Any]:
    name = rng.choice(COMPANY)
    slug = f"{name.lower()}{serial}"
    company: dict[str, Any] = {
        "TITLE": f"{name} {rng.choice(SUFFIXES)} {serial}",
        "PHONE": _multi([phones.next()]),
    }
    if rng.random() < 0.5:
        company["EMAIL"] = _multi([f"accounts@{slug}.example", f"office@{slug}.example"])
    return company


def _dated(records: list[dict[str, Any]], rng: random.Random, start: datetime) -> None:
    """Creation dates spread over two years before ``start``, in ID order."""
    for index, record in enumerate(records):
        created = start + timedelta(minutes=index * 2 * 525_600 // max(1, len(records)))
        created += timedelta(seconds=rng.randint(0, 59))
        record["ID"] = index + 1
        record["DATE_CREATE"] = record["DATE_MODIFY"] = created.isoformat()


def build_portal(
    rng: random.Random, *, contacts: int, leads: int, companies: int, spare_phones: int
) -> tuple[Portal, _Phones]:
    """The seeded portal; the phone source continues for the changes' new numbers."""
    phones = _Phones(rng, int((contacts + leads) * 1.15) + companies + spare_phones + 1000)
    base: list[dict[str, Any]] = [_person(rng, phones, i) for i in range(contacts)]
    for person in rng.sample(base, len(base) // 5):
        person["POST"] = rng.choice(POSTS)
    trap_contacts: list[dict[str, Any]] = [
        {"NAME": "Reception", "LAST_NAME": f"Desk {i}", "PHONE": _multi([SWITCHBOARD])}
        for i in range(RECEPTIONISTS)
    ]
    info_domains = [f"bakery{i}.example" for i in range(INFO_MAILBOXES)]
    trap_contacts += [
        {"NAME": rng.choice(FIRST), "EMAIL": _multi([f"info@{domain}"])} for domain in info_domains
    ]
    relatives_at = len(base) + len(trap_contacts)
    for family in range(FAMILIES):
        home, last = phones.next(), f"{rng.choice(LAST)}-{family}"
        pair = rng.sample(FIRST, 2)
        trap_contacts += [
            {"NAME": name, "LAST_NAME": last, "PHONE": _multi([home], "HOME")} for name in pair
        ]
    contact_records = base + trap_contacts
    _dated(contact_records, rng, datetime(2023, 1, 9, 9, tzinfo=timezone(timedelta(hours=3))))

    lead_records: list[dict[str, Any]] = []
    same_people = rng.sample(range(len(base)), min(leads // 5, len(base)))
    for index in same_people:  # a lead and a contact of one person
        person = base[index]
        lead_records.append(
            {
                "TITLE": "Website request",
                **{k: person[k] for k in ("NAME", "LAST_NAME", "PHONE", "EMAIL") if k in person},
            }
        )
    while len(lead_records) < leads:
        lead = {"TITLE": rng.choice(("Website request", "Callback", "Exhibition"))}
        lead.update(_person(rng, phones, contacts + len(lead_records)))
        if rng.random() < 0.05:
            lead["STATUS_ID"] = "JUNK"  # a final status: never merged
        lead_records.append(lead)
    rng.shuffle(lead_records)
    _dated(lead_records, rng, datetime(2023, 2, 6, 9, tzinfo=timezone(timedelta(hours=3))))

    company_records = [_company(rng, phones, i) for i in range(companies)]
    _dated(company_records, rng, datetime(2023, 1, 2, 9, tzinfo=timezone(timedelta(hours=3))))

    with_lead = set(same_people)
    lead_ids_shared = {
        i + 1 for i, lead in enumerate(lead_records) if lead.get("TITLE") == "Website request"
    }
    portal = Portal(
        seed={"contacts": contact_records, "leads": lead_records, "companies": company_records},
        plain={
            # a contact that also has a lead is left out: a new lead of it would be a
            # duplicate of that lead, not a trap
            "CONTACT": [i + 1 for i in range(len(base)) if i not in with_lead],
            "LEAD": [
                i + 1
                for i, lead in enumerate(lead_records)
                if lead.get("STATUS_ID") != "JUNK" and i + 1 not in lead_ids_shared
            ],
            "COMPANY": list(range(1, len(company_records) + 1)),
        },
        relatives=list(range(relatives_at + 1, len(contact_records) + 1)),
        info_domains=info_domains,
    )
    return portal, phones


def _twin(
    rng: random.Random, entity: str, original: dict[str, Any], phones: _Phones, conflict: bool
) -> dict[str, Any]:
    """The original entered again, written differently; with ``conflict`` another POST."""
    phone = original["PHONE"][0]["VALUE"]
    email = original["EMAIL"][0]["VALUE"] if original.get("EMAIL") else None
    if entity == "COMPANY":
        twin: dict[str, Any] = {"TITLE": original["TITLE"]}
        if email and rng.random() < 0.5:
            twin["EMAIL"] = _multi([email.upper()])
        else:
            twin["PHONE"] = _multi([reformat(phone, rng)])
        return twin
    style = rng.randint(0, 3)
    twin = {"TITLE": original["TITLE"]} if entity == "LEAD" else {}
    if style == 1 and email:
        twin.update(NAME=original["NAME"], LAST_NAME=original["LAST_NAME"])
        twin["EMAIL"] = _multi([email.upper()])
    elif style == 2:  # a number left on the phone, no name
        twin["PHONE"] = _multi([reformat(phone, rng)])
        twin["COMMENTS"] = "left a number by phone"
    elif style == 3:
        twin.update(NAME=original["NAME"], LAST_NAME=original["LAST_NAME"])
        twin["PHONE"] = _multi([reformat(phone, rng), phones.next()])
    else:
        twin["NAME"] = original["NAME"]
        twin["PHONE"] = _multi([reformat(phone, rng)])
    if conflict:  # the same person, but another position: Bitrix24 refuses to merge
        twin["NAME"] = original["NAME"]
        twin["POST"] = next(p for p in POSTS if p != original["POST"])
    return twin


def _counts(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Whole numbers in the given shares that add up to ``total``."""
    counts = {name: int(total * share) for name, share in shares.items()}
    first = next(iter(counts))
    counts[first] += total - sum(counts.values())
    return counts


def plan_changes(rng: random.Random, portal: Portal, phones: _Phones, events: int) -> list[Change]:
    """``events`` changes in a shuffled order; each record is involved at most once."""
    kinds = _counts(events, SHARES)
    pools = {entity: rng.sample(ids, len(ids)) for entity, ids in portal.plain.items()}
    posted = {i for i in pools["CONTACT"] if portal.record("CONTACT", i).get("POST")}
    pools["CONTACT_WITH_POST"] = [i for i in pools["CONTACT"] if i in posted]
    pools["CONTACT"] = [i for i in pools["CONTACT"] if i not in posted]

    def take(entity: str) -> int:
        if not pools[entity]:
            raise ValueError(f"the portal has too few plain {entity} records for {events} events")
        return pools[entity].pop()

    changes: list[Change] = []
    for entity, count in _counts(kinds["duplicate"], dict(DUPLICATE_TYPES)).items():
        for n in range(count):
            conflict = entity == "CONTACT" and n % CONFLICT_EVERY == CONFLICT_EVERY - 1
            original_id = take("CONTACT_WITH_POST" if conflict else entity)
            original = portal.record(entity, original_id)
            fields = _twin(rng, entity, original, phones, conflict)
            kind = "conflict" if conflict else "duplicate"
            changes.append(Change(kind, entity, "add", fields, original=original_id))
    relatives = rng.sample(portal.relatives, len(portal.relatives))
    for n in range(kinds["trap"]):
        trap = TRAPS[n % len(TRAPS)]
        if trap == "switchboard":
            fields = {"NAME": "Reception", "LAST_NAME": f"Desk new {n}"}
            fields["PHONE"] = _multi([reformat(SWITCHBOARD, rng)])
            changes.append(Change(trap, "CONTACT", "add", fields))
        elif trap == "info_mailbox":
            domain = rng.choice(portal.info_domains)
            fields = {"NAME": rng.choice(FIRST), "EMAIL": _multi([f"INFO@{domain}"])}
            changes.append(Change(trap, "CONTACT", "add", fields))
        elif trap == "same_phone_other_name":
            other = portal.record("CONTACT", take("CONTACT"))
            name = next(f for f in rng.sample(FIRST, len(FIRST)) if f != other["NAME"])
            fields = {"NAME": name, "LAST_NAME": other["LAST_NAME"]}
            fields["PHONE"] = _multi([reformat(other["PHONE"][0]["VALUE"], rng)])
            changes.append(Change(trap, "CONTACT", "add", fields))
        elif trap == "lead_of_contact":
            person = portal.record("CONTACT", take("CONTACT"))
            fields = {"TITLE": "Callback"}
            fields.update({k: person[k] for k in ("NAME", "LAST_NAME", "PHONE") if k in person})
            changes.append(Change(trap, "LEAD", "add", fields))
        elif relatives:
            relative = relatives.pop()
            fields = {"COMMENTS": f"asked for a call at {rng.randint(9, 18)}:00"}
            changes.append(Change(trap, "CONTACT", "update", fields, record_id=relative))
    for entity, count in _counts(kinds["new"], dict(NEW_TYPES)).items():
        for n in range(count):
            if entity == "COMPANY":
                fields = _company(rng, phones, 900_000 + n)
            else:
                fields = _person(rng, phones, 800_000 + len(changes))
                if entity == "LEAD":
                    fields["TITLE"] = "Website request"
            changes.append(Change("new", entity, "add", fields))
    for n in range(kinds["edit"]):
        entity = ("CONTACT", "CONTACT", "LEAD", "COMPANY")[n % 4]
        fields = {"COMMENTS": f"called back at {rng.randint(9, 18)}:00"}
        changes.append(Change("edit", entity, "update", fields, record_id=take(entity)))
    rng.shuffle(changes)
    return changes

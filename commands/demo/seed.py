"""A demo portal: a few hundred records with realistic duplicates and traps.

Deterministic (a fixed random seed), so that every demo tells the same story:
duplicates written differently (phone formats, e-mail case, a missing name) that
the service merges, and traps it must leave alone — a switchboard number behind 25
people, an ``info@`` mailbox, relatives sharing a phone, a lead and a contact of one
person, a junk lead, companies with one phone and different names, a pair Bitrix24
refuses to merge (two different positions).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

FIRST = [
    "Ivan",
    "Anna",
    "Pavel",
    "Olga",
    "Sergey",
    "Maria",
    "Dmitry",
    "Elena",
    "Alexei",
    "Natalia",
    "John",
    "Emma",
    "Liam",
    "Sophia",
    "Noah",
    "Mia",
    "Lucas",
    "Chloe",
]
LAST = [
    "Petrov",
    "Ivanova",
    "Smirnov",
    "Kuznetsova",
    "Popov",
    "Sokolova",
    "Lebedev",
    "Novikova",
    "Morozov",
    "Volkova",
    "Smith",
    "Brown",
    "Taylor",
    "Wilson",
    "Clarke",
]
COMPANY = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Oscorp",
    "Aperture",
    "Massive",
]

SWITCHBOARD = "+7 495 100-00-00"


def _phone(rng: random.Random) -> str:
    return (
        f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-"
        f"{rng.randint(10, 99)}"
    )


def reformat(phone: str, rng: random.Random) -> str:
    """The same number as another person would type it."""
    digits = "".join(ch for ch in phone if ch.isdigit())[1:]
    return rng.choice(
        [
            f"8{digits}",
            f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
            f"7{digits}",
            f"+7{digits}",
        ]
    )


def _multi(values: list[str]) -> list[dict[str, str]]:
    return [{"VALUE": v, "VALUE_TYPE": "WORK"} for v in values]


def demo_people(rng: random.Random, count: int) -> list[dict[str, Any]]:
    people = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        people.append(
            {
                "NAME": first,
                "LAST_NAME": last,
                "PHONE": _multi([_phone(rng)]),
                "EMAIL": _multi([f"{first}.{last}{i}@mail.example".lower()]),
            }
        )
    return people


def twin(person: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A duplicate: the same person entered again, written differently."""
    phone = person["PHONE"][0]["VALUE"]
    email = person["EMAIL"][0]["VALUE"]
    copy: dict[str, Any] = {"NAME": person["NAME"]}
    style = rng.randint(0, 3)
    if style == 0:
        copy["PHONE"] = _multi([reformat(phone, rng)])
    elif style == 1:
        copy["EMAIL"] = _multi([email.upper()])
        copy["LAST_NAME"] = person["LAST_NAME"]
    elif style == 2:
        copy = {"PHONE": _multi([reformat(phone, rng)]), "COMMENTS": "left a number by phone"}
    else:
        copy["LAST_NAME"] = person["LAST_NAME"]
        copy["PHONE"] = _multi([reformat(phone, rng), _phone(rng)])
    return copy


def build_seed(seed: int = 24) -> dict[str, Any]:
    rng = random.Random(seed)
    contacts = demo_people(rng, 180)
    contacts += [twin(p, rng) for p in rng.sample(contacts[:180], 45)]
    contacts += [{"NAME": f"Reception {i}", "PHONE": _multi([SWITCHBOARD])} for i in range(25)]
    contacts += [
        {"NAME": "Kate", "EMAIL": _multi(["info@bakery.example"])},
        {"NAME": "Mark", "EMAIL": _multi(["INFO@bakery.example"])},
    ]
    for family in range(3):  # relatives share a home phone
        home = _phone(rng)
        contacts += [
            {"NAME": name, "LAST_NAME": f"Family{family}", "PHONE": _multi([home])}
            for name in ("Peter", "Helen")
        ]
    both = _phone(rng)
    contacts += [
        {"NAME": "Gleb", "POST": "CEO", "PHONE": _multi([both])},
        {"NAME": "Gleb", "POST": "CTO", "PHONE": _multi([reformat(both, rng)])},
    ]
    rng.shuffle(contacts)
    leads = []
    for person in demo_people(rng, 40):
        leads.append({"TITLE": "Website request", **person})
    for person in rng.sample(leads, 8):
        leads.append(
            {
                "TITLE": "Website request",
                "NAME": person["NAME"],
                "PHONE": _multi([reformat(person["PHONE"][0]["VALUE"], rng)]),
            }
        )
    junk = leads[0]
    leads.append(
        {
            "TITLE": "Website request",
            "NAME": junk["NAME"],
            "STATUS_ID": "JUNK",
            "PHONE": junk["PHONE"],
        }
    )
    leads.append(
        {
            "TITLE": "Same person as a contact",
            "NAME": contacts[0].get("NAME", ""),
            "PHONE": contacts[0].get("PHONE", []),
        }
    )
    companies: list[dict[str, Any]] = []
    for name in COMPANY:
        companies.append(
            {
                "TITLE": f"{name} LLC",
                "PHONE": _multi([_phone(rng)]),
                "EMAIL": _multi(
                    [f"office@{name.lower()}.example", f"billing@{name.lower()}.example"]
                ),
            }
        )
    for company in rng.sample(companies, 5):
        companies.append(
            {"TITLE": company["TITLE"], "EMAIL": _multi([company["EMAIL"][1]["VALUE"].upper()])}
        )
    shared_office = _phone(rng)
    companies += [
        {"TITLE": "North Trading", "PHONE": _multi([shared_office])},
        {"TITLE": "South Trading", "PHONE": _multi([shared_office])},
    ]
    start = datetime(2025, 1, 6, 9, 0, tzinfo=timezone(timedelta(hours=3)))
    for records in (contacts, leads, companies):
        for index, record in enumerate(records):
            created = start + timedelta(hours=7 * index + rng.randint(0, 6))
            record["DATE_CREATE"] = record["DATE_MODIFY"] = created.isoformat()
    return {"contacts": contacts, "leads": leads, "companies": companies}

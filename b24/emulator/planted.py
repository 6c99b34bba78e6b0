"""A synthetic contact base with planted duplicates and traps, and what must become of it.

For the backfill's tests and benchmark: ``planted_contacts(n)`` makes ``n`` contacts
(feed ``portal.records`` to :meth:`Portal.add_many`) built on
:func:`b24.emulator.synthetic.contacts` (distinct names, phones and e-mails), in which

- **duplicate groups** (``duplicate_share`` of ``n``, default 1 %): a contact entered
  again later, one or two times, written differently: the phone as ``8 (9xx) …``,
  ``79…`` or ``+7-9xx-…``, the e-mail in capitals, the first name left out, only the
  e-mail. Each must be merged into its original (the oldest, which survives);
- **traps**, none of which may be merged: a switchboard number behind 30 people,
  families (two people, one surname, one home phone), shared team mailboxes (three
  people, one address), ``info@`` mailboxes (generic), and records a person must
  look at: a contact without a name between two people who share its phone
  (ambiguous), and the same person twice with two different positions (Bitrix24
  would refuse the merge).

Records come in ID order with their creation dates ascending; a duplicate comes after
its original. Trap numbers use area codes (3xx, 495) and new numbers 701, which the
synthetic base (9xx, 8xx) never holds. Deterministic for a given ``n`` and ``seed``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from b24.emulator.synthetic import FIRST_NAMES, LAST_NAMES, contacts

SWITCHBOARD = "+7 495 100-00-00"
SWITCHBOARD_PEOPLE = 30


@dataclass
class PlantedPortal:
    records: list[dict[str, Any]]  # ``ID`` and ``DATE_CREATE`` set, ascending
    # duplicate ID -> the original it must be merged into
    duplicates: dict[int, int] = field(default_factory=dict)
    # every ID of a trap, by kind (switchboard, family, team_mailbox, generic_mailbox,
    # ambiguous, conflict): none may be deleted
    traps: dict[str, set[int]] = field(default_factory=dict)

    @property
    def originals(self) -> set[int]:
        return set(self.duplicates.values())

    @property
    def groups(self) -> dict[int, set[int]]:
        """original -> its duplicates."""
        found: dict[int, set[int]] = {}
        for duplicate, original in self.duplicates.items():
            found.setdefault(original, set()).add(duplicate)
        return found

    @property
    def review(self) -> set[int]:
        """Records of groups a person should look at (ambiguous, would conflict)."""
        return self.traps.get("ambiguous", set()) | self.traps.get("conflict", set())


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def respell_phone(phone: str, way: int) -> str:
    """``+7 9xx xxx-xx-xx`` as people also write it."""
    d = _digits(phone)  # 7 9xx xxx xx xx
    local = d[1:]
    if way == 0:
        return f"8 ({local[:3]}) {local[3:6]}-{local[6:8]}-{local[8:]}"
    if way == 1:
        return d
    return f"+7-{local[:3]}-{local[3:6]}-{local[6:]}"


def _duplicate(original: dict[str, Any], way: int, rng: random.Random) -> dict[str, Any]:
    phones = original.get("PHONE") or []
    email = (original.get("EMAIL") or [{}])[0].get("VALUE", "")
    fields: dict[str, Any] = {"NAME": original["NAME"], "LAST_NAME": original["LAST_NAME"]}
    kind = way % 5
    if kind == 0:  # the phone written differently
        fields["PHONE"] = [
            {"VALUE": respell_phone(phones[0]["VALUE"], rng.randrange(3)), "VALUE_TYPE": "WORK"}
        ]
    elif kind == 1:  # the e-mail in capitals
        fields["EMAIL"] = [{"VALUE": email.upper(), "VALUE_TYPE": "WORK"}]
    elif kind == 2:  # no first name, the phone as digits
        del fields["NAME"]
        fields["PHONE"] = [{"VALUE": respell_phone(phones[0]["VALUE"], 1), "VALUE_TYPE": "MOBILE"}]
    elif kind == 3:  # only the e-mail, with spaces around it
        fields = {"LAST_NAME": original["LAST_NAME"]}
        fields["EMAIL"] = [{"VALUE": f"  {email} ", "VALUE_TYPE": "HOME"}]
    else:  # both, respelled, and a new phone besides
        fields["PHONE"] = [
            {"VALUE": respell_phone(phones[0]["VALUE"], 2), "VALUE_TYPE": "WORK"},
            {"VALUE": f"+7 701 {rng.randrange(10**7):07d}", "VALUE_TYPE": "MOBILE"},
        ]
        fields["EMAIL"] = [{"VALUE": email.title(), "VALUE_TYPE": "WORK"}]
    return fields


def planted_contacts(
    total: int, *, duplicate_share: float = 0.01, seed: int = 16, start: str = "2019-01-01"
) -> PlantedPortal:
    """``total`` contacts with planted duplicate groups and traps (module docstring)."""
    rng = random.Random(seed)
    groups = max(1, round(total * duplicate_share))
    families = max(2, total // 1000)
    teams = max(2, total // 5000)
    generic = max(2, total // 2000)
    ambiguous = max(1, total // 5000)
    conflicts = max(1, total // 5000)
    trap_records = SWITCHBOARD_PEOPLE + 2 * families + 3 * teams + generic
    trap_records += 3 * ambiguous + 2 * conflicts
    # One group in five has two duplicates.
    duplicate_records = groups + groups // 5
    base_count = total - duplicate_records - trap_records
    if base_count < groups:
        raise ValueError(f"{total} records are too few for {groups} groups and the traps")
    made: list[dict[str, Any]] = list(contacts(base_count))
    traps: dict[str, list[dict[str, Any]]] = {}
    serial = 10**8  # phones and e-mails of traps, far from the base's

    def person(n: int, **fields: Any) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        record = {
            "NAME": FIRST_NAMES[n % len(FIRST_NAMES)],
            "LAST_NAME": LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)],
            "EMAIL": [{"VALUE": f"trap.{serial}@mail.example", "VALUE_TYPE": "WORK"}],
        }
        record.update(fields)
        return record

    traps["switchboard"] = [
        person(n, PHONE=[{"VALUE": SWITCHBOARD, "VALUE_TYPE": "WORK"}])
        for n in range(SWITCHBOARD_PEOPLE)
    ]
    family = []
    for n in range(families):
        home = [{"VALUE": f"+7 343 {n:07d}", "VALUE_TYPE": "HOME"}]
        surname = LAST_NAMES[n % len(LAST_NAMES)]
        family.append(person(n, LAST_NAME=surname, PHONE=home))
        family.append(person(n + 7, LAST_NAME=surname, PHONE=home))
    traps["family"] = family
    team: list[dict[str, Any]] = []
    for n in range(teams):
        box = [{"VALUE": f"team{n}@firm{n}.example", "VALUE_TYPE": "WORK"}]
        team.extend(person(n * 3 + k, EMAIL=box) for k in range(3))
    traps["team_mailbox"] = team
    traps["generic_mailbox"] = [
        person(n, EMAIL=[{"VALUE": f"info@shop{n % 10}.example", "VALUE_TYPE": "WORK"}])
        for n in range(generic)
    ]
    puzzle = []
    for n in range(ambiguous):
        phone = [{"VALUE": f"+7 383 {n:07d}", "VALUE_TYPE": "WORK"}]
        puzzle.append(person(n, PHONE=phone))
        puzzle.append(person(n + 1, PHONE=phone))
        puzzle.append({"PHONE": phone})  # no name: whose number is it?
    traps["ambiguous"] = puzzle
    twice = []
    for n in range(conflicts):
        phone = [{"VALUE": f"+7 351 {n:07d}", "VALUE_TYPE": "WORK"}]
        twice.append(person(n, PHONE=phone, POST="Manager"))
        first = twice[-1]
        twice.append(
            {"NAME": first["NAME"], "LAST_NAME": first["LAST_NAME"], "PHONE": phone, "POST": "CEO"}
        )
    traps["conflict"] = twice

    # Traps go at random places among the base records; duplicates after their original.
    # Each record gets a place (a number) and all are sorted by it once.
    keyed: list[tuple[float, int, str, dict[str, Any]]] = [
        (float(n), n, "base", record) for n, record in enumerate(made)
    ]
    width = float(len(made))
    for kind, records in traps.items():
        for record in records:
            keyed.append((rng.uniform(0, width), len(keyed), kind, record))
    for number, base_index in enumerate(rng.sample(range(len(made)), groups)):
        original = made[base_index]
        for copy in range(2 if number % 5 == 4 else 1):
            duplicate = _duplicate(original, number + copy, rng)
            duplicate["_original"] = id(original)
            keyed.append((rng.uniform(base_index + 0.5, width), len(keyed), "duplicate", duplicate))
    keyed.sort(key=lambda k: (k[0], k[1]))
    slots = [(kind, record) for _, _, kind, record in keyed]

    begin = datetime.fromisoformat(start).replace(tzinfo=UTC)
    step = timedelta(seconds=max(1, int(5 * 365 * 86400 / max(1, len(slots)))))
    by_object: dict[int, int] = {}
    portal = PlantedPortal(records=[])
    trap_ids: dict[str, set[int]] = {kind: set() for kind in traps}
    for number, (kind, record) in enumerate(slots, 1):
        original_ref = record.pop("_original", None)
        record = {
            **record,
            "ID": number,
            "DATE_CREATE": (begin + step * number).isoformat(),
        }
        record["DATE_MODIFY"] = record["DATE_CREATE"]
        by_object[id(slots[number - 1][1])] = number
        portal.records.append(record)
        if kind == "duplicate":
            assert original_ref is not None
            portal.duplicates[number] = by_object[original_ref]
        elif kind != "base":
            trap_ids[kind].add(number)
    portal.traps = trap_ids
    return portal

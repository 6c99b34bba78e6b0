"""A large synthetic base for benchmarks and tests: contacts made up on the fly.

``contacts(n)`` yields ``n`` contacts as ``crm.contact.add`` takes them (feed them to
:meth:`Portal.add_many`): a first and last name, one phone (every third contact two)
and an e-mail. Numbers and addresses are distinct, so the findbycomm index holds one
entry per value, as in a real base without duplicates. Nothing is kept: a million
contacts cost the memory of the portal only. Deterministic: the same ``n`` gives the
same contacts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

FIRST_NAMES = (
    "Anna", "Boris", "Daria", "Egor", "Elena", "Fedor", "Galina", "Igor", "Irina", "Kirill",
    "Larisa", "Maxim", "Nadia", "Oleg", "Olga", "Pavel", "Polina", "Roman", "Sofia", "Timur",
)  # fmt: skip
LAST_NAMES = (
    "Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov", "Sokolov", "Mikhailov",
    "Novikov", "Fedorov", "Morozov", "Volkov", "Alekseev", "Lebedev", "Semenov", "Egorov",
    "Pavlov", "Kozlov", "Stepanov", "Nikolaev", "Orlov", "Andreev", "Makarov", "Nikitin",
)  # fmt: skip
DOMAINS = ("mail.example", "inbox.example", "post.example", "corp.example")
# Multiplying by a number prime to 10**9 spreads serial numbers over all nine digits
# without two contacts getting one number.
_SPREAD = 738_219_631
_NUMBERS = 10**9


def phone(serial: int, line: int = 0) -> str:
    """The ``line``-th (0 or 1) phone of contact ``serial``, as ``+7 9xx xxx-xx-xx``."""
    digits = f"{9 - line}{serial * _SPREAD % _NUMBERS:09d}"
    return f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


def contacts(count: int, *, first_serial: int = 1) -> Iterator[dict[str, Any]]:
    """``count`` contacts, serials ``first_serial`` on (serial 1 is ID 1 in an empty portal)."""
    if first_serial + count > _NUMBERS:
        raise ValueError("at most a billion synthetic contacts have distinct phones")
    for serial in range(first_serial, first_serial + count):
        first = FIRST_NAMES[serial % len(FIRST_NAMES)]
        last = LAST_NAMES[serial // len(FIRST_NAMES) % len(LAST_NAMES)]
        phones = [{"VALUE": phone(serial), "VALUE_TYPE": "WORK"}]
        if serial % 3 == 0:
            phones.append({"VALUE": phone(serial, 1), "VALUE_TYPE": "MOBILE"})
        email = f"{first}.{last}.{serial}@{DOMAINS[serial % len(DOMAINS)]}".lower()
        yield {
            "NAME": first,
            "LAST_NAME": last,
            "PHONE": phones,
            "EMAIL": [{"VALUE": email, "VALUE_TYPE": "WORK"}],
        }

"""Is this the same person or company? Names and titles compared as people write them.

Pure. Two records that share a phone or an e-mail are one customer only if what
names them agrees (docs/decisions.md, "Same customer"):

- **People** (contacts, leads): the words of NAME and LAST_NAME, in any order and in
  either field ("Ivan Petrov" packed into NAME; first and last swapped), compared as
  canonical keys: letter case, ё/е, trailing dots and spaces do not count, Cyrillic and
  Latin spellings of one name are one ("Сергей", "Sergey", "Sergei"), through the
  ``anyascii`` transliteration and a few rules for the common transliteration schemes
  (й, х, ю, я, -ий). One side's words may be fewer (a missing last name), never
  different: "Elena Ivanova" is not "Elena Petrova", and a name is never a part of
  another ("Ann" is not "Joanna", as Bitrix24's merger would have it). SECOND_NAME
  differs only when both have one.
- **Companies** (a company's TITLE, a lead's COMPANY_TITLE): quotes, punctuation and
  legal forms (ООО, АО, ИП, LLC, Ltd, GmbH …) are left out, so "ООО «Ромашка»",
  "Ромашка, ООО" and "Romashka LLC" are one title.
- **Identity fields** (``IDENTITY_FIELDS``, and fields the rules file marks ``identity``
  or ``block``): both set and different means two customers. A field marked
  ``identity`` (a tax number) that is set and equal on both is stronger evidence than
  the names: then differing names or titles do not keep them apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from anyascii import anyascii

from b24.crm import EntityType

Record = Mapping[str, Any]

PERSON_NAME_FIELDS = ("NAME", "LAST_NAME")
SECOND_NAME = "SECOND_NAME"
# Every field whose difference the name rules judge (and resolve before a merge).
NAME_FIELDS: dict[EntityType, tuple[str, ...]] = {
    EntityType.CONTACT: ("NAME", "SECOND_NAME", "LAST_NAME"),
    EntityType.LEAD: ("NAME", "SECOND_NAME", "LAST_NAME", "COMPANY_TITLE"),
    EntityType.COMPANY: ("TITLE",),
}

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
# Legal forms in Russian and English, as words of a company title (lower case).
LEGAL_FORMS = frozenset(
    {
        "ооо", "оао", "зао", "пао", "ао", "нао", "ип", "чп", "тоо", "одо", "оо", "нко", "ано",
        "гуп", "муп", "фгуп", "ук", "тд", "пк", "llc", "ltd", "inc", "corp", "co", "plc",
        "gmbh", "ag", "sa", "srl", "bv", "oy", "ab", "limited", "incorporated", "corporation",
        "company",
    }
)  # fmt: skip
# Transliteration schemes differ in a few letters; these make their spellings one key.
_SCHEMES = (
    (re.compile(r"[ьъ'’`]"), ""),
    (re.compile(r"shch|sch"), "sc"),
    (re.compile(r"kh"), "h"),
    (re.compile(r"tz"), "ts"),
    (re.compile(r"^ye"), "e"),  # Yelena, Yevgeny: Е at the start of a word
    (re.compile(r"yo"), "e"),  # Artyom, Fyodor: ё
    (re.compile(r"[yj]"), "i"),
    (re.compile(r"ii+"), "i"),
)


def name_key(word: str) -> str:
    """The canonical key of one word of a name: ``Сергей``, ``Sergey``, ``SERGEI.`` →
    ``sergei``."""
    text = anyascii(word.replace("ё", "е").replace("Ё", "Е")).lower()
    text = re.sub(r"[^a-z'’`]", "", text)
    for pattern, replacement in _SCHEMES:
        text = pattern.sub(replacement, text)
    return text


def words(value: Any) -> list[str]:
    if value is None:
        return []
    return [w for w in _WORD.findall(str(value)) if w]


def _keys(value: Any) -> list[str]:
    return [k for k in (name_key(w) for w in words(value)) if k]


def person_words(record: Record) -> list[str]:
    """The canonical keys of a person's first and last name, sorted (order and the field
    they were typed into do not matter)."""
    return sorted(k for code in PERSON_NAME_FIELDS for k in _keys(record.get(code)))


def _is_sub_multiset(small: list[str], large: list[str]) -> bool:
    rest = list(large)
    for item in small:
        if item not in rest:
            return False
        rest.remove(item)
    return True


def same_person_name(a: Record, b: Record) -> bool:
    """Whether two people's names can be one person's (empty names always can)."""
    left, right = person_words(a), person_words(b)
    if left and right:
        short, long = (left, right) if len(left) <= len(right) else (right, left)
        if not _is_sub_multiset(short, long):
            return False
    second_a, second_b = _keys(a.get(SECOND_NAME)), _keys(b.get(SECOND_NAME))
    return not (second_a and second_b and second_a != second_b)


def company_key(title: Any) -> str:
    """A company title without quotes, punctuation and legal forms: ``ООО «Ромашка»``,
    ``Ромашка, ООО``, ``Romashka LLC`` → ``romaska``."""
    kept = [w for w in words(str(title or "").lower()) if w not in LEGAL_FORMS]
    return " ".join(k for k in (name_key(w) for w in kept) if k)


def same_company_title(a: Any, b: Any) -> bool:
    left, right = company_key(a), company_key(b)
    return not (left and right and left != right)


def plain(value: Any) -> str:
    """How an identity field's value compares: trimmed, spaces folded, no case."""
    if value is None or value is False:
        return ""
    if isinstance(value, list):
        return ",".join(sorted(plain(v) for v in value if plain(v)))
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


@dataclass(frozen=True)
class IdentityRules:
    """Which fields identify a customer, beyond names and titles."""

    must_match: tuple[str, ...] = ()  # IDENTITY_FIELDS and fields ruled block
    proves: tuple[str, ...] = ()  # fields ruled identity (e.g. a tax number)


def differences(
    entity: EntityType, a: Record, b: Record, rules: IdentityRules = IdentityRules()
) -> list[str]:
    """The identity fields in which ``a`` and ``b`` name two different customers;
    empty when they can be one."""
    differing = [
        code
        for code in dict.fromkeys((*rules.must_match, *rules.proves))
        if plain(a.get(code)) and plain(b.get(code)) and plain(a.get(code)) != plain(b.get(code))
    ]
    if differing:
        return differing
    if any(plain(a.get(c)) and plain(a.get(c)) == plain(b.get(c)) for c in rules.proves):
        return []
    if entity is EntityType.COMPANY:
        return [] if same_company_title(a.get("TITLE"), b.get("TITLE")) else ["TITLE"]
    names = [] if same_person_name(a, b) else _name_fields_differing(a, b)
    if entity is EntityType.LEAD and not same_company_title(
        a.get("COMPANY_TITLE"), b.get("COMPANY_TITLE")
    ):
        names.append("COMPANY_TITLE")
    return names


def _name_fields_differing(a: Record, b: Record) -> list[str]:
    """For the audit: which name fields the records fill differently."""
    found = [
        code
        for code in (*PERSON_NAME_FIELDS, SECOND_NAME)
        if _keys(a.get(code)) and _keys(b.get(code)) and _keys(a.get(code)) != _keys(b.get(code))
    ]
    return found or ["NAME", "LAST_NAME"]


def fields_to_align(entity: EntityType) -> tuple[str, ...]:
    """The fields whose spellings the worker makes agree with the survivor's before a
    merge, once the identity rules have called the records one customer."""
    return NAME_FIELDS[entity]


def same_values(values: Iterable[Any]) -> bool:
    keys = {plain(v) for v in values if plain(v)}
    return len(keys) <= 1

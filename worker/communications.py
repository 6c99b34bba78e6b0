"""A record's phones and e-mails, normalised for comparison, and which of them count.

Phones are parsed with ``phonenumbers`` (default region configurable) and compared in
E.164 without the extension; a number it cannot parse is compared by its digits.
E-mails are trimmed and lower-cased. Values on the exclusion list — generic
mailboxes such as ``info@`` and configured shared numbers — are never evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

PHONE = "PHONE"
EMAIL = "EMAIL"
_NON_DIGIT = re.compile(r"\D+")


@dataclass(frozen=True, order=True)
class Communication:
    """One normalised value of a record: ``PHONE +79991234567`` or ``EMAIL a@b.io``."""

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


def normalise_phone(raw: str, region: str) -> str:
    """E.164 without extension; the digits alone when the number cannot be parsed."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        number.extension = None
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    digits = _NON_DIGIT.sub("", re.split(r"[#;]|ext|доб", text, maxsplit=1)[0])
    return digits


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


@dataclass(frozen=True)
class EvidenceRules:
    """What may count as evidence that two records are one person or company."""

    region: str = "RU"
    generic_mailboxes: frozenset[str] = frozenset(
        {"info", "sales", "office", "noreply", "no-reply", "support", "admin"}
    )
    shared_numbers: frozenset[str] = frozenset()  # already normalised

    @classmethod
    def build(
        cls, region: str, generic_mailboxes: Iterable[str], shared_numbers: Iterable[str]
    ) -> EvidenceRules:
        normalised = frozenset(
            n for n in (normalise_phone(raw, region) for raw in shared_numbers) if n
        )
        return cls(region, frozenset(m.lower() for m in generic_mailboxes), normalised)

    def normalise(self, type_: str, raw: str) -> str:
        return normalise_phone(raw, self.region) if type_ == PHONE else normalise_email(raw)

    def excluded_reason(self, comm: Communication) -> str | None:
        """Why a value is not evidence, or None when it is."""
        if comm.type == EMAIL:
            local, _, domain = comm.value.partition("@")
            if not domain or not local:
                return "not an e-mail address"
            if local in self.generic_mailboxes:
                return "generic mailbox"
        elif comm.type == PHONE:
            if len(_NON_DIGIT.sub("", comm.value)) < 5:
                return "too short to identify anyone"
            if comm.value in self.shared_numbers:
                return "shared number"
        return None


def communications(record: Mapping[str, Any], rules: EvidenceRules) -> dict[Communication, str]:
    """The record's normalised phones and e-mails, each with one raw value it came from."""
    found: dict[Communication, str] = {}
    for type_ in (PHONE, EMAIL):
        items = record.get(type_) or []
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, Mapping):
                continue
            raw = str(item.get("VALUE") or "")
            value = rules.normalise(type_, raw)
            if value:
                found.setdefault(Communication(type_, value), raw)
    return found


def evidence(
    record: Mapping[str, Any], rules: EvidenceRules
) -> tuple[dict[Communication, str], dict[Communication, str]]:
    """Split a record's values into (evidence, excluded with the reason)."""
    usable: dict[Communication, str] = {}
    excluded: dict[Communication, str] = {}
    for comm, raw in communications(record, rules).items():
        reason = rules.excluded_reason(comm)
        if reason is None:
            usable[comm] = raw
        else:
            excluded[comm] = reason
    return usable, excluded

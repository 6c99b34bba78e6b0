"""Bitrix24's phone matching, as findbycomm applies it to stored and queried values.

facts.md, from the on-premise ``duplicatecommunicationcriterion.php`` (the cloud may
differ): keep only digits, cut an extension after ``#`` or ``;``; for ten digits or
more, drop a leading ``00`` or ``011``, turn a leading ``8`` (but not ``80``, ``81``,
``82``) into ``7``, and drop a leading ``0``.
"""

from __future__ import annotations

import re

_EXTENSION = re.compile(r"[#;].*$", re.DOTALL)
_NON_DIGIT = re.compile(r"\D+")


def normalise_phone(value: str) -> str:
    """The comparison key of a phone number; empty when it holds no digits."""
    digits = _NON_DIGIT.sub("", _EXTENSION.sub("", value))
    if len(digits) >= 10:
        if digits.startswith("011"):
            digits = digits[3:]
        elif digits.startswith("00"):
            digits = digits[2:]
        elif digits.startswith("8") and digits[1:2] not in ("0", "1", "2"):
            digits = "7" + digits[1:]
        elif digits.startswith("0"):
            digits = digits[1:]
    return digits


def normalise_email(value: str) -> str:
    """Emails compare trimmed and case-insensitively (MySQL's default collation)."""
    return value.strip().lower()


def normalise_communication(type_id: str, value: str) -> str:
    return normalise_phone(value) if type_id == "PHONE" else normalise_email(value)

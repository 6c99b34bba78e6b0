"""Bitrix24's communication codes: what findbycomm and the merger compare.

``crm/lib/integrity/duplicatecommunicationcriterion.php`` and main's
``NormalizePhone`` (``main/tools.php:4940-4978``):

- a phone (``normalizePhone``, :295-311): a raw value of ten or more characters
  starting ``+8`` has its ``+`` made ``00``; only digits and ``# * , ;`` stay; a result of
  ten or more characters (separators count) loses, by the first rule that applies,
  nothing for ``80``/``81``/``82``, a leading ``00`` or ``011``, or a leading ``0``, and a
  leading ``8`` becomes ``7``; then each digit run followed by ``;``/``#`` and more digits
  or commas keeps only its digits (the extension goes). No minimum length.
- an e-mail (``prepareCodes``, :268-284): trimmed and lower-cased, nothing else.

The findbycomm index holds each record's codes (``prepareCodes`` of its raw values,
empty codes dropped, :249-285); a query value is looked up by its code, or as it is
when it has none (``prepareCode``, :286-290). The merger keys multifields by the code of
the trimmed value (``entitymerger.php:2515-2539``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PHONE, EMAIL = "PHONE", "EMAIL"
_NOT_PHONE_CHAR = re.compile(r"[^0-9#*,;]")
_EXTENSION = re.compile(r"([0-9]+)([;#]*)([0-9,]*)")
_TRIM = " \t\n\r\0\x0b"  # PHP trim()


def main_normalize_phone(number: str, min_length: int = 10) -> str | None:
    """main's ``NormalizePhone($number, $minLength)``; None stands for its ``false``."""
    if min_length <= 0 or len(number) < min_length:
        return None
    if len(number) >= 10 and number.startswith("+8"):
        number = "00" + number[1:]
    number = _NOT_PHONE_CHAR.sub("", number)
    if len(number) >= 10:
        if number.startswith(("80", "81", "82")):
            pass
        elif number.startswith("00"):
            number = number[2:]
        elif number.startswith("011"):
            number = number[3:]
        elif number.startswith("8"):
            number = "7" + number[1:]
        elif number.startswith("0"):
            number = number[1:]
    return number


def normalize_phone(value: str) -> str:
    """``DuplicateCommunicationCriterion::normalizePhone`` (called with minimum length 1)."""
    if value == "":
        return ""
    result = main_normalize_phone(value, 1)
    if not result:
        # Is not valid phone - just clear value
        result = _NOT_PHONE_CHAR.sub("", value)
    return _EXTENSION.sub(r"\1", result)


def email_code(value: str) -> str:
    return value.strip(_TRIM).lower()


def communication_codes(type_id: str, values: Iterable[object]) -> list[str]:
    """``prepareCodes``: the codes of raw values, without empty ones and repeats."""
    codes: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        code = normalize_phone(value) if type_id == PHONE else email_code(value)
        if code != "" and code not in codes:
            codes.append(code)
    return codes


def query_code(type_id: str, value: str) -> str:
    """``prepareCode``: the code of one searched value, or the value itself without one."""
    codes = communication_codes(type_id, [value])
    return codes[0] if codes else value


def same_query_value(type_id: str, left: str, right: str) -> bool:
    """``equals`` (:821-839): phones by code, e-mails as written (case-sensitive)."""
    if type_id == PHONE:
        return normalize_phone(left) == normalize_phone(right)
    return left == right


def multifield_key(type_id: str, value: str) -> str:
    """The merger's key of a multifield value (``entitymerger.php:2576-2584``)."""
    value = value.strip(_TRIM)
    if value == "":
        return ""
    return normalize_phone(value) if type_id == PHONE else value.lower()

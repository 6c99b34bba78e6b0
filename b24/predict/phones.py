"""``DuplicateCommunicationCriterion::normalizePhone``: the key phones are merged by.

Sources: ``modules/crm/lib/integrity/duplicatecommunicationcriterion.php:295-311`` and main's
``NormalizePhone`` (``modules/main/tools.php:4940-4978`` [M]); the merger calls it per entry,
``crm/lib/merger/entitymerger.php:2524-2526,2582-2584``.
"""

from __future__ import annotations

import re

# Only digits and "# * , ;" survive (tools.php:4953, duplicatecommunicationcriterion.php:306).
# PHP runs these patterns without /u, so \d is ASCII: spell it [0-9] for Python.
_NOT_PHONE_CHAR = re.compile(r"[^0-9#*,;]")
# duplicatecommunicationcriterion.php:309: a digit run followed by ";"/"#" and more digits or
# commas keeps only the digit run (the extension is cut).
_EXTENSION = re.compile(r"([0-9]+)([;#]*)([0-9,]*)")


def main_normalize_phone(number: str, min_length: int = 10) -> str | None:
    """``NormalizePhone($number, $minLength)`` (tools.php:4940-4978); None for PHP's false."""
    if min_length <= 0 or len(number) < min_length:  # :4942-4946
        return None
    if len(number) >= 10 and number.startswith("+8"):  # :4948-4951
        number = "00" + number[1:]
    number = _NOT_PHONE_CHAR.sub("", number)  # :4953
    if len(number) >= 10:  # :4954-4975, the first matching rule only
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


def normalize_phone(value: object) -> str:
    """The merge key of a phone value; '' for a value without digits (the merger skips it).

    duplicatecommunicationcriterion.php:297-310: minimum length 1; if main's NormalizePhone
    gives false or '' the raw value is stripped to ``[0-9#*,;]``; then extensions are cut.
    ``+7 (999) 123-45-67``, ``8 999 123 45 67`` and ``79991234567`` all give ``79991234567``.
    """
    if not isinstance(value, str) or value == "":
        return ""
    result = main_normalize_phone(value, 1)
    if result is None or result == "":
        result = _NOT_PHONE_CHAR.sub("", value)
    return _EXTENSION.sub(r"\1", result)

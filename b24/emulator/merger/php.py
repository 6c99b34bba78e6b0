"""PHP's own semantics, as the Bitrix24 merger relies on them (PHP 8).

The merger compares with ``==`` (loose), trims with ``trim``, casts with ``(int)`` and
``(float)``; the emulator's records hold what the database gives PHP: strings or null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# trim()'s default characters: space, tab, LF, CR, NUL, vertical tab.
TRIM_CHARS = " \t\n\r\0\x0b"
_WS = "[ \t\n\r\x0b\x0c]*"
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMERIC = re.compile(f"{_WS}{_NUMBER}{_WS}\\Z")
_INTEGER = re.compile(f"{_WS}[+-]?[0-9]+{_WS}\\Z")
_LEADING = re.compile(f"{_WS}({_NUMBER})")
_INT_MAX = 2**63 - 1


def trim(value: str, chars: str = TRIM_CHARS) -> str:
    return value.strip(chars)


def is_numeric(value: str) -> bool:
    """``is_numeric()`` of a string (PHP 8: surrounding whitespace allowed)."""
    return _NUMERIC.match(value) is not None


def _number(value: str) -> int | float:
    """A numeric string as PHP reads it: an int when it is one and fits, else a float."""
    if _INTEGER.match(value):
        number = int(value.strip(" \t\n\r\x0b\x0c"))
        if -_INT_MAX - 1 <= number <= _INT_MAX:
            return number
    return float(value.strip(" \t\n\r\x0b\x0c"))


def to_bool(value: Any) -> bool:
    """``(bool)``: "", "0", 0, 0.0, null and an empty array are false."""
    if value is None:
        return False
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, list | dict):
        return bool(value)
    return bool(value)


def loose_equals(left: Any, right: Any) -> bool:
    """``$left == $right`` in PHP 8 for null, bool, int, float, string and arrays."""
    if isinstance(left, bool) or isinstance(right, bool):
        return to_bool(left) == to_bool(right)
    if left is None and right is None:
        return True
    if left is None or right is None:
        other = right if left is None else left
        if isinstance(other, str):
            return other == ""
        if isinstance(other, list | dict):
            return not other
        return not to_bool(other)
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        if isinstance(left, list | dict) and isinstance(right, list | dict):
            return _arrays_equal(left, right)
        return False
    if isinstance(left, str) and isinstance(right, str):
        if is_numeric(left) and is_numeric(right):
            return _number(left) == _number(right)
        return left == right
    if isinstance(left, str) or isinstance(right, str):
        text, number = (left, right) if isinstance(left, str) else (right, left)
        if is_numeric(text):
            return bool(_number(text) == number)
        return bool(text == _php_number_string(number))
    return bool(left == right)


def _php_number_string(number: Any) -> str:
    if isinstance(number, float):
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(number)
    return str(number)


def _arrays_equal(left: Any, right: Any) -> bool:
    a = dict(left) if isinstance(left, Mapping) else {str(i): v for i, v in enumerate(left)}
    b = dict(right) if isinstance(right, Mapping) else {str(i): v for i, v in enumerate(right)}
    a = {str(k): v for k, v in a.items()}
    b = {str(k): v for k, v in b.items()}
    return a.keys() == b.keys() and all(loose_equals(a[k], b[k]) for k in a)


def intval(value: Any) -> int:
    """``(int)$value``: a leading number ("12abc" is 12, "1e3" is 1000), else 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 2**63 else 0
    if isinstance(value, list | dict):
        return 1 if value else 0
    match = _LEADING.match(str(value))
    if match is None:
        return 0
    text = match.group(1)
    if re.fullmatch(r"[+-]?[0-9]+", text):
        number = int(text)
        return max(-_INT_MAX - 1, min(_INT_MAX, number))
    return intval(float(text))


def floatval(value: Any) -> float:
    """``(float)$value``: a leading number, else 0.0."""
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, list | dict):
        return 1.0 if value else 0.0
    match = _LEADING.match(str(value))
    return float(match.group(1)) if match else 0.0


def to_string(value: Any) -> str:
    """``(string)$value`` of what a record holds."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return _php_number_string(value)
    if isinstance(value, list | dict):
        return "Array"
    return str(value)


def lower(value: str) -> str:
    """``mb_strtolower``."""
    return value.lower()


def stripos(haystack: str, needle: str) -> bool:
    """``mb_stripos($haystack, $needle) !== false``."""
    return needle.lower() in haystack.lower()

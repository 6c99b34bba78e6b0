"""The few PHP behaviours the Bitrix24 merger relies on, reproduced for PHP 8.

The merger compares with PHP's loose ``==`` (``conflictresolver/base.php:100-103``), casts with
``(string)``/``(int)``/``(float)`` (``stringfield.php:55-63``, ``entitymerger.php:1468-1479``),
trims with ``trim`` and lower-cases with ``mb_strtolower``. Python's own ``==``, ``strip`` and
``int`` differ from these in ways that change a verdict ("01" == "1" is true in PHP), so every
comparison in :mod:`b24.predict` goes through here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

# PHP trim()'s default character list: space, tab, LF, CR, NUL, vertical tab.
PHP_TRIM_CHARS = " \t\n\r\0\x0b"

# A PHP 8 numeric string: optional leading whitespace, sign, digits with an optional fraction
# (or a bare fraction), optional exponent, optional trailing whitespace (PHP >= 8.0).
_NUMERIC = re.compile(
    r"[ \t\n\r\x0b\x0c]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\x0b\x0c]*"
)
# The leading numeric prefix PHP's (int)/(float) casts read ("12abc" -> 12).
_NUMERIC_PREFIX = re.compile(
    r"[ \t\n\r\x0b\x0c]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)
_INT_FORM = re.compile(r"[ \t\n\r\x0b\x0c]*[+-]?[0-9]+[ \t\n\r\x0b\x0c]*")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def php_trim(value: str, chars: str = PHP_TRIM_CHARS) -> str:
    """``trim($value)`` (or ``trim($value, $chars)``)."""
    return value.strip(chars)


def php_rtrim(value: str, chars: str = PHP_TRIM_CHARS) -> str:
    """``rtrim($value, $chars)``."""
    return value.rstrip(chars)


def mb_lower(value: str) -> str:
    """``mb_strtolower``: PHP >= 7.3 uses full Unicode case mapping, as ``str.lower`` does."""
    return value.lower()


def mb_stripos_found(haystack: str, needle: str) -> bool:
    """``mb_stripos($haystack, $needle) !== false`` (PHP 8: an empty needle is found)."""
    return mb_lower(needle) in mb_lower(haystack)


def php_float_string(value: float) -> str:
    """``(string)$float`` in PHP 8 (shortest round-trip form, ``1.0`` -> ``"1"``)."""
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}E{sign}{exponent.lstrip('+-')}"
    return text


def php_string(value: Any) -> str:
    """``(string)$value``: null and false -> '', true -> '1', arrays -> 'Array'."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return php_float_string(value)
    if isinstance(value, Mapping | list | tuple):
        return "Array"
    return str(value)


def php_truthy(value: Any) -> bool:
    """PHP's boolean conversion: '', '0', 0, 0.0, [], null and false are false."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, Mapping | list | tuple):
        return len(value) > 0
    return True


def numeric_value(value: str) -> int | float | None:
    """The number a PHP 8 numeric string stands for, or None if it is not numeric."""
    if not _NUMERIC.fullmatch(value):
        return None
    if _INT_FORM.fullmatch(value):
        number = int(value.strip(" \t\n\r\x0b\x0c"))
        if _INT64_MIN <= number <= _INT64_MAX:
            return number
    return float(value.strip(" \t\n\r\x0b\x0c"))


def php_intval(value: Any) -> int:
    """``(int)$value``: the leading number of a string, 0 if none."""
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return 0 if math.isnan(value) or math.isinf(value) else int(value)
    if isinstance(value, str):
        match = _NUMERIC_PREFIX.match(value)
        if not match:
            return 0
        number = float(match.group()) if re.search(r"[.eE]", match.group()) else None
        if number is None:
            return max(_INT64_MIN, min(_INT64_MAX, int(match.group())))
        return 0 if math.isinf(number) else int(number)
    if isinstance(value, Mapping | list | tuple):
        return 1 if value else 0
    return 0


def php_floatval(value: Any) -> float:
    """``(float)$value``: the leading number of a string, 0.0 if none."""
    if isinstance(value, str):
        match = _NUMERIC_PREFIX.match(value)
        return float(match.group()) if match else 0.0
    if isinstance(value, float):
        return value
    return float(php_intval(value))


def _numbers_equal(a: int | float, b: int | float) -> bool:
    return a == b


def _strings_equal(a: str, b: str) -> bool:
    """``"a" == "b"`` in PHP 8: numeric strings compare as numbers, others byte for byte."""
    if a == b:
        return True
    num_a = numeric_value(a)
    num_b = numeric_value(b)
    if num_a is None or num_b is None:
        return False
    # PHP (zendi_smart_str_equals): two integer strings that both overflow and are equal
    # as floats are compared as strings after all.
    if (
        isinstance(num_a, float)
        and isinstance(num_b, float)
        and num_a == num_b
        and _INT_FORM.fullmatch(a)
        and _INT_FORM.fullmatch(b)
    ):
        return a == b
    return _numbers_equal(num_a, num_b)


def _as_php_array(value: Mapping[Any, Any] | Sequence[Any]) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {php_string(key): item for key, item in value.items()}
    return {str(index): item for index, item in enumerate(value)}


def loose_eq(a: Any, b: Any) -> bool:
    """PHP 8 ``$a == $b`` for the values a REST record can hold."""
    if a is None and b is None:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return php_truthy(a) == php_truthy(b)
    if a is None or b is None:
        other = b if a is None else a
        if isinstance(other, str):
            return other == ""
        return not php_truthy(other)
    a_array = isinstance(a, Mapping | list | tuple)
    b_array = isinstance(b, Mapping | list | tuple)
    if a_array or b_array:
        if not (a_array and b_array):
            return False
        left = _as_php_array(a)
        right = _as_php_array(b)
        return left.keys() == right.keys() and all(loose_eq(left[k], right[k]) for k in left)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return _numbers_equal(a, b)
    if isinstance(a, int | float) or isinstance(b, int | float):
        number, text = (a, b) if isinstance(a, int | float) else (b, a)
        text = php_string(text)
        parsed = numeric_value(text)
        if parsed is not None:
            return _numbers_equal(number, parsed)
        return php_string(number) == text
    return _strings_equal(php_string(a), php_string(b))

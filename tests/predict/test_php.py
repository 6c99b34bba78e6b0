"""PHP 8 semantics the merger relies on (base.php:100-103 loose ==, casts, trim)."""

from __future__ import annotations

from typing import Any

import pytest

from b24.predict.php import loose_eq, php_floatval, php_intval, php_string, php_trim

# fmt: off
LOOSE = [
    ("01", "1", True),          # numeric strings compare as numbers
    ("1e1", "10", True),
    ("1.0", "1", True),
    (" 1", "1", True),          # leading whitespace allowed
    ("1 ", "1", True),          # trailing whitespace allowed (PHP 8)
    ("abc", "ABC", False),
    ("1a", "1", False),         # not numeric: string comparison
    ("", None, True),
    ("0", None, False),         # null -> "" for a string
    (0, None, True),
    ("0", False, True),         # bool comparison: "0" is false
    ("a", True, True),
    (0, "a", False),            # PHP 8: 0 == "a" is false
    (5, "5.0", True),
    ([], None, True),
    (["1"], [1], True),         # arrays: same keys, loosely equal values
    (["1"], ["1", "2"], False),
    ("9223372036854775808", "9223372036854775809", False),  # overflow: compared as strings
]
# fmt: on


@pytest.mark.parametrize(("a", "b", "equal"), LOOSE)
def test_loose_eq(a: Any, b: Any, equal: bool) -> None:
    assert loose_eq(a, b) is equal
    assert loose_eq(b, a) is equal


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (False, ""), (True, "1"), (12, "12"), (1.0, "1"), (1.5, "1.5"), (["x"], "Array")],
)
def test_php_string(value: Any, text: str) -> None:
    assert php_string(value) == text


@pytest.mark.parametrize(
    ("value", "number"),
    [("12abc", 12), ("abc", 0), (" 7", 7), ("1e3", 1000), ("", 0), (None, 0), ("0.9", 0)],
)
def test_php_intval(value: Any, number: int) -> None:
    assert php_intval(value) == number


def test_php_floatval_and_trim() -> None:
    assert php_floatval("100.50 RUB") == 100.5
    assert php_floatval("x") == 0.0
    # trim(): space, tab, LF, CR, NUL, VT — not a no-break space
    assert php_trim(" \t\n\r\0\x0bA\u00a0") == "A\u00a0"

"""normalizePhone (sheet 4; duplicatecommunicationcriterion.php:295-311, tools.php:4940-4978)."""

from __future__ import annotations

import pytest

from b24.predict import normalize_phone

# fmt: off
CASES = [
    ("+7 (999) 123-45-67", "79991234567"),     # tools.php:4953 digits kept
    ("8 999 123 45 67", "79991234567"),        # tools.php:4967-4970 leading 8 -> 7
    ("79991234567", "79991234567"),
    ("9991234567", "9991234567"),              # 10 digits, no rule applies
    ("+8 10 44 20 7946 0958", "810442079460958"),  # tools.php:4948-4951 "+" -> "00", then 00 cut
    ("+81 3 1234 5678", "81312345678"),        # "+8" rule, then "00" rule
    ("810 44 20 7946 0958", "810442079460958"),  # tools.php:4956-4958 80/81/82 unchanged
    ("00 44 20 7946 0958", "442079460958"),    # tools.php:4959-4962 00 dropped
    ("011 44 20 7946 0958", "442079460958"),   # tools.php:4963-4966 011 dropped
    ("0 495 123 45 67", "4951234567"),         # tools.php:4971-4974 leading 0 dropped
    ("8 123", "8123"),                         # fewer than 10 chars: no rule (:4954)
    ("123", "123"),                            # minimum length 1 (criterion :302)
    ("79991234567;123", "79991234567"),        # criterion :309 extension after ";"
    ("7999#12", "7999"),                       # criterion :309 extension after "#"
    ("12,34", "12"),                           # criterion :309 digits/commas after a run
    ("*100#", "*100"),                         # "*" kept, "#" cut
    ("+7 999 123 45 67 ext. 12", "7999123456712"),  # "ext." is no separator
    ("abc", ""),                               # criterion :303-307 nothing left
    ("", ""),                                  # criterion :297-300
]
# fmt: on


@pytest.mark.parametrize(("raw", "key"), CASES)
def test_normalize_phone(raw: str, key: str) -> None:
    assert normalize_phone(raw) == key


def test_non_string_is_empty() -> None:
    # duplicatecommunicationcriterion.php:297
    assert normalize_phone(79991234567) == ""

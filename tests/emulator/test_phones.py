"""Bitrix24's phone matching rules (facts.md, from duplicatecommunicationcriterion.php)."""

from __future__ import annotations

import pytest

from b24.emulator.phones import normalise_email, normalise_phone


@pytest.mark.parametrize(
    "value",
    [
        "+7 (999) 123-45-67",
        "79991234567",
        "89991234567",
        "8 999 123 45 67",
        "+7 999 123-45-67 #12",
        "79991234567;301",
    ],
)
def test_russian_formats_match(value: str) -> None:
    assert normalise_phone(value) == "79991234567"


def test_bare_ten_digits_do_not_gain_a_country_code() -> None:
    assert normalise_phone("9991234567") == "9991234567"
    assert normalise_phone("9991234567") != normalise_phone("79991234567")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0049 30 1234567", "49301234567"),
        ("011 44 20 7946 0958", "442079460958"),
        ("030 1234 5678", "3012345678"),
        ("8 800 555 35 35", "78005553535"),  # 8 then 8: a trunk prefix
        ("810 44 20 7946 0958", "810442079460958"),  # 81: the dial-out prefix keeps its 8
        ("8 20 1234 5678", "82012345678"),  # 82 keeps its 8
        ("1234567", "1234567"),  # under ten digits: untouched
    ],
)
def test_prefix_rules(value: str, expected: str) -> None:
    assert normalise_phone(value) == expected


def test_no_digits_is_empty() -> None:
    assert normalise_phone("call me") == ""


def test_email_trimmed_and_case_insensitive() -> None:
    assert normalise_email("  Ivan@Example.COM ") == "ivan@example.com"

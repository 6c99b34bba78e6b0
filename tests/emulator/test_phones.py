"""Bitrix24's communication codes, as findbycomm and the merger compute them.

``normalizePhone`` (duplicatecommunicationcriterion.php:295-311) over main's
``NormalizePhone`` (main/tools.php:4940-4978); e-mails (:268-284).
"""

from __future__ import annotations

import pytest

from b24.emulator.phones import (
    EMAIL,
    PHONE,
    communication_codes,
    email_code,
    multifield_key,
    normalize_phone,
    query_code,
    same_query_value,
)


@pytest.mark.parametrize(
    "value",
    [
        "+7 (999) 123-45-67",
        "79991234567",
        "89991234567",  # tools.php:4967-4970: a leading 8 becomes 7
        "8 999 123 45 67",
        "+7 999 123-45-67 #12",  # :309 the extension after # goes
        "79991234567;301",  # :309 ... and after ;
        "79991234567,,12",  # :309 commas after the digits go with it
    ],
)
def test_russian_formats_match(value: str) -> None:
    assert normalize_phone(value) == "79991234567"


def test_bare_ten_digits_do_not_gain_a_country_code() -> None:
    assert normalize_phone("9991234567") == "9991234567"
    assert normalize_phone("9991234567") != normalize_phone("79991234567")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0049 30 1234567", "49301234567"),  # tools.php:4959-4962 00
        ("011 44 20 7946 0958", "442079460958"),  # :4963-4966 011
        ("030 1234 5678", "3012345678"),  # :4971-4974 a leading 0
        ("8 800 555 35 35", "78005553535"),  # 8 then 8: a trunk prefix
        ("810 44 20 7946 0958", "810442079460958"),  # :4956 80/81/82 unchanged
        ("8 20 1234 5678", "82012345678"),
        ("1234567", "1234567"),  # under ten characters: no rule
        ("12", "12"),  # :302 called with minimum length 1: no minimum
        # :4948-4951 "+8" with ten or more characters: the + becomes 00, then 00 goes
        ("+8 (999) 123-45-67", "89991234567"),
        ("+8 999", "8999"),  # under ten characters: the + only goes
        # :4954 separators count towards the ten: 9 digits and "#1" make 11, so the 0 goes
        ("012345678#1", "12345678"),
        ("1*2#3", "1*2"),  # * and # stay until the extension cut
        ("#", "#"),  # no digits: what is left of # * , ; stays
    ],
)
def test_prefix_rules(value: str, expected: str) -> None:
    assert normalize_phone(value) == expected


def test_no_digits_is_empty() -> None:
    assert normalize_phone("call me") == ""
    assert normalize_phone("") == ""


def test_email_trimmed_and_lower_cased_only() -> None:
    assert email_code("  Ivan.Petrov+crm@Example.COM ") == "ivan.petrov+crm@example.com"


def test_codes_of_a_record_drop_empty_ones_and_repeats() -> None:
    # prepareCodes (:249-285): normalised, empty codes dropped, array_unique
    assert communication_codes(PHONE, ["+7 999 123-45-67", "89991234567", "none", 5]) == [
        "79991234567"
    ]
    assert communication_codes(EMAIL, [" A@x.io", "a@x.io ", "  "]) == ["a@x.io"]


def test_a_value_without_a_code_is_searched_as_written() -> None:
    # prepareCode (:286-290)
    assert query_code(PHONE, "call me") == "call me"
    assert query_code(EMAIL, "   ") == "   "
    assert query_code(PHONE, "8 999 123 45 67") == "79991234567"


def test_repeated_query_values() -> None:
    # equals (:821-839): phones by code, e-mails as written (case-sensitive)
    assert same_query_value(PHONE, "+7 999 123 45 67", "89991234567")
    assert not same_query_value(EMAIL, "A@x.ru", "a@x.ru")
    assert same_query_value(EMAIL, "a@x.ru", "a@x.ru")


def test_multifield_keys_are_of_the_trimmed_value() -> None:
    # entitymerger.php:2576-2584
    assert multifield_key(PHONE, " +8 (999) 123-45-67") == "89991234567"
    assert multifield_key(EMAIL, " A@X.io ") == "a@x.io"
    assert multifield_key("WEB", "  ") == ""

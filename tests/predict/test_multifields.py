"""Multifields PHONE, EMAIL, WEB, IM: union by normalised key (sheet 2.8,
entitymerger.php:2475-2603).

Each case: (name, records, expected (VALUE, VALUE_TYPE) pairs per type); contacts; the
first record is the survivor; the comment gives the source line.
"""

from __future__ import annotations

from typing import Any

import pytest

from b24.crm import MergeStatus
from tests.predict import COMPANY, CONTACT, phone, predict, rec


def entry(type_id: str, value: str, value_type: str = "WORK") -> dict[str, Any]:
    return {"ID": "0", "VALUE_TYPE": value_type, "VALUE": value, "TYPE_ID": type_id}


Case = tuple[str, list[dict[str, Any]], dict[str, list[tuple[str, str]]]]

# fmt: off
CASES: list[Case] = [
    # entitymerger.php:2524-2526,2586 — the same number in other spellings: one entry
    ("phone_spellings",
     [rec(1, PHONE=[phone("+7 (999) 123-45-67")]),
      rec(2, PHONE=[phone("8 999 123 45 67", "MOBILE"), phone("79991234567", "HOME")])],
     {"PHONE": [("+7 (999) 123-45-67", "WORK")]}),
    # entitymerger.php:2586-2598 — a new number appended with the seed's raw VALUE/VALUE_TYPE
    ("phone_new_appended",
     [rec(1, PHONE=[phone("+7 999 123-45-67")]),
      rec(2, PHONE=[phone(" +7 (912) 000-00-01 ", "MOBILE")])],
     {"PHONE": [("+7 999 123-45-67", "WORK"), (" +7 (912) 000-00-01 ", "MOBILE")]}),
    # duplicatecommunicationcriterion.php:309 — an extension is cut from the key
    ("phone_extension",
     [rec(1, PHONE=[phone("+79991234567")]), rec(2, PHONE=[phone("+7 999 123-45-67#123")])],
     {"PHONE": [("+79991234567", "WORK")]}),
    # tools.php:4954-4975 — 9991234567 keeps its 9 and is another number than 79991234567
    ("phone_ten_digits_differ",
     [rec(1, PHONE=[phone("79991234567")]), rec(2, PHONE=[phone("9991234567")])],
     {"PHONE": [("79991234567", "WORK"), ("9991234567", "WORK")]}),
    # entitymerger.php:2573-2599 — quirk: two same-key entries within one seed both come
    ("phone_within_one_seed",
     [rec(1), rec(2, PHONE=[phone("+79991234567"), phone("8 999 123-45-67", "MOBILE")])],
     {"PHONE": [("+79991234567", "WORK"), ("8 999 123-45-67", "MOBILE")]}),
    # entitymerger.php:1591-1595,2494-2540 — across seeds the key is known: one entry
    ("phone_across_seeds",
     [rec(1), rec(2, PHONE=[phone("+79991234567")]), rec(3, PHONE=[phone("89991234567")])],
     {"PHONE": [("+79991234567", "WORK")]}),
    # entitymerger.php:2582-2586 — a value without digits has an empty key and is skipped
    ("phone_without_digits",
     [rec(1, PHONE=[phone("+79991234567")]), rec(2, PHONE=[phone("n/a")])],
     {"PHONE": [("+79991234567", "WORK")]}),
    # entitymerger.php:2576-2580 — an empty value is skipped
    ("phone_empty_value", [rec(1), rec(2, PHONE=[phone("  ")])], {}),
    # entitymerger.php:2524-2526 — e-mail: trim + mb_strtolower
    ("email_case_blank",
     [rec(1, EMAIL=[entry("EMAIL", "Ann@Example.ru")]),
      rec(2, EMAIL=[entry("EMAIL", " ann@EXAMPLE.RU ", "HOME"), entry("EMAIL", "b@x.ru")])],
     {"EMAIL": [("Ann@Example.ru", "WORK"), ("b@x.ru", "WORK")]}),
    # sheet 4 — dots and +tags are kept, so these are two addresses
    ("email_plus_tag",
     [rec(1, EMAIL=[entry("EMAIL", "ann@x.ru")]), rec(2, EMAIL=[entry("EMAIL", "ann+1@x.ru")])],
     {"EMAIL": [("ann@x.ru", "WORK"), ("ann+1@x.ru", "WORK")]}),
    # entitymerger.php:2524-2526 — WEB and IM: trim + lower case
    ("web_and_im",
     [rec(1, WEB=[entry("WEB", "Example.com")], IM=[entry("IM", "ann", "TELEGRAM")]),
      rec(2, WEB=[entry("WEB", "example.COM ")], IM=[entry("IM", "ANN", "SKYPE")])],
     {"WEB": [("Example.com", "WORK")], "IM": [("ann", "TELEGRAM")]}),
]
# fmt: on


@pytest.mark.parametrize(
    ("records", "expected"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_multifield_union(
    records: list[dict[str, Any]], expected: dict[str, list[tuple[str, str]]]
) -> None:
    verdict = predict(CONTACT, records)
    assert verdict.status == MergeStatus.SUCCESS, verdict
    for type_id in ("PHONE", "EMAIL", "WEB", "IM"):
        got = [(e["VALUE"], e["VALUE_TYPE"]) for e in verdict.merged.get(type_id, [])]
        assert got == expected.get(type_id, []), (type_id, got)


def test_target_entries_untouched() -> None:
    # entitymerger.php:2494-2540: the target's own entries stay as they are
    own = phone("+7 999 123-45-67", "WORK", 55)
    verdict = predict(COMPANY, [rec(1, PHONE=[own]), rec(2, PHONE=[phone("+7 912 000 00 01")])])
    assert verdict.merged["PHONE"][0] == own
    assert verdict.merged["PHONE"][1] == {"VALUE": "+7 912 000 00 01", "VALUE_TYPE": "WORK"}

"""User fields UF_CRM_* (sheet 2.7, entitymerger.php:2066-2440).

Each case: (name, records, status, expected merged fields); contacts; the first record is
the survivor; the comment gives the source line.
"""

from __future__ import annotations

from typing import Any

import pytest

from b24.crm import MergeStatus
from tests.predict import CONTACT, LEAD, check, predict, rec

Case = tuple[str, list[dict[str, Any]], str, dict[str, Any]]
F1 = {"id": 11, "showUrl": "/f/11", "downloadUrl": "/d/11"}
F2 = {"id": 12, "showUrl": "/f/12", "downloadUrl": "/d/12"}
F3 = {"id": 13, "showUrl": "/f/13", "downloadUrl": "/d/13"}

# fmt: off
CASES: list[Case] = [
    # entitymerger.php:2136-2159 — single string UF: StringField steps (case)
    ("single_string_case", [rec(1, UF_CRM_STR="Gold"), rec(2, UF_CRM_STR="gold")],
     MergeStatus.SUCCESS, {"UF_CRM_STR": "Gold"}),
    # entitymerger.php:2136-2159 — single string UF: different values conflict
    ("single_string_differs", [rec(1, UF_CRM_STR="Gold"), rec(2, UF_CRM_STR="Silver")],
     MergeStatus.CONFLICT, {"UF_CRM_STR": "Gold"}),
    # entitymerger.php:2141, base.php:100-103 — integer UF: "5" == "05"
    ("single_integer_loose", [rec(1, UF_CRM_INT="5"), rec(2, UF_CRM_INT="05")],
     MergeStatus.SUCCESS, {"UF_CRM_INT": "5"}),
    # entitymerger.php:2141 — integer UF: different values conflict
    ("single_integer_differs", [rec(1, UF_CRM_INT="5"), rec(2, UF_CRM_INT="6")],
     MergeStatus.CONFLICT, {}),
    # sheet 2.7 (inference) — boolean 0 is a value: 0 vs 1 conflicts
    ("single_boolean_0_1", [rec(1, UF_CRM_BOOL="0"), rec(2, UF_CRM_BOOL="1")],
     MergeStatus.CONFLICT, {"UF_CRM_BOOL": "0"}),
    # entitymerger.php:2141 — enumeration item ids compared
    ("single_enum_differs", [rec(1, UF_CRM_ENUM="44"), rec(2, UF_CRM_ENUM="45")],
     MergeStatus.CONFLICT, {}),
    # sheet 2.7 (inference) — two file ids conflict
    ("single_file_differs", [rec(1, UF_CRM_FILE=F1), rec(2, UF_CRM_FILE=F2)],
     MergeStatus.CONFLICT, {"UF_CRM_FILE": F1}),
    # entitymerger.php:2262-2270 — an unset single file takes the seed's
    ("single_file_copied", [rec(1, UF_CRM_FILE=None), rec(2, UF_CRM_FILE=F2)],
     MergeStatus.SUCCESS, {"UF_CRM_FILE": F2}),
    # entitymerger.php:2433-2436 — target unset, one seed: copied without comparison
    ("single_copied", [rec(1, UF_CRM_STR=None), rec(2, UF_CRM_STR="Gold")],
     MergeStatus.SUCCESS, {"UF_CRM_STR": "Gold"}),
    # REST false stands for a stored NULL (predictor choice)
    ("single_false_unset", [rec(1, UF_CRM_INT=False), rec(2, UF_CRM_INT="3")],
     MergeStatus.SUCCESS, {"UF_CRM_INT": "3"}),
    # entitymerger.php:2136-2139 — target unset, two different seeds: compared
    ("single_two_seeds_differ",
     [rec(1), rec(2, UF_CRM_INT="3"), rec(3, UF_CRM_INT="4")], MergeStatus.CONFLICT, {}),
    # entitymerger.php:2136-2139,2433-2436 — target unset, two equal seeds: the first
    ("single_two_seeds_equal",
     [rec(1), rec(2, UF_CRM_STR="gold"), rec(3, UF_CRM_STR="gold")],
     MergeStatus.SUCCESS, {"UF_CRM_STR": "gold"}),
    # entitymerger.php:2174-2188,2410-2432 — multiple: target values, then the new ones
    ("multiple_union",
     [rec(1, UF_CRM_TAGS=["a", "b"]), rec(2, UF_CRM_TAGS=["b", "c"]),
      rec(3, UF_CRM_TAGS=["c", "d"])],
     MergeStatus.SUCCESS, {"UF_CRM_TAGS": ["a", "b", "c", "d"]}),
    # entitymerger.php:2423-2426 — an unset multiple field takes the seeds' values
    ("multiple_target_unset", [rec(1, UF_CRM_TAGS=[]), rec(2, UF_CRM_TAGS=["x", "y"])],
     MergeStatus.SUCCESS, {"UF_CRM_TAGS": ["x", "y"]}),
    # entitymerger.php:2185 — array_diff keeps a seed's own repeats
    ("multiple_seed_repeats", [rec(1, UF_CRM_TAGS=["a"]), rec(2, UF_CRM_TAGS=["x", "x"])],
     MergeStatus.SUCCESS, {"UF_CRM_TAGS": ["a", "x", "x"]}),
    # entitymerger.php:2418-2421 — string comparison: "1" and 1 are the same value
    ("multiple_string_compare", [rec(1, UF_CRM_TAGS=["1"]), rec(2, UF_CRM_TAGS=[1, "2"])],
     MergeStatus.SUCCESS, {"UF_CRM_TAGS": ["1", "2"]}),
    # entitymerger.php:2272-2349 — multiple files by id
    ("multiple_files",
     [rec(1, UF_CRM_FILES=[F1]), rec(2, UF_CRM_FILES=[dict(F1, showUrl="/x"), F2]),
      rec(3, UF_CRM_FILES=[F2, F3])],
     MergeStatus.SUCCESS, {"UF_CRM_FILES": [F1, F2, F3]}),
    # entitymerger.php:2174-2188 — multiple fields never conflict
    ("multiple_never_conflict", [rec(1, UF_CRM_TAGS=["a"]), rec(2, UF_CRM_TAGS=["b"])],
     MergeStatus.SUCCESS, {"UF_CRM_TAGS": ["a", "b"]}),
]
# fmt: on


@pytest.mark.parametrize(
    ("records", "status", "merged"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_user_field_rules(
    records: list[dict[str, Any]], status: str, merged: dict[str, Any]
) -> None:
    check(predict(CONTACT, records), status, merged)


def test_user_field_conflict_kind() -> None:
    # entitymerger.php:2151-2159
    verdict = predict(LEAD, [rec(1, UF_CRM_STR="Gold"), rec(2, UF_CRM_STR="Silver")])
    assert [(c.code, c.kind, c.values) for c in verdict.conflicts] == [
        ("UF_CRM_STR", "user_field", {1: "Gold", 2: "Silver"})
    ]

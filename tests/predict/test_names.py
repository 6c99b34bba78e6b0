"""NameField: NAME, SECOND_NAME, LAST_NAME of contacts and leads (sheet 2.4).

Each case: (name, entity, records, status, expected merged fields, options), the source
line in the comment. The first record is the survivor.
"""

from __future__ import annotations

from typing import Any

import pytest

from b24.crm import MergeStatus
from tests.predict import CONTACT, LEAD, check, predict, rec

Case = tuple[str, Any, list[dict[str, Any]], str, dict[str, Any], dict[str, Any]]

# fmt: off
CASES: list[Case] = [
    # stringfield.php:119-148 — case only; an all-lower-case target takes the clean seed
    ("name_case_lower_target", CONTACT, [rec(1, NAME="ivan"), rec(2, NAME="Ivan")],
     MergeStatus.SUCCESS, {"NAME": "Ivan"}, {}),
    # stringfield.php:124-133 — a target not all lower-case keeps its spelling
    ("name_case_keeps_target", CONTACT, [rec(1, NAME="IVAN"), rec(2, NAME="Ivan")],
     MergeStatus.SUCCESS, {"NAME": "IVAN"}, {}),
    # stringfield.php:99-117,150-153 — repeated spaces; the clean seed's form is taken
    ("name_repeated_spaces", CONTACT, [rec(1, NAME="Anna  Maria"), rec(2, NAME="Anna Maria")],
     MergeStatus.SUCCESS, {"NAME": "Anna Maria"}, {}),
    # stringfield.php:76-83 — trailing dots
    ("name_trailing_dots", CONTACT, [rec(1, NAME="Ivan."), rec(2, NAME="Ivan")],
     MergeStatus.SUCCESS, {"NAME": "Ivan"}, {}),
    # stringfield.php:65-74 — surrounding blanks; the seed is not clean, target kept
    ("name_trim_target_kept", CONTACT, [rec(1, NAME="Ivan"), rec(2, NAME=" ivan. ")],
     MergeStatus.SUCCESS, {"NAME": "Ivan"}, {}),
    # stringfield.php:16-48 — the steps add up: blanks, dots, spaces and case at once
    ("last_name_cumulative", CONTACT,
     [rec(1, LAST_NAME="  Petrova-Vodkina. "), rec(2, LAST_NAME="petrova-vodkina")],
     MergeStatus.SUCCESS, {"LAST_NAME": "  Petrova-Vodkina. "}, {}),
    # namefield.php:114-127 — substring: the shorter target takes the longer original
    ("ann_joanna", CONTACT, [rec(1, NAME="Ann"), rec(2, NAME="Joanna")],
     MergeStatus.SUCCESS, {"NAME": "Joanna"}, {}),
    # namefield.php:116-119 — seed inside the target: the target stays
    ("joanna_ann", CONTACT, [rec(1, NAME="Joanna"), rec(2, NAME="Ann")],
     MergeStatus.SUCCESS, {"NAME": "Joanna"}, {}),
    # namefield.php:114-127 — the substring rule holds for LAST_NAME too
    ("last_name_substring", LEAD, [rec(1, LAST_NAME="Petrov"), rec(2, LAST_NAME="Petrova")],
     MergeStatus.SUCCESS, {"LAST_NAME": "Petrova"}, {}),
    # namefield.php:172-229 — the full swap with all four fields filled is not resolved
    ("full_swap", CONTACT,
     [rec(1, NAME="Ivan", LAST_NAME="Petrov"), rec(2, NAME="Petrov", LAST_NAME="Ivan")],
     MergeStatus.CONFLICT, {"NAME": "Ivan", "LAST_NAME": "Petrov"}, {}),
    # namefield.php:211-219 — packed full name in the target: it takes NAME and LAST_NAME
    ("packed_target", CONTACT,
     [rec(1, NAME="Ivan Petrov", LAST_NAME=""), rec(2, NAME="Ivan", LAST_NAME="Petrov")],
     MergeStatus.SUCCESS, {"NAME": "Ivan", "LAST_NAME": "Petrov"}, {}),
    # namefield.php:211-219 — the "last first" order packs too
    ("packed_target_reversed", LEAD,
     [rec(1, NAME="Petrov Ivan"), rec(2, NAME="Ivan", LAST_NAME="Petrov")],
     MergeStatus.SUCCESS, {"NAME": "Ivan", "LAST_NAME": "Petrov"}, {}),
    # namefield.php:197-203 — packed full name in the seed: the target stays
    ("packed_seed", CONTACT,
     [rec(1, NAME="Ivan", LAST_NAME="Petrov"), rec(2, NAME="petrov ivan", LAST_NAME="")],
     MergeStatus.SUCCESS, {"NAME": "Ivan", "LAST_NAME": "Petrov"}, {}),
    # namefield.php:204-210 never runs here: an empty seed NAME is not compared at all
    # (entitymerger.php:1282-1285), and LAST_NAME's substring rule (namefield.php:120-124)
    # gives the target the seed's longer "Ivan Petrov"
    ("packed_seed_last_name", CONTACT,
     [rec(1, NAME="Ivan", LAST_NAME="Petrov"), rec(2, NAME="", LAST_NAME="Ivan Petrov")],
     MergeStatus.SUCCESS, {"NAME": "Ivan", "LAST_NAME": "Ivan Petrov"}, {}),
    # namefield.php:182-187 — misplaced part: the target's NAME is the seed's LAST_NAME
    ("misplaced_target", CONTACT,
     [rec(1, NAME="Petrov"), rec(2, NAME="Ivan", LAST_NAME="Petrov")],
     MergeStatus.SUCCESS, {"NAME": "Ivan", "LAST_NAME": "Petrov"}, {}),
    # namefield.php:173-176 — misplaced part: the seed's NAME is the target's LAST_NAME
    ("misplaced_seed", CONTACT,
     [rec(1, NAME="Ivan", LAST_NAME="Petrov"), rec(2, NAME="Petrov")],
     MergeStatus.SUCCESS, {"NAME": "Ivan", "LAST_NAME": "Petrov"}, {}),
    # namefield.php:231-239,253-285 — extra spaces in LAST_NAME fixed through NAME
    ("spaces_in_all_fields", CONTACT,
     [rec(1, NAME="Ivan", LAST_NAME="Petrov  Jr"), rec(2, NAME="Ivan", LAST_NAME="Petrov Jr")],
     MergeStatus.SUCCESS, {"NAME": "Ivan", "LAST_NAME": "Petrov Jr"}, {}),
    # namefield.php:129-157 — ru: "Сергей" transliterates to "sergey"; the Latin target
    # takes the Cyrillic seed
    ("translit_ru_latin_target", CONTACT, [rec(1, NAME="Sergey"), rec(2, NAME="Сергей")],
     MergeStatus.SUCCESS, {"NAME": "Сергей"}, {"language": "ru"}),
    # namefield.php:146-153 — a Cyrillic target keeps its own
    ("translit_ru_cyrillic_target", CONTACT, [rec(1, NAME="Сергей"), rec(2, NAME="Sergey")],
     MergeStatus.SUCCESS, {"NAME": "Сергей"}, {"language": "ru"}),
    # js_core_translit.php [B] en: empty table, Cyrillic -> "______" != "sergey"
    ("translit_en_conflict", CONTACT, [rec(1, NAME="Sergey"), rec(2, NAME="Сергей")],
     MergeStatus.CONFLICT, {"NAME": "Sergey"}, {"language": "en"}),
    # en: "Иван" and "Олег" both become "____": resolved, the survivor keeps its own
    ("ivan_oleg_en", CONTACT, [rec(1, NAME="Иван"), rec(2, NAME="Олег")],
     MergeStatus.SUCCESS, {"NAME": "Иван"}, {"language": "en"}),
    # ru: "ivan" != "oleg"
    ("ivan_oleg_ru", CONTACT, [rec(1, NAME="Иван"), rec(2, NAME="Олег")],
     MergeStatus.CONFLICT, {"NAME": "Иван"}, {"language": "ru"}),
    # namefield.php:105-108 — LAST_NAME transliterates too (ru: щ -> shch, ё -> ye)
    ("translit_last_name", LEAD, [rec(1, LAST_NAME="Khrushchyev"), rec(2, LAST_NAME="Хрущёв")],
     MergeStatus.SUCCESS, {"LAST_NAME": "Хрущёв"}, {}),
    # contactmerger.php:383-399 — a placeholder NAME has no value: the seed's is copied
    ("placeholder_target", CONTACT, [rec(1, NAME="Без имени"), rec(2, NAME="Ivan")],
     MergeStatus.SUCCESS, {"NAME": "Ivan"}, {}),
    # contactmerger.php:383-399 with en texts
    ("placeholder_en", CONTACT, [rec(1, NAME="individual"), rec(2, NAME="Ivan")],
     MergeStatus.SUCCESS, {"NAME": "Ivan"}, {"language": "en"}),
    # namefield.php:89-92 — a placeholder with a dot is a value, but after normalising the
    # resolver ignores it
    ("placeholder_seed_with_dot", CONTACT, [rec(1, NAME="Ivan"), rec(2, NAME="Без имени.")],
     MergeStatus.SUCCESS, {"NAME": "Ivan"}, {}),
    # leadmerger.php:115-118 — leads have no NAME placeholders
    ("lead_no_placeholder", LEAD, [rec(1, NAME="Без имени"), rec(2, NAME="Ivan")],
     MergeStatus.CONFLICT, {"NAME": "Без имени"}, {}),
    # entitymerger.php:1290,1321-1324 — empty target, two valued seeds: compared with the
    # first, which is then copied
    ("empty_target_two_seeds", CONTACT,
     [rec(1, NAME=""), rec(2, NAME="Ivan"), rec(3, NAME="IVAN")],
     MergeStatus.SUCCESS, {"NAME": "Ivan"}, {}),
    # namefield.php:38-57 — seeds checked pairwise: each fits the target, not each other
    ("pairwise_conflict", CONTACT,
     [rec(1, NAME="Alexander"), rec(2, NAME="Alex"), rec(3, NAME="Xander")],
     MergeStatus.CONFLICT, {"NAME": "Alexander"}, {}),
    # namefield.php:38-57,161-164 — the pairwise pass reads LAST_NAME from the real target:
    # pair ("Petrov" as target, "Ivan Petrov" as seed) finds no rule, although each seed
    # alone merges (misplaced_seed above)
    ("pair_pass_real_target", CONTACT,
     [rec(1, NAME="Ivan", LAST_NAME="Petrov"), rec(2, NAME="Petrov"),
      rec(3, NAME="Ivan", LAST_NAME="Petrov")],
     MergeStatus.CONFLICT, {"NAME": "Ivan"}, {}),
    # namefield.php:9,29-36 — ten valued seeds: the name rules still apply
    ("ten_seeds_substring", CONTACT,
     [rec(1, NAME="Joanna")] + [rec(i, NAME="Joanna") for i in range(2, 11)]
     + [rec(11, NAME="Ann")],
     MergeStatus.SUCCESS, {"NAME": "Joanna"}, {}),
    # namefield.php:31-36,74-77 — eleven valued seeds: StringField steps only, so the
    # pairwise pass and the substring rule are skipped
    ("eleven_seeds_string_only", CONTACT,
     [rec(1, NAME="Joanna")] + [rec(i, NAME="Joanna") for i in range(2, 12)]
     + [rec(12, NAME="Ann")],
     MergeStatus.CONFLICT, {"NAME": "Joanna"}, {}),
    # namefield.php:31-36 — eleven seeds that differ only in case still merge
    ("eleven_seeds_case", CONTACT,
     [rec(1, NAME="Ivan")] + [rec(i, NAME="IVAN") for i in range(2, 13)],
     MergeStatus.SUCCESS, {"NAME": "Ivan"}, {}),
    # contactmerger.php:120-122 — SECOND_NAME is a NameField without the related rule
    ("second_name_dots", CONTACT,
     [rec(1, SECOND_NAME="Ivanovich"), rec(2, SECOND_NAME="Ivanovich.")],
     MergeStatus.SUCCESS, {"SECOND_NAME": "Ivanovich"}, {}),
]
# fmt: on


@pytest.mark.parametrize(
    ("entity", "records", "status", "merged", "options"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_name_rules(
    entity: Any,
    records: list[dict[str, Any]],
    status: str,
    merged: dict[str, Any],
    options: dict[str, Any],
) -> None:
    check(predict(entity, records, **options), status, merged)


def test_full_swap_reports_both_fields() -> None:
    # namefield.php:172-229: neither NAME nor LAST_NAME resolves
    verdict = predict(
        CONTACT,
        [rec(1, NAME="Ivan", LAST_NAME="Petrov"), rec(2, NAME="Petrov", LAST_NAME="Ivan")],
    )
    assert [(c.code, c.kind) for c in verdict.conflicts] == [
        ("NAME", "name"),
        ("LAST_NAME", "name"),
    ]
    assert verdict.conflicts[0].values == {1: "Ivan", 2: "Petrov"}


def test_pairwise_passes_for_each_seed_alone() -> None:
    # namefield.php:38-61: "Alex" and "Xander" each fit "Alexander"
    for name in ("Alex", "Xander"):
        check(predict(CONTACT, [rec(1, NAME="Alexander"), rec(2, NAME=name)]), MergeStatus.SUCCESS)

"""The action and the field engine: ids and survivor (sheet 1), empty values (2.1), loose
equality (2.2), fields the survivor keeps or that are never compared (2.6), lead OPPORTUNITY.

Each case: (name, entity, records, status, expected merged fields, options); the first
existing record is the survivor; the comment gives the source line.
"""

from __future__ import annotations

from typing import Any

import pytest

from b24.crm import MergeStatus
from b24.predict import predict_merge
from tests.predict import COMPANY, CONTACT, CONTACT_FIELDS, LEAD, check, predict, rec

SUCCESS, CONFLICT, ERROR = MergeStatus.SUCCESS, MergeStatus.CONFLICT, MergeStatus.ERROR

Case = tuple[str, Any, list[dict[str, Any]], str, dict[str, Any], dict[str, Any]]
BIRTH_1 = "1990-01-02T03:00:00+03:00"
BIRTH_2 = "1991-05-06T03:00:00+03:00"
PHOTO_1 = {"id": "101", "showUrl": "/a", "downloadUrl": "/a"}
PHOTO_2 = {"id": "102", "showUrl": "/b", "downloadUrl": "/b"}

# fmt: off
CASES: list[Case] = [
    # base.php:100-103 — different responsible users conflict
    ("assigned_by_differs", CONTACT, [rec(1, ASSIGNED_BY_ID="1"), rec(2, ASSIGNED_BY_ID="5")],
     CONFLICT, {"ASSIGNED_BY_ID": "1"}, {}),
    # base.php:100-103 — PHP loose ==: "01" == "1"
    ("equality_01_1", CONTACT, [rec(1, ASSIGNED_BY_ID="01"), rec(2, ASSIGNED_BY_ID="1")],
     SUCCESS, {"ASSIGNED_BY_ID": "01"}, {}),
    # base.php:100-103 — "1e1" == "10" as numbers
    ("equality_exponent", CONTACT, [rec(1, FACE_ID="1e1"), rec(2, FACE_ID="10")],
     SUCCESS, {}, {}),
    # crm_contact.php:261-265 (crm_status) — contact TYPE_ID
    ("type_id_differs", CONTACT, [rec(1, TYPE_ID="CLIENT"), rec(2, TYPE_ID="PARTNER")],
     CONFLICT, {}, {}),
    # crm_contact.php:230-233 — HONORIFIC
    ("honorific_differs", CONTACT, [rec(1, HONORIFIC="HNR_RU_1"), rec(2, HONORIFIC="HNR_RU_2")],
     CONFLICT, {}, {}),
    # crm_contact.php:254-256 (date) — BIRTHDATE
    ("birthdate_differs", CONTACT, [rec(1, BIRTHDATE=BIRTH_1), rec(2, BIRTHDATE=BIRTH_2)],
     CONFLICT, {"BIRTHDATE": BIRTH_1}, {}),
    # entitymerger.php:1287,1321-1324 — empty target, one seed value: copied unchecked
    ("birthdate_copied", CONTACT, [rec(1, BIRTHDATE=""), rec(2, BIRTHDATE=BIRTH_2)],
     SUCCESS, {"BIRTHDATE": BIRTH_2}, {}),
    # entitymerger.php:1476-1479 — user "0" is empty: the seed's responsible is copied
    ("assigned_zero_empty", CONTACT, [rec(1, ASSIGNED_BY_ID="0"), rec(2, ASSIGNED_BY_ID="7")],
     SUCCESS, {"ASSIGNED_BY_ID": "7"}, {}),
    # entitymerger.php:1287-1290 — empty target, two different seed values: compared
    ("two_seeds_differ", CONTACT,
     [rec(1, ASSIGNED_BY_ID="0"), rec(2, ASSIGNED_BY_ID="5"), rec(3, ASSIGNED_BY_ID="6")],
     CONFLICT, {"ASSIGNED_BY_ID": "0"}, {}),
    # entitymerger.php:1282-1285 — no seed value: the target keeps its own
    ("seed_empty", CONTACT, [rec(1, POST="CEO"), rec(2, POST="")], SUCCESS, {"POST": "CEO"}, {}),
    # entitymerger.php:1472-1475 — double 0 is empty (company REVENUE)
    ("revenue_zero_empty", COMPANY, [rec(1, REVENUE="0.00"), rec(2, REVENUE="5000.00")],
     SUCCESS, {"REVENUE": "5000.00"}, {}),
    # base.php:100-103 — "5000.00" == "5000"
    ("revenue_numeric_equal", COMPANY, [rec(1, REVENUE="5000.00"), rec(2, REVENUE="5000")],
     SUCCESS, {"REVENUE": "5000.00"}, {}),
    # sheet 2.2 — company COMPANY_TYPE, INDUSTRY, EMPLOYEES, CURRENCY_ID
    ("company_type_differs", COMPANY,
     [rec(1, COMPANY_TYPE="CUSTOMER"), rec(2, COMPANY_TYPE="SUPPLIER")], CONFLICT, {}, {}),
    ("industry_differs", COMPANY, [rec(1, INDUSTRY="IT"), rec(2, INDUSTRY="BANKING")],
     CONFLICT, {}, {}),
    ("currency_differs", COMPANY, [rec(1, CURRENCY_ID="RUB"), rec(2, CURRENCY_ID="USD")],
     CONFLICT, {}, {}),
    # entitymerger.php:1468-1471 — char 'N' is a value: IS_MY_COMPANY Y vs N conflicts
    ("is_my_company", COMPANY, [rec(1, IS_MY_COMPANY="Y"), rec(2, IS_MY_COMPANY="N")],
     CONFLICT, {}, {}),
    # sheet 2.2 — two pictures are two file ids
    ("photo_two_files", CONTACT, [rec(1, PHOTO=PHOTO_1), rec(2, PHOTO=PHOTO_2)],
     CONFLICT, {"PHOTO": PHOTO_1}, {}),
    # sheet 2.2 — the same file id is equal
    ("photo_same_file", CONTACT, [rec(1, PHOTO=PHOTO_1), rec(2, PHOTO=dict(PHOTO_1, showUrl="/c"))],
     SUCCESS, {"PHOTO": PHOTO_1}, {}),
    # entitymerger.php:1321-1324 — a picture only the seed has is copied
    ("photo_copied", COMPANY, [rec(1, LOGO=""), rec(2, LOGO=PHOTO_2)],
     SUCCESS, {"LOGO": PHOTO_2}, {}),
    # sheet 2.2 — contact ADDRESS_LOC_ADDR_ID is compared (not skipped as for leads)
    ("contact_loc_addr", CONTACT,
     [rec(1, ADDRESS_LOC_ADDR_ID="3"), rec(2, ADDRESS_LOC_ADDR_ID="4")], CONFLICT, {}, {}),
    # sheet 2.2, 2.1 (inference) — lead COMPANY_ID: a stored 0 counts as a value
    ("lead_company_zero_value", LEAD, [rec(1, COMPANY_ID="0"), rec(2, COMPANY_ID="12")],
     CONFLICT, {"COMPANY_ID": "0"}, {}),
    # the zero_link_is_value=False choice: 0 is empty, the seed's company is copied
    ("lead_company_zero_empty", LEAD, [rec(1, COMPANY_ID="0"), rec(2, COMPANY_ID="12")],
     SUCCESS, {"COMPANY_ID": "12"}, {"zero_link_is_value": False}),
    # sheet 2.1 — a crm link shown as null is empty
    ("lead_company_null", LEAD, [rec(1, COMPANY_ID=None), rec(2, COMPANY_ID="12")],
     SUCCESS, {"COMPANY_ID": "12"}, {}),
    # sourcefield.php:14-29 — SOURCE_ID: the survivor keeps its own
    ("source_kept", CONTACT, [rec(1, SOURCE_ID="CALL"), rec(2, SOURCE_ID="WEB")],
     SUCCESS, {"SOURCE_ID": "CALL"}, {}),
    # sourcefield.php:14-29 — an empty SOURCE_ID takes the seed's
    ("source_copied", LEAD, [rec(1, SOURCE_ID=""), rec(2, SOURCE_ID="WEB")],
     SUCCESS, {"SOURCE_ID": "WEB"}, {}),
    # entitymerger.php:1290,1321-1324 — empty target, two seed sources: the first wins
    ("source_first_seed", LEAD,
     [rec(1, SOURCE_ID=""), rec(2, SOURCE_ID="WEB"), rec(3, SOURCE_ID="CALL")],
     SUCCESS, {"SOURCE_ID": "WEB"}, {}),
    # ignoredfield.php:12-20 — OPENED: the survivor keeps its own
    ("opened_kept", COMPANY, [rec(1, OPENED="N"), rec(2, OPENED="Y")],
     SUCCESS, {"OPENED": "N"}, {}),
    # contactmerger.php:133-135 — contact EXPORT ignored
    ("export_kept", CONTACT, [rec(1, EXPORT="Y"), rec(2, EXPORT="N")],
     SUCCESS, {"EXPORT": "Y"}, {}),
    # leadmerger.php:163-174 — lead STATUS_ID is never compared
    ("lead_status_kept", LEAD, [rec(1, STATUS_ID="NEW"), rec(2, STATUS_ID="IN_PROCESS")],
     SUCCESS, {"STATUS_ID": "NEW"}, {}),
    # leadmerger.php:163-174 — STATUS_DESCRIPTION skipped: an empty one stays empty
    ("lead_status_description", LEAD,
     [rec(1, STATUS_DESCRIPTION=""), rec(2, STATUS_DESCRIPTION="waiting")],
     SUCCESS, {"STATUS_DESCRIPTION": ""}, {}),
    # leadmerger.php:163-174 — lead ADDRESS_LOC_ADDR_ID skipped before its IgnoredField
    ("lead_loc_addr_skipped", LEAD,
     [rec(1, ADDRESS_LOC_ADDR_ID="0"), rec(2, ADDRESS_LOC_ADDR_ID="9")],
     SUCCESS, {"ADDRESS_LOC_ADDR_ID": "0"}, {}),
    # contactmerger.php:141-149 — contact COMPANY_ID (deprecated) never compared
    ("contact_company_id", CONTACT, [rec(1, COMPANY_ID="3"), rec(2, COMPANY_ID="4")],
     SUCCESS, {"COMPANY_ID": "3"}, {}),
    # entitymerger.php:1237-1247 — read-only fields are not compared
    ("read_only_kept", CONTACT,
     [rec(1, DATE_CREATE="2024-01-01T00:00:00+03:00", CREATED_BY_ID="1"),
      rec(2, DATE_CREATE="2025-01-01T00:00:00+03:00", CREATED_BY_ID="2")],
     SUCCESS, {"DATE_CREATE": "2024-01-01T00:00:00+03:00", "CREATED_BY_ID": "1"}, {}),
    # opportunityfield.php:93-101 — amounts compared as floats
    ("opportunity_equal", LEAD, [rec(1, OPPORTUNITY="100.00"), rec(2, OPPORTUNITY="100")],
     SUCCESS, {"OPPORTUNITY": "100.00"}, {}),
    # opportunityfield.php:63-72 — different amounts without product rows conflict
    ("opportunity_differs", LEAD, [rec(1, OPPORTUNITY="100"), rec(2, OPPORTUNITY="200")],
     CONFLICT, {}, {}),
    # opportunityfield.php:63-70 — product rows on one lead, neither manual: resolved
    ("opportunity_product_rows", LEAD, [rec(1, OPPORTUNITY="100"), rec(2, OPPORTUNITY="200")],
     SUCCESS, {"OPPORTUNITY": "100"}, {"with_product_rows": {2}}),
    # opportunityfield.php:60-72 — a manual amount refuses even with product rows
    ("opportunity_manual", LEAD,
     [rec(1, OPPORTUNITY="100", IS_MANUAL_OPPORTUNITY="Y"),
      rec(2, OPPORTUNITY="200", IS_MANUAL_OPPORTUNITY="Y")],
     CONFLICT, {}, {"with_product_rows": {1, 2}}),
    # entitymerger.php:1611-1613 — a field the sheet does not name, type "string":
    # StringField, so the all-lower-case target takes the clean seed (stringfield.php:126-131)
    ("unknown_string_field", CONTACT, [rec(1, X_NOTE="abc"), rec(2, X_NOTE="ABC")],
     SUCCESS, {"X_NOTE": "ABC"}, {}),
]
# fmt: on

_EXTRA = {
    "X_NOTE": {"type": "string", "isReadOnly": False, "isMultiple": False, "isDynamic": False},
    "X_NUM": {"type": "integer", "isReadOnly": False, "isMultiple": False, "isDynamic": False},
    "FULL_NAME": {"type": "string", "isReadOnly": False, "isMultiple": False, "isDynamic": False},
}


@pytest.mark.parametrize(
    ("entity", "records", "status", "merged", "options"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_engine_rules(
    entity: Any,
    records: list[dict[str, Any]],
    status: str,
    merged: dict[str, Any],
    options: dict[str, Any],
) -> None:
    if entity is CONTACT:
        options.setdefault("fields", {**CONTACT_FIELDS, **_EXTRA})
    if "fields" in options:
        fields = options.pop("fields")
        check(predict_merge(entity, records, fields, **options), status, merged)
    else:
        check(predict(entity, records, **options), status, merged)


def test_unknown_integer_field_is_equality() -> None:
    # entitymerger.php:1614-1615: any other type -> Base
    fields = {**CONTACT_FIELDS, **_EXTRA}
    verdict = predict_merge(CONTACT, [rec(1, X_NUM="1"), rec(2, X_NUM="2")], fields)
    assert [(c.code, c.kind) for c in verdict.conflicts] == [("X_NUM", "equality")]


def test_hidden_full_name_not_compared() -> None:
    # entitymerger.php:1237-1247, crm_contact.php:246-249: FULL_NAME is Hidden
    fields = {**CONTACT_FIELDS, **_EXTRA}
    verdict = predict_merge(CONTACT, [rec(1, FULL_NAME="A B"), rec(2, FULL_NAME="C D")], fields)
    assert verdict.status == SUCCESS


# --- the action: ids, survivor, seeds (mergebatchaction.php, entitymerger.php:346-364) ---


def test_survivor_is_first_id_and_the_target_repeated_is_dropped() -> None:
    # mergebatchaction.php:72, entitymerger.php:353-359,416-420
    verdict = predict(CONTACT, [rec(7), rec(3), rec(7), rec(5)])
    assert (verdict.status, verdict.survivor, verdict.seeds) == (SUCCESS, 7, [3, 5])


def test_a_repeated_seed_is_merged_then_its_second_delete_fails() -> None:
    # entitymerger.php:353-359 keeps repeated seeds, :482-485 deletes each entry;
    # contactmerger.php:243-258: the second delete fails, DELETE_FAILED: ERROR
    verdict = predict(CONTACT, [rec(7), rec(3), rec(5), rec(3)])
    assert (verdict.status, verdict.survivor, verdict.seeds) == (ERROR, 7, [3, 5])


def test_target_repeated_only_is_success_without_seeds() -> None:
    # mergebatchaction.php:65-69 counts repeats; entitymerger.php:361-364 returns early
    verdict = predict(CONTACT, [rec(5, NAME="A"), rec(5, NAME="A")])
    assert (verdict.status, verdict.survivor, verdict.seeds) == (SUCCESS, 5, [])
    assert verdict.merged == {"ID": "5", "NAME": "A"}


@pytest.mark.parametrize(
    "records",
    [
        pytest.param([], id="none"),  # mergebatchaction.php:58-63
        pytest.param([rec(4)], id="one"),  # mergebatchaction.php:65-69
        pytest.param([rec(4), {"ID": "abc"}], id="one_valid"),  # :115 (int)"abc" = 0
    ],
)
def test_fewer_than_two_records_is_error(records: list[dict[str, Any]]) -> None:
    verdict = predict(CONTACT, records)
    assert (verdict.status, verdict.survivor, verdict.seeds) == (ERROR, None, [])


def test_all_conflicts_in_field_order() -> None:
    # entitymerger.php:1230 field order (GetFieldsInfo), then user fields (:2108)
    verdict = predict(
        CONTACT,
        [
            rec(1, HONORIFIC="A", NAME="Ivan", ASSIGNED_BY_ID="1", UF_CRM_INT="1"),
            rec(2, HONORIFIC="B", NAME="Oleg", ASSIGNED_BY_ID="2", UF_CRM_INT="2"),
        ],
    )
    assert [(c.code, c.kind) for c in verdict.conflicts] == [
        ("HONORIFIC", "equality"),
        ("NAME", "name"),
        ("ASSIGNED_BY_ID", "equality"),
        ("UF_CRM_INT", "user_field"),
    ]
    assert verdict.conflicts[2].values == {1: "1", 2: "2"}


def test_conflict_values_without_empty_target() -> None:
    # entitymerger.php:1287-1290: the target had none; the seeds' values are listed
    verdict = predict(
        CONTACT,
        [rec(1, ASSIGNED_BY_ID="0"), rec(2, ASSIGNED_BY_ID="5"), rec(3, ASSIGNED_BY_ID="6")],
    )
    assert verdict.conflicts[0].values == {2: "5", 3: "6"}


def test_conflict_leaves_survivor_unchanged() -> None:
    # entitymerger.php:410-436: nothing is written on CONFLICT
    survivor = rec(1, NAME="", POST="", ASSIGNED_BY_ID="1")
    verdict = predict(CONTACT, [survivor, rec(2, NAME="Ivan", POST="CEO", ASSIGNED_BY_ID="2")])
    assert verdict.status == CONFLICT
    assert verdict.merged == survivor


def test_success_merges_everything() -> None:
    # entitymerger.php:1321-1324: each empty field takes the first valued seed
    verdict = predict(
        CONTACT,
        [
            rec(1, NAME="Ivan", POST="", BIRTHDATE=""),
            rec(2, NAME="ivan", POST="CEO"),
            rec(3, POST="", BIRTHDATE="1990-01-02T03:00:00+03:00"),
        ],
    )
    check(
        verdict,
        SUCCESS,
        {"NAME": "Ivan", "POST": "CEO", "BIRTHDATE": "1990-01-02T03:00:00+03:00"},
        conflicts=[],
    )
    assert verdict.seeds == [2, 3]


def test_bindings_union() -> None:
    # entitymerger.php:2604-2624, contactmerger.php:151-157: companies united, target first
    verdict = predict(CONTACT, [rec(1, COMPANY_IDS=["10"]), rec(2, COMPANY_IDS=["11", "10"])])
    check(verdict, SUCCESS, {"COMPANY_IDS": ["10", "11"]})


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="transliteration"):
        predict(CONTACT, [rec(1), rec(2)], language="de")

"""The merge decision, rule by rule (pure: no network)."""

from __future__ import annotations

from typing import Any

from worker.communications import Communication
from worker.policy import Policy, decide, identity_conflicts, order_by_survival

PHONE = Communication("PHONE", "+79991234567")


def rec(id_: int, created: str = "2025-01-01T10:00:00+03:00", **fields: Any) -> dict[str, Any]:
    return {"ID": str(id_), "DATE_CREATE": created, **fields}


def shared_with(*ids: int) -> dict[int, set[Communication]]:
    return {i: {PHONE} for i in ids}


def test_same_person_merges_oldest_first() -> None:
    record = rec(5, "2025-02-01T10:00:00+03:00", NAME="Ivan", LAST_NAME="Petrov")
    older = rec(9, "2025-01-01T10:00:00+03:00", NAME="ivan ", LAST_NAME="PETROV")
    decision = decide("CONTACT", record, [older], shared_with(9), Policy())
    assert decision.merge and decision.group == [9, 5] and decision.survivor == 9


def test_one_side_empty_name_is_not_a_difference() -> None:
    decision = decide("CONTACT", rec(1, NAME="Anna"), [rec(2, NAME="")], shared_with(2), Policy())
    assert decision.merge


def test_different_names_never_merge() -> None:
    decision = decide(
        "CONTACT", rec(1, NAME="Anna"), [rec(2, NAME="Olga")], shared_with(2), Policy()
    )
    assert not decision.merge
    assert decision.excluded == {2: "identity differs: NAME"}


def test_candidates_that_differ_from_each_other_block_the_group() -> None:
    decision = decide(
        "CONTACT", rec(1), [rec(2, NAME="Anna"), rec(3, NAME="Olga")], shared_with(2, 3), Policy()
    )
    assert not decision.merge and "differ in NAME" in decision.reason


def test_candidate_without_shared_value_is_left_out() -> None:
    decision = decide("CONTACT", rec(1, NAME="A"), [rec(2, NAME="A")], {}, Policy())
    assert not decision.merge and decision.excluded == {2: "shares no normalised value"}


def test_group_size_limit() -> None:
    candidates = [rec(i, NAME="Same") for i in range(2, 7)]
    decision = decide(
        "CONTACT",
        rec(1, NAME="Same"),
        candidates,
        shared_with(*range(2, 7)),
        Policy(max_group_size=5),
    )
    assert not decision.merge and "MAX_GROUP_SIZE" in decision.reason
    assert decide(
        "CONTACT",
        rec(1, NAME="Same"),
        candidates,
        shared_with(*range(2, 7)),
        Policy(max_group_size=6),
    ).merge


def test_final_leads_are_left_alone() -> None:
    won = rec(1, STATUS_SEMANTIC_ID="S")
    assert not decide("LEAD", won, [rec(2)], shared_with(2), Policy()).merge
    decision = decide(
        "LEAD",
        rec(1, STATUS_SEMANTIC_ID="P"),
        [rec(2, STATUS_SEMANTIC_ID="F")],
        shared_with(2),
        Policy(),
    )
    assert not decision.merge and decision.excluded == {2: "lead in a final status"}


def test_lead_company_title_and_company_title_are_identity() -> None:
    assert identity_conflicts(
        {"COMPANY_TITLE": "Acme"}, {"COMPANY_TITLE": "Globex"}, Policy().identity_fields("LEAD")
    ) == ["COMPANY_TITLE"]
    decision = decide(
        "COMPANY", rec(1, TITLE="Acme LLC"), [rec(2, TITLE="Acme  llc")], shared_with(2), Policy()
    )
    assert decision.merge


def test_configured_identity_field() -> None:
    policy = Policy(extra_identity_fields=("UF_CRM_TAX",))
    decision = decide(
        "CONTACT", rec(1, UF_CRM_TAX="1"), [rec(2, UF_CRM_TAX="2")], shared_with(2), policy
    )
    assert not decision.merge


def test_not_duplicate_pairs_are_respected() -> None:
    marked = {frozenset({1, 2})}
    decision = decide("CONTACT", rec(1), [rec(2)], shared_with(2), Policy(), not_duplicates=marked)
    assert not decision.merge and decision.excluded == {2: "marked as not duplicates"}
    decision = decide(
        "CONTACT", rec(3), [rec(1), rec(2)], shared_with(1, 2), Policy(), not_duplicates=marked
    )
    assert not decision.merge and "not duplicates" in decision.reason


def test_survivor_rules() -> None:
    old = rec(7, "2024-01-01T00:00:00+00:00", NAME="A")
    new = rec(3, "2025-01-01T00:00:00+00:00", NAME="A", LAST_NAME="B", POST="CEO")
    tie = rec(8, "2024-01-01T00:00:00+00:00")
    assert [r["ID"] for r in order_by_survival([new, old, tie], "oldest")] == ["7", "8", "3"]
    assert [r["ID"] for r in order_by_survival([old, new, tie], "newest")] == ["3", "8", "7"]
    assert order_by_survival([old, new, tie], "most_complete")[0]["ID"] == "3"


def test_a_candidate_that_fits_two_different_people_is_left_alone() -> None:
    ivan, pyotr, blank = rec(1, NAME="Ivan"), rec(2, NAME="Pyotr"), rec(3)
    decision = decide("CONTACT", ivan, [pyotr, blank], shared_with(2, 3), Policy())
    assert not decision.merge
    assert decision.excluded == {2: "identity differs: NAME", 3: "could as well be the same as 2"}

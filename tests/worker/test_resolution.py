"""Field rules, identity keys and the settling of refused fields: pure, no network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from b24.crm import EntityType
from b24_dedupe.merge_rules import MergeRules, Rule, RulesError, check_against_fields, parse_rules
from worker.identity import company_key, differences, name_key
from worker.resolution import resolve

CONTACT, COMPANY = EntityType.CONTACT, EntityType.COMPANY
FIELDS: dict[str, dict[str, Any]] = {
    "POST": {"type": "string"},
    "ASSIGNED_BY_ID": {"type": "user"},
    "BIRTHDATE": {"type": "date"},
    "PHOTO": {"type": "file"},
    "DATE_CREATE": {"type": "datetime", "isReadOnly": True},
    "UF_CRM_TAGS": {"type": "string", "isMultiple": True},
}


def rec(rid: int, modified: str = "2026-01-01T10:00:00+03:00", **fields: Any) -> dict[str, Any]:
    return {"ID": str(rid), "DATE_MODIFY": modified, **fields}


def rules(text: str) -> MergeRules:
    return parse_rules(text, "rules.toml")


def test_rules_file_parsed_per_type_and_defaults_to_review() -> None:
    table = rules('[contact]\npost = "Newest"\n[company]\nUF_CRM_INN = "identity"\n')
    assert table.rule_for(CONTACT, "POST") is Rule.NEWEST
    assert table.rule_for(CONTACT, "TYPE_ID") is Rule.REVIEW
    assert table.identity_fields(COMPANY) == ["UF_CRM_INN"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[contact]\nPOST = "maybe"\n', "unknown rule 'maybe'"),
        ('[deal]\nX = "survivor"\n', "[deal] is not a record type"),
        ('[contact]\nEMAIL = "join"\n', "EMAIL is not settled by rules"),
        ("[contact]\nPOST = 3\n", "the rule must be a string"),
        ("contact = 1\n", "contact must be a table"),
    ],
)
def test_bad_rules_are_named(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=f"rules.toml: .*{message}".replace("[", r"\[")):
        rules(text)


def test_rules_checked_against_the_portal_fields() -> None:
    table = rules('[contact]\nDATE_CREATE = "oldest"\nNOPE = "survivor"\nPOST = "join"\n'
                  'ASSIGNED_BY_ID = "join"\nUF_CRM_TAGS = "join"\n')  # fmt: skip
    problems = check_against_fields(table, CONTACT, FIELDS)
    assert len(problems) == 3
    assert any("DATE_CREATE: read-only" in p for p in problems)
    assert any("NOPE: the portal has no such contact field" in p for p in problems)
    assert any('ASSIGNED_BY_ID: "join" needs a text or multiple field' in p for p in problems)


def test_newest_oldest_survivor_and_join() -> None:
    group = [
        rec(1, "2026-01-01T10:00:00+03:00", POST="Engineer", ASSIGNED_BY_ID="1"),
        rec(2, "2026-03-01T10:00:00+03:00", POST="Chief engineer", ASSIGNED_BY_ID="7"),
        rec(3, "2026-02-01T10:00:00+03:00", POST="", ASSIGNED_BY_ID="9"),
    ]
    conflicts = {"POST": {1: "Engineer", 2: "Chief engineer"}, "ASSIGNED_BY_ID": {1: "1", 2: "7"}}
    by_time = rules('[contact]\nPOST = "newest"\nASSIGNED_BY_ID = "oldest"\n')
    newest = resolve(CONTACT, group, conflicts, by_time, FIELDS)
    assert newest.ready
    assert newest.writes == {1: {"POST": "Chief engineer"}, 2: {"ASSIGNED_BY_ID": "1"},
                             3: {"ASSIGNED_BY_ID": "1"}}  # fmt: skip
    survivor = resolve(CONTACT, group, conflicts, rules(
        '[contact]\nPOST = "survivor"\nASSIGNED_BY_ID = "survivor"\n'), FIELDS)  # fmt: skip
    assert survivor.writes == {2: {"POST": "Engineer", "ASSIGNED_BY_ID": "1"},
                               3: {"ASSIGNED_BY_ID": "1"}}  # fmt: skip
    joined = resolve(CONTACT, group, {"POST": conflicts["POST"]},
                     rules('[contact]\nPOST = "join"\n'), FIELDS,
                     now=datetime(2026, 12, 2, 9, 5))  # fmt: skip
    value = "Engineer\n\n ----- 02.12.2026 09:05 -----\nChief engineer"
    assert joined.writes == {1: {"POST": value}, 2: {"POST": value}}
    assert joined.applied_to(group)[0]["POST"] == value


def test_review_block_files_and_a_persons_choice() -> None:
    group = [rec(1, POST="A", PHOTO={"id": 5}), rec(2, POST="B", PHOTO={"id": 6})]
    held = resolve(CONTACT, group, {"POST": {1: "A", 2: "B"}}, MergeRules(), FIELDS)
    assert not held.ready and held.review == {"POST": {"1": "A", "2": "B"}}
    assert not held.writes
    blocked = resolve(CONTACT, group, {"POST": {1: "A", 2: "B"}},
                      rules('[contact]\nPOST = "block"\n'), FIELDS)  # fmt: skip
    assert blocked.blocked and not blocked.ready
    photo = resolve(CONTACT, group, {"PHOTO": {1: {"id": 5}, 2: {"id": 6}}},
                    rules('[contact]\nPHOTO = "survivor"\n'), FIELDS)  # fmt: skip
    assert photo.review and not photo.ready  # a file cannot be written back as read
    chosen = resolve(CONTACT, group, {"POST": {1: "A", 2: "B"}}, MergeRules(), FIELDS,
                     choices={"POST": 2})  # fmt: skip
    assert chosen.ready and chosen.writes == {1: {"POST": "B"}}


def test_name_fields_take_the_survivors_spelling() -> None:
    group = [rec(1, NAME="Sergey"), rec(2, NAME="Sergei")]
    settled = resolve(CONTACT, group, {"NAME": {1: "Sergey", 2: "Sergei"}}, MergeRules(), FIELDS)
    assert settled.ready and settled.writes == {2: {"NAME": "Sergey"}}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Сергей", "Sergey", True), ("Sergei", "SERGEY", True), ("Юлия", "Julia", True),
        ("Мария", "Mariya", True), ("Дмитрий", "Dmitry", True), ("Евгений", "Yevgeniy", True),
        ("Михаил", "Mikhail", True), ("Фёдор", "Fyodor", True), ("Ann", "Joanna", False),
        ("Yana", "Ana", False), ("Ivan", "Oleg", False), ("Иван", "Олег", False),
    ],
)  # fmt: skip
def test_name_keys(a: str, b: str, same: bool) -> None:
    assert (name_key(a) == name_key(b)) is same


def test_company_titles_without_legal_forms() -> None:
    keys = {company_key(t) for t in ("ООО «Ромашка»", "Ромашка, ООО", "Romashka LLC", "ромашка")}
    assert len(keys) == 1
    assert company_key("ООО «Василёк»") not in keys


def test_identity_differences() -> None:
    elena = {"NAME": "Elena", "LAST_NAME": "Ivanova"}
    assert differences(CONTACT, elena, {"NAME": "Elena", "LAST_NAME": "Petrova"}) == ["LAST_NAME"]
    assert differences(CONTACT, elena, {"NAME": "Елена"}) == []  # a last name missing
    assert differences(CONTACT, elena, {"NAME": "Ivanova Elena"}) == []  # packed, swapped

"""crm.duplicate.findbycomm and crm.entity.mergeBatch, as their doc pages say."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from b24.emulator.server import RunningEmulator
from tests.conftest import StartEmulator
from tests.emulator.conftest import Rest, rest_call

Ok = Callable[..., Awaitable[Any]]


async def _contact(
    ok: Ok, name: str, phones: list[str] = (), emails: list[str] = (), **fields: Any
) -> int:
    new_id: int = await ok(
        "crm.contact.add",
        {
            "fields": {
                "NAME": name,
                **fields,
                "PHONE": [{"VALUE": p, "VALUE_TYPE": "WORK"} for p in phones],
                "EMAIL": [{"VALUE": e, "VALUE_TYPE": "WORK"} for e in emails],
            }
        },
    )
    return new_id


# -- findbycomm -------------------------------------------------------------------------
async def test_phone_formats_match_each_other(ok: Ok) -> None:
    a = await _contact(ok, "A", phones=["+7 (999) 123-45-67"])
    b = await _contact(ok, "B", phones=["89991234567"])
    await _contact(ok, "C", phones=["9991234567"])  # bare ten digits: no match (facts.md)
    result = await ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": ["79991234567"]})
    assert result == {"CONTACT": [a, b]}


async def test_extension_is_ignored(ok: Ok) -> None:
    a = await _contact(ok, "A", phones=["+7 999 123-45-67 #205"])
    result = await ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": ["89991234567"]})
    assert result == {"CONTACT": [a]}


async def test_email_matches_case_insensitively(ok: Ok) -> None:
    a = await _contact(ok, "A", emails=["Anna@Example.com"])
    result = await ok("crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["anna@example.COM"]})
    assert result == {"CONTACT": [a]}


async def test_no_match_is_an_empty_array(ok: Ok) -> None:
    result = await ok("crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["no@one.io"]})
    assert result == []


async def test_result_keyed_by_type_and_limited_by_entity_type(ok: Ok) -> None:
    contact = await _contact(ok, "A", emails=["x@y.io"])
    lead = await ok("crm.lead.add", {"fields": {"TITLE": "L", "EMAIL": [{"VALUE": "x@y.io"}]}})
    company = await ok(
        "crm.company.add", {"fields": {"TITLE": "C", "EMAIL": [{"VALUE": "x@y.io"}]}}
    )
    both = await ok("crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["x@y.io"]})
    assert both == {"LEAD": [lead], "CONTACT": [contact], "COMPANY": [company]}
    only = await ok(
        "crm.duplicate.findbycomm",
        {"type": "EMAIL", "values": ["x@y.io"], "entity_type": "CONTACT"},
    )
    assert only == {"CONTACT": [contact]}


async def test_docs_curl_body_as_json(ok: Ok) -> None:
    a = await _contact(ok, "A", phones=["1234567"])
    result = await ok(
        "crm.duplicate.findbycomm",
        {"entity_type": "CONTACT", "type": "PHONE", "values": ["1234567", "11223355"]},
    )
    assert result == {"CONTACT": [a]}


async def test_twenty_matches_in_one_type_hide_the_later_types(ok: Ok) -> None:
    shared = "+7 495 000-00-00"
    cmd = {
        f"l{i}": f"crm.lead.add?fields[TITLE]=L{i}&fields[PHONE][0][VALUE]={shared}"
        for i in range(3)
    }
    cmd |= {
        f"c{i}": f"crm.contact.add?fields[NAME]=C{i}&fields[PHONE][0][VALUE]={shared}"
        for i in range(20)
    }
    cmd["co"] = f"crm.company.add?fields[TITLE]=Co&fields[PHONE][0][VALUE]={shared}"
    await ok("batch", {"cmd": cmd})
    result = await ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": [shared]})
    assert set(result) == {"LEAD", "CONTACT"}  # 20 contacts hide the companies
    assert len(result["CONTACT"]) == 20 and len(result["LEAD"]) == 3
    # 19 leads do not hide anything; a 20th lead hides contacts and companies
    await ok(
        "batch",
        {
            "cmd": {
                f"m{i}": f"crm.lead.add?fields[TITLE]=M&fields[PHONE][0][VALUE]={shared}"
                for i in range(17)
            }
        },
    )
    result = await ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": [shared]})
    assert list(result) == ["LEAD"] and len(result["LEAD"]) == 20


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"values": ["1"]}, "Communication type is not defined"),
        (
            {"type": "FAX", "values": ["1"]},
            "Communication type 'FAX' is not supported in current context",
        ),
        ({"type": "PHONE"}, "Communication values is not defined"),
        ({"type": "PHONE", "values": []}, "Communication values is not defined"),
        ({"type": "PHONE", "values": [str(i) for i in range(21)]}, "Too many communication values"),
    ],
)
async def test_findbycomm_errors(rest: Rest, params: dict[str, Any], code: str) -> None:
    status, body = await rest("crm.duplicate.findbycomm", params)
    assert status == 400
    assert body["error"] == code


async def test_missing_type_answers_the_documented_body(rest: Rest) -> None:
    _, body = await rest("crm.duplicate.findbycomm", {"values": ["1"]})
    assert body == {
        "error": "Communication type is not defined",
        "error_description": "Parameter 'type' is required.",
    }


async def test_twenty_values_are_allowed_and_more_can_be_truncated(
    start_emulator: StartEmulator, http: Any
) -> None:
    lenient = await start_emulator(rps=100, burst=100, findbycomm_over_limit="truncate")
    params = {"type": "PHONE", "values": [str(1000000 + i) for i in range(25)]}
    status, body = await rest_call(http, lenient, "crm.duplicate.findbycomm", params)
    assert status == 200 and body["result"] == []


# -- mergeBatch -----------------------------------------------------------------------
async def test_merge_success_keeps_survivor_fills_empty_and_unites_multifields(
    ok: Ok, rest: Rest
) -> None:
    first = await _contact(ok, "Ivan", phones=["+7 999 123-45-67"], emails=["i@x.io"])
    second = await _contact(
        ok,
        "Ivan",
        phones=["89991234567", "+7 495 111-22-33"],
        emails=["I@X.io", "ivan@work.io"],
        LAST_NAME="Petrov",
    )
    result = await ok(
        "crm.entity.mergeBatch", {"params": {"entityTypeId": 3, "entityIds": [first, second]}}
    )
    assert result == {"STATUS": "SUCCESS", "ENTITY_IDS": [second]}
    survivor = await ok("crm.contact.get", {"id": first})
    assert survivor["LAST_NAME"] == "Petrov"
    assert [p["VALUE"] for p in survivor["PHONE"]] == ["+7 999 123-45-67", "+7 495 111-22-33"]
    assert [e["VALUE"] for e in survivor["EMAIL"]] == ["i@x.io", "ivan@work.io"]
    status, _ = await rest("crm.contact.get", {"id": second})
    assert status == 400


async def test_merge_conflict_changes_nothing(ok: Ok) -> None:
    first = await _contact(ok, "Ivan", phones=["111"])
    second = await _contact(ok, "Pyotr", phones=["111"])
    result = await ok(
        "crm.entity.mergeBatch",
        {"params": {"entityTypeId": "3", "entityIds": [str(first), str(second)]}},
        form=True,
    )
    assert result == {"STATUS": "CONFLICT", "ENTITY_IDS": []}
    assert (await ok("crm.contact.get", {"id": second}))["NAME"] == "Pyotr"


async def test_merge_of_three_with_first_as_survivor(ok: Ok) -> None:
    ids = [await _contact(ok, "Same", emails=[f"s{i}@x.io"]) for i in range(3)]
    survivor = ids[2]
    result = await ok(
        "crm.entity.mergeBatch",
        {"params": {"entityTypeId": 3, "entityIds": [survivor, ids[0], ids[1]]}},
    )
    assert result == {"STATUS": "SUCCESS", "ENTITY_IDS": [ids[0], ids[1]]}
    emails = [e["VALUE"] for e in (await ok("crm.contact.get", {"id": survivor}))["EMAIL"]]
    assert sorted(emails) == ["s0@x.io", "s1@x.io", "s2@x.io"]


async def test_lead_stages_that_differ_conflict(ok: Ok) -> None:
    a = await ok("crm.lead.add", {"fields": {"TITLE": "Deal", "STATUS_ID": "NEW"}})
    b = await ok("crm.lead.add", {"fields": {"TITLE": "Deal", "STATUS_ID": "JUNK"}})
    result = await ok("crm.entity.mergeBatch", {"params": {"entityTypeId": 1, "entityIds": [a, b]}})
    assert result["STATUS"] == "CONFLICT"


@pytest.mark.parametrize(
    ("merge", "description"),
    [
        ({}, "The parameter entityTypeId is required."),
        ({"entityTypeId": 3}, "The parameter entityIds does not contain valid elements."),
        (
            {"entityTypeId": 3, "entityIds": ["x", -1]},
            "The parameter entityIds does not contain valid elements.",
        ),
        (
            {"entityTypeId": 3, "entityIds": [1]},
            "The parameter entityIds must contain at least two elements.",
        ),
        ({"entityTypeId": 2, "entityIds": [1, 2]}, "Entity type Deal is not supported"),
        ({"entityTypeId": 3, "entityIds": [424242, 424243]}, "Owner was not found"),
    ],
)
async def test_merge_errors(rest: Rest, merge: dict[str, Any], description: str) -> None:
    status, body = await rest("crm.entity.mergeBatch", {"params": merge})
    assert status == 400
    assert body == {"error": 0, "error_description": description}


async def test_merge_is_slow_in_operating_time(
    ok: Ok, rest: Rest, emulator: RunningEmulator
) -> None:
    a = await _contact(ok, "T")
    b = await _contact(ok, "T")
    status, body = await rest(
        "crm.entity.mergeBatch", {"params": {"entityTypeId": 3, "entityIds": [a, b]}}
    )
    assert status == 200
    assert body["time"]["processing"] == pytest.approx(2.0)  # the docs' example took ~2 s
    assert body["time"]["operating"] >= 2.0

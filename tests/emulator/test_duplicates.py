"""crm.duplicate.findbycomm and crm.entity.mergeBatch, as their doc pages say."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from b24.crm import MergeStatus
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
    await _contact(ok, "C", phones=["9991234567"])  # bare ten digits: no match (Bitrix24 REST docs)
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


async def test_twenty_rows_per_value_across_the_types(ok: Ok) -> None:
    # restservice.php:10047: find($entityTypeID, 20) reads at most 20 index rows per
    # value, leads first, then contacts, then companies, each by id. (The docs' "20 or
    # more in one type hides the later types" is what this looks like from outside.)
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
    made = (await ok("batch", {"cmd": cmd}))["result"]
    result = await ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": [shared]})
    assert list(result) == ["LEAD", "CONTACT"]
    assert result["LEAD"] == [made[f"l{i}"] for i in range(3)]
    assert result["CONTACT"] == [made[f"c{i}"] for i in range(17)]
    only = await ok(
        "crm.duplicate.findbycomm",
        {"type": "PHONE", "values": [shared], "entity_type": "COMPANY"},
    )
    assert only == {"COMPANY": [made["co"]]}


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"values": ["1"]}, "Communication type is not defined."),
        (
            {"type": "FAX", "values": ["1"]},
            "Communication type 'FAX' is not supported in current context.",
        ),
        ({"type": "PHONE"}, "Communication values is not defined."),
        ({"type": "PHONE", "values": []}, "Communication values is not defined."),
        (
            {"type": "PHONE", "values": ["1"], "entity_type": "DEAL"},
            "Deal is not supported in current context.",
        ),
    ],
)
async def test_findbycomm_errors(rest: Rest, params: dict[str, Any], description: str) -> None:
    # restservice.php:9991-10017: a RestException without a code
    status, body = await rest("crm.duplicate.findbycomm", params)
    assert status == 400
    assert body == {"error": "", "error_description": description}


async def test_the_docs_error_body_can_be_chosen(start_emulator: StartEmulator, http: Any) -> None:
    docs = await start_emulator(rps=100, burst=100, findbycomm_errors="docs")
    _, body = await rest_call(http, docs, "crm.duplicate.findbycomm", {"values": ["1"]})
    assert body == {
        "error": "Communication type is not defined",
        "error_description": "Parameter 'type' is required.",
    }


async def test_values_past_twenty_are_ignored_or_refused_when_chosen(
    start_emulator: StartEmulator, http: Any
) -> None:
    params = {"type": "PHONE", "values": [str(1000000 + i) for i in range(25)]}
    source = await start_emulator(rps=100, burst=100)
    status, body = await rest_call(http, source, "crm.duplicate.findbycomm", params)
    assert status == 200 and body["result"] == []
    strict = await start_emulator(rps=100, burst=100, findbycomm_over_limit="error")
    status, body = await rest_call(http, strict, "crm.duplicate.findbycomm", params)
    assert (status, body["error"]) == (400, "Too many communication values")


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
    assert result == {"STATUS": MergeStatus.SUCCESS, "ENTITY_IDS": [second]}
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
    # mergebatchaction.php:83-104: ENTITY_IDS are the seeds on a CONFLICT too
    assert result == {"STATUS": MergeStatus.CONFLICT, "ENTITY_IDS": [second]}
    assert (await ok("crm.contact.get", {"id": second}))["NAME"] == "Pyotr"


async def test_merge_of_three_with_first_as_survivor(ok: Ok) -> None:
    ids = [await _contact(ok, "Same", emails=[f"s{i}@x.io"]) for i in range(3)]
    survivor = ids[2]
    result = await ok(
        "crm.entity.mergeBatch",
        {"params": {"entityTypeId": 3, "entityIds": [survivor, ids[0], ids[1]]}},
    )
    assert result == {"STATUS": MergeStatus.SUCCESS, "ENTITY_IDS": [ids[0], ids[1]]}
    emails = [e["VALUE"] for e in (await ok("crm.contact.get", {"id": survivor}))["EMAIL"]]
    assert sorted(emails) == ["s0@x.io", "s1@x.io", "s2@x.io"]


async def test_lead_stages_that_differ_are_not_compared(ok: Ok) -> None:
    # leadmerger.php:163-174: STATUS_ID is a Progress field; the survivor keeps its stage
    a = await ok("crm.lead.add", {"fields": {"TITLE": "Deal", "STATUS_ID": "NEW"}})
    b = await ok("crm.lead.add", {"fields": {"TITLE": "Deal", "STATUS_ID": "JUNK"}})
    result = await ok("crm.entity.mergeBatch", {"params": {"entityTypeId": 1, "entityIds": [a, b]}})
    assert result == {"STATUS": MergeStatus.SUCCESS, "ENTITY_IDS": [b]}
    assert (await ok("crm.lead.get", {"id": a}))["STATUS_ID"] == "NEW"


@pytest.mark.parametrize(
    ("merge", "error", "description"),
    [
        # mergebatchaction.php:24-29: (int) of a missing or named type is 0
        ({}, 0, "The parameter entityTypeId is required."),
        (
            {"entityTypeId": "CONTACT", "entityIds": [1, 2]},
            0,
            "The parameter entityTypeId is required.",
        ),
        # :58-63 (the source's spelling: "contains")
        (
            {"entityTypeId": 3, "entityIds": []},
            0,
            "The parameter entityIds does not contains valid elements.",
        ),
        (
            {"entityTypeId": 3, "entityIds": ["x", -1]},
            0,
            "The parameter entityIds does not contains valid elements.",
        ),
        (
            {"entityTypeId": 3, "entityIds": [424242, 424243]},
            0,
            "The parameter entityIds does not contains valid elements.",
        ),
        # :65-69
        (
            {"entityTypeId": 3, "entityIds": [1]},
            0,
            "The parameter entityIds must contains at least two elements.",
        ),
        (
            {"entityTypeId": 3, "entityIds": [1, 424242]},
            0,
            "The parameter entityIds must contains at least two elements.",
        ),
        # deals have a factory but this portal holds none: nothing exists
        (
            {"entityTypeId": 2, "entityIds": [1, 2]},
            0,
            "The parameter entityIds does not contains valid elements.",
        ),
        # :50-56, ErrorCode::getOwnerNotFoundError: a type without a factory
        ({"entityTypeId": 5, "entityIds": [1, 2]}, "OWNER_NOT_FOUND", "Owner was not found"),
        ({"entityTypeId": 150, "entityIds": [1, 2]}, "OWNER_NOT_FOUND", "Owner was not found"),
    ],
)
async def test_merge_errors(
    ok: Ok, rest: Rest, merge: dict[str, Any], error: Any, description: str
) -> None:
    await _contact(ok, "One")  # id 1 exists
    status, body = await rest("crm.entity.mergeBatch", {"params": merge})
    assert status == 400  # restmanager.php:180-189: a null result
    assert body == {"error": error, "error_description": description}


async def test_merge_without_params_or_ids(rest: Rest) -> None:
    # Binder (main/lib/engine/autowire/binder.php:412): no ``params`` at all
    status, body = await rest("crm.entity.mergeBatch", {})
    assert (status, body) == (
        400,
        {"error": 0, "error_description": "Could not find value for parameter {params}"},
    )
    # filterExistsItems(array $ids) given null: the TypeError's text
    status, body = await rest("crm.entity.mergeBatch", {"params": {"entityTypeId": 3}})
    assert status == 400 and body["error"] == 0
    assert "must be of type array, null given" in body["error_description"]


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

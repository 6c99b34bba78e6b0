"""volatileType.* with the limit of 7, and the documented enum results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.emulator.conftest import Rest

Ok = Callable[..., Awaitable[Any]]


async def test_fields_lists_standard_and_custom_fields(ok: Ok) -> None:
    fields = await ok("crm.duplicate.volatileType.fields", {"entityTypeId": 1})
    codes = {f["fieldCode"] for f in fields}
    assert {"TITLE", "ADDRESS", "UF_CRM_1750854801"} <= codes
    assert {f["entityTypeId"] for f in fields} == {1}
    every = await ok("crm.duplicate.volatileType.fields")
    assert {f["entityTypeId"] for f in every} == {1, 3, 4}


async def test_register_list_unregister(ok: Ok, rest: Rest) -> None:
    registered = await ok(
        "crm.duplicate.volatileType.register", {"entityTypeId": 1, "fieldCode": "TITLE"}
    )
    listed = await ok("crm.duplicate.volatileType.list")
    assert listed == [{"id": registered["id"], "entityTypeId": 1, "fieldCode": "TITLE"}]
    assert await ok("crm.duplicate.volatileType.unregister", {"id": registered["id"]}) is True
    assert await ok("crm.duplicate.volatileType.list") == []
    status, body = await rest("crm.duplicate.volatileType.unregister", {"id": registered["id"]})
    assert (status, body) == (
        400,
        {"error": "TYPE_IS_NOT_ASSIGNED", "error_description": "This type is not assigned."},
    )


async def test_unknown_field_is_field_not_found(rest: Rest) -> None:
    status, body = await rest(
        "crm.duplicate.volatileType.register", {"entityTypeId": 3, "fieldCode": "NO_SUCH"}
    )
    assert (status, body) == (
        400,
        {"error": "Field not found", "error_description": "The specified field was not found."},
    )


async def test_seven_fields_at_most_across_types(ok: Ok, rest: Rest) -> None:
    wanted = [
        (1, "TITLE"),
        (1, "ADDRESS"),
        (1, "POST"),
        (3, "ADDRESS"),
        (3, "POST"),
        (4, "ADDRESS"),
        (4, "BANKING_DETAILS"),
    ]
    for type_id, code in wanted:
        await ok(
            "crm.duplicate.volatileType.register", {"entityTypeId": type_id, "fieldCode": code}
        )
    status, body = await rest(
        "crm.duplicate.volatileType.register", {"entityTypeId": 4, "fieldCode": "UF_CRM_1750854801"}
    )
    assert status == 400 and body["error"] == "MAX_TYPES_COUNT_EXCEEDED"


async def test_multifield_fields_as_documented(ok: Ok) -> None:
    result = await ok("crm.multifield.fields")
    assert list(result) == ["ID", "TYPE_ID", "VALUE", "VALUE_TYPE"]
    assert result["VALUE"] == {
        "type": "string",
        "isRequired": False,
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": False,
        "isDynamic": False,
        "title": "Value",
    }


async def test_ownertype_has_the_crm_types(ok: Ok) -> None:
    owners = {o["SYMBOL_CODE"]: o["ID"] for o in await ok("crm.enum.ownertype")}
    assert (owners["LEAD"], owners["CONTACT"], owners["COMPANY"]) == (1, 3, 4)


@pytest.mark.parametrize(
    ("method", "names"),
    [
        ("crm.enum.activitydirection", ["", "Incoming", "Outgoing"]),
        ("crm.enum.activitypriority", ["", "low", "medium", "high"]),
        ("crm.enum.activitynotifytype", ["", "min.", "hr.", "day."]),
        ("crm.enum.contenttype", ["", "Plain text", "bbCode", "HTML"]),
        ("crm.enum.activitystatus", ["", "Pending", "Completed", "Automatically completed"]),
        (
            "crm.enum.activitytype",
            ["", "Meeting", "Call", "Task", "E-mail", "Action", "Custom Action"],
        ),
        ("crm.enum.settings.mode", ["Classic CRM", "Simple CRM"]),
        (
            "crm.enum.addresstype",
            [
                "Delivery Address",
                "Actual Address",
                "Legal Address",
                "Registration Address",
                "Correspondence Address",
                "Beneficiary Address",
            ],
        ),
    ],
)
async def test_enum_items(ok: Ok, method: str, names: list[str]) -> None:
    assert [item["NAME"] for item in await ok(method)] == names


async def test_remaining_enum_methods(ok: Ok) -> None:
    assert await ok("crm.enum.getorderownertypes") == [
        {"attribute": "DYN", "code": "DEAL", "id": 2, "name": "Deal"}
    ]
    assert set(await ok("crm.enum.fields")) == {"ID", "NAME", "SYMBOL_CODE", "SYMBOL_CODE_SHORT"}
    assert await ok("crm.settings.mode.get") == 1

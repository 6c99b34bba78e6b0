"""crm.lead|contact|company.add|get|update|delete|list|fields with the real shapes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.emulator.conftest import Rest

Ok = Callable[..., Awaitable[Any]]


async def test_get_returns_strings_dates_and_multifields(ok: Ok) -> None:
    new_id = await ok(
        "crm.contact.add",
        {
            "fields": {
                "NAME": "Ivan",
                "LAST_NAME": "Petrov",
                "ASSIGNED_BY_ID": 7,
                "PHONE": [{"VALUE": "+7 999 123-45-67", "VALUE_TYPE": "MOBILE"}],
                "EMAIL": [{"VALUE": "ivan@example.com", "VALUE_TYPE": "WORK"}],
            }
        },
    )
    record = await ok("crm.contact.get", {"id": new_id})
    assert record["ID"] == str(new_id)
    assert record["ASSIGNED_BY_ID"] == "7"
    assert record["HAS_PHONE"] == "Y" and record["HAS_EMAIL"] == "Y"
    assert record["DATE_CREATE"] == record["DATE_MODIFY"]
    assert record["DATE_CREATE"][-6:] == "+03:00"
    phone = record["PHONE"][0]
    assert set(phone) == {"ID", "VALUE_TYPE", "VALUE", "TYPE_ID"}
    assert phone["TYPE_ID"] == "PHONE" and phone["VALUE_TYPE"] == "MOBILE"
    assert "WEB" not in record  # an empty multifield is left out


async def test_read_only_fields_are_ignored_on_add(ok: Ok) -> None:
    new_id = await ok(
        "crm.company.add",
        {"fields": {"TITLE": "Acme", "ID": 999, "DATE_CREATE": "2001-01-01T00:00:00+03:00"}},
    )
    record = await ok("crm.company.get", {"id": new_id})
    assert record["ID"] == str(new_id) != "999"
    assert not record["DATE_CREATE"].startswith("2001")


async def test_missing_record_is_not_found(rest: Rest) -> None:
    status, body = await rest("crm.lead.get", {"id": 12345})
    assert status == 400
    assert body == {"error": "", "error_description": "Not found"}
    status, body = await rest("crm.lead.get", {"id": "abc"})
    assert status == 400 and "ID" in body["error_description"]


async def test_company_needs_a_title(rest: Rest) -> None:
    status, body = await rest("crm.company.add", {"fields": {"PHONE": [{"VALUE": "1"}]}})
    assert status == 400 and "required" in body["error_description"]


async def test_multifield_update_semantics(ok: Ok) -> None:
    new_id = await ok(
        "crm.contact.add",
        {
            "fields": {
                "NAME": "M",
                "PHONE": [
                    {"VALUE": "111", "VALUE_TYPE": "WORK"},
                    {"VALUE": "222", "VALUE_TYPE": "HOME"},
                ],
            }
        },
    )
    phones = (await ok("crm.contact.get", {"id": new_id}))["PHONE"]
    first, second = phones[0]["ID"], phones[1]["ID"]
    await ok(
        "crm.contact.update",
        {
            "id": new_id,
            "fields": {
                "PHONE": [
                    {"ID": first, "VALUE": "111-changed"},  # ID + VALUE: changes it
                    {"ID": second, "VALUE": ""},  # ID + empty VALUE: deletes it
                    {"VALUE": "333", "VALUE_TYPE": "MOBILE"},  # no ID: adds one
                ]
            },
        },
    )
    record = await ok("crm.contact.get", {"id": new_id})
    assert (record["PHONE"][0]["ID"], record["PHONE"][0]["VALUE"]) == (first, "111-changed")
    assert [p["VALUE"] for p in record["PHONE"]] == ["111-changed", "333"]
    assert record["PHONE"][1]["ID"] not in (first, second)
    await ok(
        "crm.contact.update",
        {
            "id": new_id,
            "fields": {"PHONE": [{"ID": p["ID"], "DELETE": "Y"} for p in record["PHONE"]]},
        },
    )
    record = await ok("crm.contact.get", {"id": new_id})
    assert "PHONE" not in record and record["HAS_PHONE"] == "N"


async def test_update_moves_date_modify_and_keeps_other_fields(ok: Ok) -> None:
    new_id = await ok("crm.lead.add", {"fields": {"TITLE": "T", "NAME": "A"}})
    await ok("crm.lead.update", {"id": new_id, "fields": {"LAST_NAME": "B"}})
    lead = await ok("crm.lead.get", {"id": new_id})
    assert (lead["NAME"], lead["LAST_NAME"], lead["STATUS_ID"], lead["STATUS_SEMANTIC_ID"]) == (
        "A",
        "B",
        "NEW",
        "P",
    )


async def test_delete_then_get_is_not_found(ok: Ok, rest: Rest) -> None:
    new_id = await ok("crm.contact.add", {"fields": {"NAME": "Gone"}})
    assert await ok("crm.contact.delete", {"id": new_id}) is True
    status, _ = await rest("crm.contact.get", {"id": new_id})
    assert status == 400
    status, _ = await rest("crm.contact.delete", {"id": new_id})
    assert status == 400


async def test_list_pages_of_fifty_with_total_and_next(ok: Ok, rest: Rest) -> None:
    batch = {"cmd": {f"c{i}": f"crm.contact.add?fields[NAME]=N{i}" for i in range(50)}}
    await ok("batch", batch)
    await ok("batch", {"cmd": {f"c{i}": f"crm.contact.add?fields[NAME]=M{i}" for i in range(20)}})
    status, first = await rest("crm.contact.list", {"order": {"ID": "ASC"}})
    assert status == 200
    assert len(first["result"]) == 50 and first["total"] == 70 and first["next"] == 50
    _, second = await rest("crm.contact.list", {"order": {"ID": "ASC"}, "start": 50})
    assert len(second["result"]) == 20 and second["total"] == 70 and "next" not in second
    assert int(second["result"][0]["ID"]) > int(first["result"][-1]["ID"])


async def test_list_fast_walk_with_start_minus_one(ok: Ok, rest: Rest) -> None:
    await ok("batch", {"cmd": {f"c{i}": f"crm.lead.add?fields[TITLE]=L{i}" for i in range(30)}})
    status, body = await rest(
        "crm.lead.list",
        {"order": {"ID": "ASC"}, "filter": {">ID": 10}, "select": ["ID"], "start": -1},
    )
    assert status == 200
    assert "total" not in body and "next" not in body
    assert [int(r["ID"]) for r in body["result"]] == list(range(11, 31))


async def test_list_select_star_leaves_multifields_out(ok: Ok) -> None:
    await ok("crm.contact.add", {"fields": {"NAME": "S", "PHONE": [{"VALUE": "555"}]}})
    rows = await ok("crm.contact.list", {"select": ["*"]})
    assert "PHONE" not in rows[0] and rows[0]["NAME"] == "S"
    rows = await ok("crm.contact.list", {"select": ["*", "PHONE"]})
    assert rows[0]["PHONE"][0]["VALUE"] == "555"
    rows = await ok("crm.contact.list", {"select": ["NAME"]})
    assert set(rows[0]) == {"ID", "NAME"}


async def test_list_filters_phone_email_and_date_modify(ok: Ok) -> None:
    a = await ok(
        "crm.contact.add",
        {"fields": {"NAME": "A", "PHONE": [{"VALUE": "+7 1"}], "EMAIL": [{"VALUE": "A@x.io"}]}},
    )
    b = await ok("crm.contact.add", {"fields": {"NAME": "B", "PHONE": [{"VALUE": "+7 2"}]}})
    by_phone = await ok("crm.contact.list", {"filter": {"PHONE": "+7 2"}})
    assert [r["ID"] for r in by_phone] == [str(b)]
    by_email = await ok("crm.contact.list", {"filter": {"EMAIL": "a@x.io"}})
    assert [r["ID"] for r in by_email] == [str(a)]
    newest = (await ok("crm.contact.get", {"id": b}))["DATE_MODIFY"]
    assert await ok("crm.contact.list", {"filter": {">DATE_MODIFY": newest}}) == []
    oldest = (await ok("crm.contact.get", {"id": a}))["DATE_MODIFY"]
    same_or_later = await ok("crm.contact.list", {"filter": {">=DATE_MODIFY": oldest}})
    assert {r["ID"] for r in same_or_later} == {str(a), str(b)}


async def test_list_order_desc_and_name_filter(ok: Ok) -> None:
    for name in ("Zed", "Amy", "Bob"):
        await ok("crm.contact.add", {"fields": {"NAME": name}})
    rows = await ok("crm.contact.list", {"order": {"NAME": "DESC"}, "select": ["NAME"]})
    assert [r["NAME"] for r in rows] == ["Zed", "Bob", "Amy"]
    rows = await ok("crm.contact.list", {"filter": {"!NAME": "Amy"}, "select": ["NAME"]})
    assert {r["NAME"] for r in rows} == {"Zed", "Bob"}


@pytest.mark.parametrize("entity", ["lead", "contact", "company"])
async def test_fields_describe_the_record(ok: Ok, entity: str) -> None:
    fields = await ok(f"crm.{entity}.fields")
    assert fields["ID"]["isReadOnly"] is True
    assert fields["PHONE"]["isMultiple"] is True
    assert fields["UF_CRM_1750854801"]["isDynamic"] is True
    assert ("COMPANY_TITLE" in fields) == (entity == "lead")

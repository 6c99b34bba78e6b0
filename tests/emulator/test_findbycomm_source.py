"""crm.duplicate.findbycomm as the Bitrix24 source runs it, over real HTTP.

``crm/classes/general/restservice.php:9977-10093`` and
``crm/lib/integrity/duplicatecommunicationcriterion.php``; each test names its lines.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.emulator.conftest import Rest

Ok = Callable[..., Awaitable[Any]]
FIND = "crm.duplicate.findbycomm"


async def add(
    ok: Ok, entity: str, *, phones: tuple[str, ...] = (), emails: tuple[str, ...] = ()
) -> int:
    fields: dict[str, Any] = {"TITLE": "T", "NAME": "N"}
    fields["PHONE"] = [{"VALUE": p, "VALUE_TYPE": "WORK"} for p in phones]
    fields["EMAIL"] = [{"VALUE": e, "VALUE_TYPE": "WORK"} for e in emails]
    new_id: int = await ok(f"crm.{entity}.add", {"fields": fields})
    return new_id


@pytest.mark.parametrize(
    ("key", "value", "found"),
    [
        # restservice.php:10010-10012, :1750-1787 resolveMultiPartParam: ENTITY_TYPE,
        # entity_type, EntityType, arEntityType; crm_owner_type.php:265-290 ResolveID
        ("ENTITY_TYPE", "CONTACT", ["CONTACT"]),
        ("entity_type", "contact", ["CONTACT"]),
        ("EntityType", "Contact", ["CONTACT"]),
        ("arEntityType", "CONTACT", ["CONTACT"]),
        ("entity_type", "C", ["CONTACT"]),
        ("entity_type", "l", ["LEAD"]),
        ("entity_type", "CO", ["COMPANY"]),
        ("entity_type", " company ", ["COMPANY"]),  # ResolveID trims
        # crm_owner_type.php:405-431: an unknown name is Undefined: every type
        ("entity_type", "SOMETHING", ["LEAD", "CONTACT", "COMPANY"]),
        ("entity_type", "", ["LEAD", "CONTACT", "COMPANY"]),
        # a type the portal knows but the index holds none of finds nothing
        ("entity_type", "QUOTE", []),
        ("entity_type", "I", []),
        ("entity_type", "DYNAMIC_128", []),
        # another spelling of the key is not read: every type
        ("Entity_Type", "CONTACT", ["LEAD", "CONTACT", "COMPANY"]),
    ],
)
async def test_entity_type_spellings(ok: Ok, key: str, value: str, found: list[str]) -> None:
    for entity in ("lead", "contact", "company"):
        await add(ok, entity, emails=("x@y.io",))
    result = await ok(FIND, {"type": "EMAIL", "values": ["x@y.io"], key: value})
    assert list(result or {}) == found


@pytest.mark.parametrize("value", ["DEAL", "deal", "D"])
async def test_deal_is_refused(rest: Rest, value: str) -> None:
    # restservice.php:10014-10017
    status, body = await rest(FIND, {"type": "EMAIL", "values": ["x@y.io"], "ENTITY_TYPE": value})
    assert (status, body) == (
        400,
        {"error": "", "error_description": "Deal is not supported in current context."},
    )


@pytest.mark.parametrize(
    ("key", "type_value"), [("type", "phone"), ("TYPE", "Phone"), ("Type", "PHONE")]
)
async def test_type_and_values_spellings(ok: Ok, key: str, type_value: str) -> None:
    # restservice.php:9991 resolveParam (name, lower, upper, capitalised), :10004
    # resolveArrayParam (also arValues)
    a = await add(ok, "contact", phones=("+79991234567",))
    for values_key in ("values", "VALUES", "Values", "arValues"):
        result = await ok(FIND, {key: type_value, values_key: ["89991234567"]})
        assert result == {"CONTACT": [a]}


async def test_values_must_be_an_array(rest: Rest) -> None:
    # restservice.php:10004-10008: a single string is not an array
    status, body = await rest(FIND, {"type": "PHONE", "values": "79991234567"}, form=True)
    assert (status, body["error_description"]) == (400, "Communication values is not defined.")


async def test_non_string_and_empty_values_are_skipped(ok: Ok) -> None:
    # restservice.php:10024-10027: a JSON number is no string
    a = await add(ok, "contact", phones=("79991234567",))
    assert await ok(FIND, {"type": "PHONE", "values": [79991234567, ""]}) == []
    assert await ok(FIND, {"type": "PHONE", "values": [79991234567, "79991234567"]}) == {
        "CONTACT": [a]
    }


async def test_twenty_counted_values_the_rest_ignored(ok: Ok) -> None:
    # restservice.php:10053-10057: the 21st distinct value is not searched
    a = await add(ok, "contact", phones=("5550021",))
    values = [f"55500{i:02d}" for i in range(1, 22)]
    assert await ok(FIND, {"type": "PHONE", "values": values}) == []
    assert await ok(FIND, {"type": "PHONE", "values": values[-20:]}) == {"CONTACT": [a]}


async def test_repeated_phones_are_not_counted(ok: Ok) -> None:
    # restservice.php:10030-10044 with equals() (duplicatecommunicationcriterion.php:
    # 821-839): the same number in another spelling is skipped, not counted
    a = await add(ok, "contact", phones=("5550099",))
    repeats = ["+7 999 123-45-67", "89991234567", "79991234567"] * 10
    values = repeats[:3] + [f"55500{i:02d}" for i in range(1, 19)] + ["5550099"]
    assert len({*values}) == 22  # 22 spellings, but 20 distinct numbers
    assert await ok(FIND, {"type": "PHONE", "values": values}) == {"CONTACT": [a]}


async def test_emails_repeat_only_as_written(ok: Ok) -> None:
    # equals() compares e-mails as written: A@x.ru and a@x.ru both count
    a = await add(ok, "contact", emails=("last@x.ru",))
    values = ["A@x.ru", "a@x.ru"] + [f"u{i}@x.ru" for i in range(18)] + ["last@x.ru"]
    assert await ok(FIND, {"type": "EMAIL", "values": values}) == []
    assert await ok(FIND, {"type": "EMAIL", "values": ["a@x.ru", "a@x.ru", *values[2:]]}) == {
        "CONTACT": [a]
    }


async def test_emails_are_trimmed_and_lower_cased_only(ok: Ok) -> None:
    # duplicatecommunicationcriterion.php:268-284
    a = await add(ok, "lead", emails=(" Ivan.Petrov+crm@Example.COM",))
    assert await ok(FIND, {"type": "EMAIL", "values": ["ivan.petrov+crm@example.com "]}) == {
        "LEAD": [a]
    }
    assert await ok(FIND, {"type": "EMAIL", "values": ["ivanpetrov+crm@example.com"]}) == []
    assert await ok(FIND, {"type": "EMAIL", "values": ["ivan.petrov@example.com"]}) == []


@pytest.mark.parametrize(
    ("stored", "searched", "match"),
    [
        ("+7 (999) 123-45-67", "8 999 123 45 67", True),  # tools.php:4967-4970
        ("9991234567", "79991234567", False),  # no country code is added
        ("+8 999 123 45 67", "89991234567", False),  # tools.php:4948-4951
        ("+8 999 123 45 67", "0089991234567", True),
        ("12", "12", True),  # no minimum length (normalizePhone calls it with 1)
        ("123-45", "12345", True),
        ("79991234567 #205", "79991234567", True),  # duplicatecommunicationcriterion.php:309
        ("0049 30 1234567", "49301234567", True),  # tools.php:4959-4962
        ("810 44 20 7946 0958", "44 20 7946 0958", False),  # 81 stays
    ],
)
async def test_phone_codes(ok: Ok, stored: str, searched: str, match: bool) -> None:
    a = await add(ok, "contact", phones=(stored,))
    result = await ok(FIND, {"type": "PHONE", "values": [searched]})
    assert result == ({"CONTACT": [a]} if match else [])


async def test_a_value_without_digits_matches_nothing(ok: Ok) -> None:
    # prepareCode (:286-290): without a code the raw value is searched
    await add(ok, "contact", phones=("call me",))
    assert await ok(FIND, {"type": "PHONE", "values": ["call me"]}) == []


async def test_answer_in_value_order_first_occurrence_kept(ok: Ok) -> None:
    # restservice.php:10060-10089: per type, ids in the order the values found them
    old = await add(ok, "contact", phones=("5550001",))
    new = await add(ok, "contact", phones=("5550002", "5550001"))
    lead = await add(ok, "lead", phones=("5550002",))
    result = await ok(FIND, {"type": "PHONE", "values": ["5550002", "5550001"]})
    assert result == {"LEAD": [lead], "CONTACT": [new, old]}
    assert list(result) == ["LEAD", "CONTACT"]


async def test_twenty_rows_per_value_with_an_entity_type(ok: Ok) -> None:
    # :10047 find($entityTypeID, 20): the limit applies to the one type searched
    cmd = {
        f"c{i}": "crm.contact.add?fields[NAME]=C&fields[PHONE][0][VALUE]=5550042" for i in range(25)
    }
    made = (await ok("batch", {"cmd": cmd}))["result"]
    result = await ok(FIND, {"type": "PHONE", "values": ["5550042"], "entity_type": "CONTACT"})
    assert result == {"CONTACT": [made[f"c{i}"] for i in range(20)]}


async def test_index_follows_updates_and_deletes(ok: Ok) -> None:
    # the index is written when a record is saved (:312-353)
    a = await add(ok, "contact", phones=("5550100",))
    item = (await ok("crm.contact.get", {"id": a}))["PHONE"][0]
    await ok(
        "crm.contact.update",
        {"id": a, "fields": {"PHONE": [{"ID": item["ID"], "VALUE": "5550200"}]}},
    )
    assert await ok(FIND, {"type": "PHONE", "values": ["5550100"]}) == []
    assert await ok(FIND, {"type": "PHONE", "values": ["5550200"]}) == {"CONTACT": [a]}
    await ok("crm.contact.delete", {"id": a})
    assert await ok(FIND, {"type": "PHONE", "values": ["5550200"]}) == []

"""The fast walk of a large base (REST docs: big data): ``crm.contact.list`` ordered by
ID, ``filter[>ID]`` = the last ID seen, ``start=-1``, 50 rows a page, alone or 50 pages
chained in one batch by ``$result[pN][49][ID]``. Every record comes once, in order,
whatever is deleted or merged during the walk; the other filters and orders answer
as before. The portals are seeded in bulk (``Portal.add_many``), then read over HTTP.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from b24.crm import EntityType, MergeStatus
from b24.emulator import errors, listing
from b24.emulator.portal import Portal
from b24.emulator.server import RunningEmulator
from b24.emulator.synthetic import contacts, phone
from b24.phpquery import encode_php_query
from tests.emulator.conftest import Rest

Ok = Callable[..., Awaitable[Any]]
CONTACT = EntityType.CONTACT
PAGE = 50


def seed(emulator: RunningEmulator, count: int) -> list[int]:
    portal = emulator.engine.portal
    assert portal.add_many(CONTACT, contacts(count)) == count
    return portal.records[CONTACT.name].ids()


def walk_params(after: Any, select: list[str] | None = None) -> dict[str, Any]:
    return {
        "order": {"ID": "ASC"},
        "filter": {">ID": after},
        "select": select or ["ID"],
        "start": -1,
    }


def chained_batch(after: int, select: list[str] | None = None) -> dict[str, Any]:
    cmd = {}
    for n in range(PAGE):
        anchor: Any = after if n == 0 else f"$result[p{n - 1}][{PAGE - 1}][ID]"
        cmd[f"p{n}"] = "crm.contact.list?" + encode_php_query(walk_params(anchor, select))
    return {"halt": 0, "cmd": cmd}


async def page_after(rest: Rest, after: int) -> list[int]:
    status, body = await rest("crm.contact.list", walk_params(after))
    assert status == 200, body
    assert "total" not in body and "next" not in body  # start=-1: no count
    assert len(body["result"]) <= PAGE
    return [int(row["ID"]) for row in body["result"]]


async def test_fast_walk_returns_every_record_once_in_id_order(
    emulator: RunningEmulator, ok: Ok, rest: Rest
) -> None:
    portal = emulator.engine.portal
    seed(emulator, 1234)
    portal.add_many(CONTACT, [{"ID": 5000, "NAME": "Far"}, {"ID": 3000, "NAME": "Between"}])
    added = await ok("crm.contact.add", {"fields": {"NAME": "Live"}})
    expected = [*range(1, 1235), 3000, 5000, added]
    assert added == 5001

    seen: list[int] = []
    after = 0
    while True:
        ids = await page_after(rest, after)
        seen += ids
        if len(ids) < PAGE:
            break
        after = ids[-1]
    assert seen == expected


async def test_fast_walk_across_deletes_merges_and_adds(
    emulator: RunningEmulator, ok: Ok, rest: Rest
) -> None:
    seed(emulator, 500)
    seen = await page_after(rest, 0)
    assert seen == list(range(1, 51))
    # Between pages: the anchor itself, a record behind and one ahead are deleted, two
    # records ahead are merged (the second goes), a new record is added.
    for gone in (50, 10, 75):
        assert await ok("crm.contact.delete", {"id": gone}) is True
    await ok("crm.contact.update", {"id": 101, "fields": {"NAME": "Anna", "LAST_NAME": "Orlova"}})
    await ok("crm.contact.update", {"id": 100, "fields": {"NAME": "Anna", "LAST_NAME": "Orlova"}})
    merged = await ok(
        "crm.entity.mergeBatch", {"params": {"entityTypeId": 3, "entityIds": [100, 101]}}
    )
    assert merged["STATUS"] == MergeStatus.SUCCESS, merged
    new_id = await ok("crm.contact.add", {"fields": {"NAME": "Late"}})

    after = seen[-1]
    pages = 0
    while True:
        ids = await page_after(rest, after)
        seen += ids
        pages += 1
        if pages == 2:  # more than a page's worth ahead goes at once
            deletes = {f"d{i}": f"crm.contact.delete?id={i}" for i in range(200, 261)}
            for chunk in (dict(list(deletes.items())[:PAGE]), dict(list(deletes.items())[PAGE:])):
                result = await ok("batch", {"cmd": chunk})
                assert result["result_error"] == []
        if len(ids) < PAGE:
            break
        after = ids[-1]

    gone = {75, 101, *range(200, 261)}
    assert seen == [*range(1, 51), *(i for i in range(51, 501) if i not in gone), new_id]
    assert new_id == 501


async def test_fifty_pages_chained_in_one_batch(
    emulator: RunningEmulator, ok: Ok, rest: Rest
) -> None:
    ids = seed(emulator, 2600)
    for gone in range(7, 2600, 97):
        await ok("crm.contact.delete", {"id": gone})
    alive = [i for i in ids if (i - 7) % 97 != 0 or i < 7]

    first = await ok("batch", chained_batch(0))
    assert first["result_error"] == []
    assert first["result_total"] == [] and first["result_next"] == []  # start=-1
    pages = [[int(row["ID"]) for row in first["result"][f"p{n}"]] for n in range(PAGE)]
    assert all(len(page) == PAGE for page in pages)
    walked = list(itertools.chain.from_iterable(pages))
    assert walked == alive[: PAGE * PAGE]

    # The anchor of the next batch and records ahead of it go before it runs.
    anchor = walked[-1]
    ahead = [i for i in alive if i > anchor][:30:3]
    for gone in (anchor, *ahead):
        await ok("crm.contact.delete", {"id": gone})
    second = await ok("batch", chained_batch(anchor))
    assert second["result_error"] == []
    pages = [[int(row["ID"]) for row in second["result"][f"p{n}"]] for n in range(PAGE)]
    walked += itertools.chain.from_iterable(pages)
    # Past the last full page the reference [49][ID] has nothing to point at: empty pages.
    assert [len(page) for page in pages if len(page) < PAGE][1:] == [0] * (PAGE - 2)
    assert walked == [i for i in alive if i not in ahead]


async def test_a_twenty_thousand_record_portal_walked_completely(
    emulator: RunningEmulator, ok: Ok
) -> None:
    count = 20_000
    assert seed(emulator, count) == list(range(1, count + 1))
    select = ["ID", "NAME", "LAST_NAME", "PHONE", "EMAIL"]
    rows: list[dict[str, Any]] = []
    after = 0
    while True:
        result = await ok("batch", chained_batch(after, select))
        assert result["result_error"] == []
        batch = [row for n in range(PAGE) for row in result["result"][f"p{n}"]]
        rows += batch
        if len(batch) < PAGE * PAGE:
            break
        after = int(batch[-1]["ID"])
    assert [int(row["ID"]) for row in rows] == list(range(1, count + 1))
    shown = await ok("crm.contact.get", {"id": 12_345})
    assert rows[12_344] == {code: shown[code] for code in select}
    assert [item["VALUE"] for item in rows[12_344]["PHONE"]] == [phone(12_345), phone(12_345, 1)]


async def test_bulk_seeded_records_are_found_by_communication(
    emulator: RunningEmulator, ok: Ok
) -> None:
    seed(emulator, 1000)
    digits = "".join(c for c in phone(321, 1) if c.isdigit())
    found = await ok(
        "crm.duplicate.findbycomm", {"type": "PHONE", "values": [digits], "entity_type": "CONTACT"}
    )
    assert found == {"CONTACT": [321]}
    email = emulator.engine.portal.raw(CONTACT, 322)["EMAIL"][0]["VALUE"]
    found = await ok(
        "crm.duplicate.findbycomm",
        {"type": "EMAIL", "values": [email.upper()], "entity_type": "CONTACT"},
    )
    assert found == {"CONTACT": [322]}
    await ok("crm.contact.delete", {"id": 321})
    found = await ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": [digits]})
    assert found == []


def test_add_many_stores_what_add_stores() -> None:
    fields = [
        {"NAME": "Anna", "PHONE": [{"VALUE": "+7 999 000-00-01", "VALUE_TYPE": "MOBILE"}]},
        {
            "ID": 7,
            "NAME": "Boris",
            "DATE_CREATE": "2024-01-02T03:04:05+03:00",
            "EMAIL": {"a": {"VALUE": "b@x.io"}},
        },
        {
            "NAME": "Clara",
            "POST": "Buyer",
            "IM": [{"VALUE": "c", "VALUE_TYPE": "IMOL"}],
            "UNKNOWN": 1,
        },
    ]
    one_by_one, bulk = Portal(clock=lambda: 1.7e9), Portal(clock=lambda: 1.7e9)
    events: list[str] = []
    bulk.listeners.append(lambda event, entity, entity_id: events.append(event))
    for record in fields:
        one_by_one.add(CONTACT, record, seed=True, announce=False)
    assert bulk.add_many(CONTACT, fields) == 3
    assert events == []
    assert bulk.records["CONTACT"].ids() == [1, 7, 8]
    for entity_id in (1, 7, 8):
        assert bulk.get(CONTACT, entity_id) == one_by_one.get(CONTACT, entity_id)
    assert bulk.add(CONTACT, {"NAME": "Next"}) == 9
    try:
        bulk.add_many(CONTACT, [{"ID": 7}])
    except errors.RestError as exc:
        assert "taken" in exc.description
    else:
        raise AssertionError("a taken ID was seeded twice")


async def test_other_filters_and_orders_answer_as_before(
    emulator: RunningEmulator, ok: Ok, rest: Rest
) -> None:
    names = ["Anna", "Boris", "Ivan", "Dana", "Roman"]
    emulator.engine.portal.add_many(
        CONTACT,
        (
            {
                "NAME": names[i % 5],
                "DATE_CREATE": f"2024-01-{1 + i % 28:02d}T10:00:00+03:00",
                "POST": "Buyer" if i % 4 == 0 else None,
            }
            for i in range(1, 131)
        ),
    )
    name_of = {i: names[i % 5] for i in range(1, 131)}

    async def ids(params: dict[str, Any]) -> tuple[list[int], Any, Any]:
        status, body = await rest("crm.contact.list", params)
        assert status == 200, body
        return [int(r["ID"]) for r in body["result"]], body.get("total"), body.get("next")

    # Another order: every record tested and sorted, paged by start with total and next.
    matching = sorted(
        (i for i in name_of if "an" in name_of[i].lower()), key=lambda i: name_of[i], reverse=True
    )
    order = {"NAME": "DESC", "ID": "ASC"}
    assert await ids({"order": order, "filter": {"%NAME": "an"}}) == (matching[:50], 104, 50)
    assert await ids({"order": order, "filter": {"%NAME": "an"}, "start": 100}) == (
        matching[100:],
        104,
        None,
    )
    by_date = await ids(
        {"order": {"DATE_CREATE": "DESC", "ID": "DESC"}, "filter": {">=DATE_CREATE": "2024-01-27"}}
    )
    assert by_date[:2] == ([111, 83, 55, 27, 110, 82, 54, 26], 8)
    # Ordered by ID: ranges, lists, other filters beside them, counts.
    assert await ids(
        {"order": {"ID": "DESC"}, "filter": {">=ID": 10, "<=ID": 20, "!NAME": "Anna"}}
    ) == (
        [i for i in range(20, 9, -1) if i % 5 != 0],
        8,
        None,
    )
    assert await ids({"filter": {"@ID": [5, "3", 99999, "x"]}}) == ([3, 5], 2, None)
    assert await ids({"filter": {"ID": "7"}}) == ([7], 1, None)
    assert await ids({"filter": {"ID": 7.5}}) == ([], 0, None)
    assert await ids({"filter": {">ID": "abc"}}) == ([], 0, None)
    assert await ids({"filter": {"<ID": 5, ">ID": 2, ">=ID": 1}, "start": -1}) == (
        [3, 4],
        None,
        None,
    )
    assert await ids({"filter": {"POST": "Buyer", ">ID": 100}, "start": -1}) == (
        [104, 108, 112, 116, 120, 124, 128],
        None,
        None,
    )
    assert await ids({"start": 50}) == (list(range(51, 101)), 130, 100)
    await ok("crm.contact.delete", {"id": 60})
    assert await ids({"start": 50}) == ([*range(51, 60), *range(61, 102)], 129, 100)


def test_the_id_walk_and_the_full_scan_agree() -> None:
    """Every combination of ID bounds, ID lists, another filter, order and start gives the
    rows the full scan gives (the code before the ID index)."""
    portal = Portal()
    portal.add_many(CONTACT, ({"NAME": ("Anna", "Boris")[i % 2]} for i in range(120)))
    for gone in range(3, 120, 7):
        portal.delete(CONTACT, gone)
    store = portal.records[CONTACT.name]
    bounds = [{}, {">ID": 10}, {">=ID": "10"}, {"<ID": 90.5}, {"<=ID": 90, ">ID": 40}, {">ID": "x"}]
    lists = [
        {},
        {"@ID": [1, 3, 50, 51, 200]},
        {"ID": 52},
        {"ID": [52, 53]},
        {"@ID": [1, 50, 52], "ID": [50, 51, 52]},
        {"!ID": 5},
    ]
    others = [{}, {"NAME": "Anna"}, {"%NAME": "or"}]
    for bound, id_list, other, direction, start in itertools.product(
        bounds, lists, others, ("ASC", "DESC"), (-1, 0, 50)
    ):
        flt = {**bound, **id_list, **other}
        params = {"order": {"ID": direction}, "filter": flt, "start": start, "select": ["ID"]}
        page = listing.list_records(CONTACT, store, params, user_fields=[], tz=portal.tz)
        total, rows = listing._scan(
            CONTACT, store.values(), flt, {"ID": direction}, portal.tz, max(start, 0), PAGE
        )
        assert [r["ID"] for r in page.rows] == [r["ID"] for r in rows], params
        assert page.total == (None if start < 0 else total), params

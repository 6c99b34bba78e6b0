"""``b24-dedupe fields list|available|add|remove``: the portal's duplicate-search fields.

Bitrix24's own duplicate search (the UI scan) compares names, phones, e-mails and
requisites, plus up to seven more fields registered through
``crm.duplicate.volatileType.*`` (Bitrix24 REST docs, CRM > duplicates: volatileType).
These commands show and change that list; b24-dedupe itself decides on phones and
e-mails, so the list matters to the people who run Bitrix24's scan by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import redis.asyncio as aioredis

from b24.client import Bitrix24Client, MethodError
from b24.crm import EntityType
from b24_dedupe.settings import settings_or_exit
from commands.arguments import ENTITY_CHOICES
from commands.output import as_json, table
from commands.session import Refusal, run_with_portal

# docs (crm.duplicate.volatileType.register): "A total of 7 custom fields can be
# registered", for leads, contacts and companies together.
FIELD_LIMIT = 7
HEADERS = {"fieldCode": "FIELD", "fieldTitle": "TITLE", "inUse": "IN USE AS"}


def _entity(type_id: Any) -> str:
    """``3`` → ``contact``: how the command names a record type."""
    try:
        known = EntityType.by_type_id(int(type_id))
    except (TypeError, ValueError):
        return str(type_id)
    return known.value.lower() if known is not None else str(type_id)


async def _available(client: Bitrix24Client, entity: str | None = None) -> list[dict[str, Any]]:
    params = {"entityTypeId": EntityType.parse(entity).type_id} if entity else {}
    rows = await client.call("crm.duplicate.volatileType.fields", params)
    return [
        {"entity": _entity(row.get("entityTypeId")), **row}
        for row in rows or []
        if isinstance(row, dict)
    ]


async def _registered(client: Bitrix24Client) -> list[dict[str, Any]]:
    """The registered fields, each with its title from ``volatileType.fields``."""
    rows, offered = await asyncio.gather(
        client.call("crm.duplicate.volatileType.list"), _available(client)
    )
    titles = {
        (str(o.get("entityTypeId")), o.get("fieldCode")): o.get("fieldTitle") for o in offered
    }
    return [
        {
            "id": row.get("id"),
            "entity": _entity(row.get("entityTypeId")),
            "entityTypeId": row.get("entityTypeId"),
            "fieldCode": row.get("fieldCode"),
            "fieldTitle": titles.get((str(row.get("entityTypeId")), row.get("fieldCode")), ""),
        }
        for row in rows or []
        if isinstance(row, dict)
    ]


def _usage(used: int) -> str:
    return f"{used} of {FIELD_LIMIT} fields in use (leads, contacts and companies together)"


async def show_registered(client: Bitrix24Client, as_json_output: bool) -> int:
    fields = await _registered(client)
    if as_json_output:
        print(as_json({"limit": FIELD_LIMIT, "used": len(fields), "fields": fields}))
        return 0
    if fields:
        print(table(fields, ("id", "entity", "fieldCode", "fieldTitle"), HEADERS))
    else:
        print("no fields registered for duplicate search")
    print(_usage(len(fields)))
    return 0


async def show_available(client: Bitrix24Client, entity: str | None, as_json_output: bool) -> int:
    offered, fields = await asyncio.gather(_available(client, entity), _registered(client))
    in_use = {(f["entity"], f["fieldCode"]): f["id"] for f in fields}
    rows = [{**row, "inUse": in_use.get((row["entity"], row.get("fieldCode")))} for row in offered]
    if as_json_output:
        print(as_json(rows))
        return 0
    print(table(rows, ("entity", "fieldCode", "fieldTitle", "inUse"), HEADERS))
    print(_usage(len(fields)))
    return 0


async def add_field(client: Bitrix24Client, entity: str, code: str) -> int:
    offered, fields = await asyncio.gather(_available(client, entity), _registered(client))
    by_code = {str(row.get("fieldCode")).upper(): row for row in offered}
    field = by_code.get(code.upper())
    if field is None:
        raise Refusal(
            f"{code} is not offered for the duplicate search of {entity}s; "
            f"`b24-dedupe fields available --entity {entity}` lists the fields"
        )
    code, title = str(field["fieldCode"]), field.get("fieldTitle") or ""
    for registered in fields:
        if registered["entity"] == entity and registered["fieldCode"] == code:
            print(f"{entity} {code} ({title}) is already in use as ID {registered['id']}")
            return 0
    if len(fields) >= FIELD_LIMIT:
        print(
            f"all {FIELD_LIMIT} fields are in use; remove one first "
            "(`b24-dedupe fields list` shows their IDs, `b24-dedupe fields remove ID`)",
            file=sys.stderr,
        )
        return 1
    try:
        result = await client.call(
            "crm.duplicate.volatileType.register",
            {"entityTypeId": EntityType.parse(entity).type_id, "fieldCode": code},
        )
    except MethodError as exc:
        print(f"the portal refused to add {entity} {code}: {exc}", file=sys.stderr)
        return 1
    new_id = result.get("id") if isinstance(result, dict) else result
    print(f"added {entity} {code} ({title}) as ID {new_id}; {_usage(len(fields) + 1)}")
    return 0


async def remove_field(client: Bitrix24Client, field_id: int) -> int:
    fields = {int(f["id"]): f for f in await _registered(client) if str(f["id"]).isdigit()}
    field = fields.get(field_id)
    if field is None:
        raise Refusal(
            f"no field in the duplicate search has ID {field_id}; "
            "`b24-dedupe fields list` shows their IDs"
        )
    try:
        await client.call("crm.duplicate.volatileType.unregister", {"id": field_id})
    except MethodError as exc:
        print(f"the portal refused to remove ID {field_id}: {exc}", file=sys.stderr)
        return 1
    print(
        f"removed ID {field_id} ({field['entity']} {field['fieldCode']}); {_usage(len(fields) - 1)}"
    )
    return 0


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    action = args.action or "list"

    async def work(client: Bitrix24Client, redis: aioredis.Redis) -> int:
        if action == "available":
            return await show_available(client, args.entity, args.json)
        if action == "add":
            return await add_field(client, args.entity, args.field_code)
        if action == "remove":
            return await remove_field(client, args.field_id)
        return await show_registered(client, args.json)

    return run_with_portal(parser, settings, work)


def _field_id(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a field ID (see `fields list`)")
    return int(text)


def register(commands: Any) -> None:
    """Add ``fields`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "fields",
        help="the portal's duplicate-search fields (crm.duplicate.volatileType.*)",
        description="Show, add or remove the extra fields Bitrix24's duplicate search "
        f"compares (at most {FIELD_LIMIT} for leads, contacts and companies together).",
    )
    parser.set_defaults(action="list", json=False, run=lambda a: run(parser, a))
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="the fields in use, with their titles (default)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    available = actions.add_parser("available", help="the fields that can be added")
    available.add_argument("--entity", choices=ENTITY_CHOICES)
    available.add_argument("--json", action="store_true", help="print JSON")
    add = actions.add_parser("add", help="add a field to the duplicate search")
    add.add_argument("entity", choices=ENTITY_CHOICES)
    add.add_argument("field_code", metavar="FIELD_CODE", help="such as UF_CRM_1750854801")
    remove = actions.add_parser("remove", help="remove a field from the duplicate search")
    remove.add_argument("field_id", metavar="ID", type=_field_id, help="its ID in `fields list`")

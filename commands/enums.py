"""``b24-dedupe enums``: the CRM enumerations (``crm.enum.*``) and the multifield
structure (``crm.multifield.fields``), as tables or JSON.

Methods and their answers: the Bitrix24 REST docs (https://apidocs.bitrix24.com/), CRM,
"Enumerations: Overview of Methods" and "Get Description of Multiple Fields". All are read in one
``batch`` request.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from b24.client import Bitrix24Client
from b24_dedupe.settings import settings_or_exit
from commands.output import as_json, columns_of, table
from commands.session import run_with_portal

# name on the command line -> (method, what it lists)
ENUMS: dict[str, tuple[str, str]] = {
    "ownertype": ("crm.enum.ownertype", "CRM object types (entityTypeId)"),
    "addresstype": ("crm.enum.addresstype", "address types"),
    "settings.mode": ("crm.enum.settings.mode", "CRM operation modes"),
    "getorderownertypes": ("crm.enum.getorderownertypes", "object types an order binds to"),
    "activitytype": ("crm.enum.activitytype", "activity types"),
    "activitydirection": ("crm.enum.activitydirection", "activity directions"),
    "activitypriority": ("crm.enum.activitypriority", "activity priorities"),
    "activitynotifytype": ("crm.enum.activitynotifytype", "activity notification types"),
    "activitystatus": ("crm.enum.activitystatus", "activity statuses"),
    "contenttype": ("crm.enum.contenttype", "description types"),
    "fields": ("crm.enum.fields", "fields of an enumeration item"),
    "multifield": ("crm.multifield.fields", "fields of a phone, e-mail, web or IM item"),
}
# The columns of a field description (crm.multifield.fields, crm.enum.fields).
DESCRIPTION_COLUMNS = ("field", "type", "title", "isReadOnly", "isRequired", "isMultiple")
HEADERS = {"isReadOnly": "READ-ONLY", "isRequired": "REQUIRED", "isMultiple": "MULTIPLE"}


def rows_of(result: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """A method's result as table rows and their columns.

    A list of items is shown as it is; an object of field descriptions (``{"ID":
    {"type": …}}``) as one row per field.
    """
    if isinstance(result, Mapping):
        rows = [
            {"field": code, **(desc if isinstance(desc, Mapping) else {"value": desc})}
            for code, desc in result.items()
        ]
        wanted = [c for c in DESCRIPTION_COLUMNS if any(c in row for row in rows)]
        return rows, wanted or columns_of(rows)
    if isinstance(result, list):
        rows = [item if isinstance(item, dict) else {"value": item} for item in result]
        return rows, columns_of(rows)
    return [{"value": result}], ["value"]


async def read(client: Bitrix24Client, names: list[str]) -> dict[str, Any]:
    """``{method: result}`` for ``names``; the calls travel together in one batch."""
    methods = [ENUMS[name][0] for name in names]
    results = await asyncio.gather(*(client.call(method) for method in methods))
    return dict(zip(methods, results, strict=True))


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    names = list(dict.fromkeys(args.names)) or list(ENUMS)

    async def work(client: Bitrix24Client, redis: aioredis.Redis) -> int:
        results = await read(client, names)
        if args.json:
            print(as_json(results))
            return 0
        blocks = []
        for name in names:
            method, what = ENUMS[name]
            rows, columns = rows_of(results[method])
            blocks.append(f"{method}: {what}\n{table(rows, columns, HEADERS)}")
        print("\n\n".join(blocks))
        return 0

    return run_with_portal(parser, settings, work)


def _name(text: str) -> str:
    # Not ``choices``: with nargs="*" argparse (3.11) then refuses an empty list.
    if text not in ENUMS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of: {', '.join(ENUMS)}")
    return text


def register(commands: Any) -> None:
    """Add ``enums`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "enums",
        help="print the CRM enumerations (crm.enum.*) and the multifield structure",
        description="Print crm.enum.* and crm.multifield.fields as tables or JSON. "
        "Without NAME, all of them.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        type=_name,
        help="which to print: " + ", ".join(ENUMS),
    )
    parser.add_argument("--json", action="store_true", help="print JSON, keyed by method")
    parser.set_defaults(run=lambda a: run(parser, a))

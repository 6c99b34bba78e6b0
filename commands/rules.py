"""``b24-dedupe rules``: the field rules in effect, per record type, checked against the portal.

For each field of the portal (``crm.*.fields``, so its own custom fields too): how
Bitrix24's merger treats it, and what the service does when records differ in it —
left to Bitrix24 (it settles the field itself), the identity rules (names, titles),
or the rule of ``MERGE_RULES_FILE`` (``review`` where the file names none). A rules
file that does not fit the portal (an unknown or read-only field, ``join`` on a field
that is not text) is refused with exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import redis.asyncio as aioredis

from b24.client import Bitrix24Client
from b24.crm import EntityType
from b24.predict import treatment
from b24_dedupe.merge_rules import MergeRules, RulesError, check_against_fields, load_rules
from b24_dedupe.settings import Settings, settings_or_exit
from commands.arguments import ENTITY_CHOICES
from commands.output import table
from commands.session import Refusal, run_with_portal
from worker.identity import NAME_FIELDS

# How Bitrix24 treats a field when the service has nothing to add (b24.predict.treatment).
SETTLED_BY_BITRIX24 = frozenset({"not compared", "united", "joined", "survivor keeps its own"})


def rules_or_exit(parser: argparse.ArgumentParser, settings: Settings) -> MergeRules:
    """The rules of MERGE_RULES_FILE; exit 2 with the reason when the file is wrong."""
    try:
        return load_rules(settings.merge_rules_file)
    except RulesError as exc:
        parser.error(str(exc))


def effective(
    rules: MergeRules, entity: EntityType, fields: dict[str, Any], language: str
) -> list[dict[str, str]]:
    rows = []
    named = rules.named(entity)
    for code, info in fields.items():
        if not isinstance(info, dict):
            continue
        how = treatment(entity, code, info, language)
        if code in named:
            rule = f"{named[code]} (rules file)"
        elif how in SETTLED_BY_BITRIX24:
            rule = "left to Bitrix24"
        elif code in NAME_FIELDS[entity]:
            rule = "identity rules (names)"
        else:
            rule = f"{rules.rule_for(entity, code)} (default)"
        title = str(info.get("formLabel") or info.get("title") or "")
        rows.append({"FIELD": code, "TITLE": title, "BITRIX24": how, "RULE": rule})
    return rows


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    rules = rules_or_exit(parser, settings)
    entities = [EntityType.parse(args.type)] if args.type else list(EntityType)

    async def work(client: Bitrix24Client, redis: aioredis.Redis) -> int:
        answers = await asyncio.gather(*(client.call(e.methods.fields) for e in entities))
        problems: list[str] = []
        tables = {}
        for entity, fields in zip(entities, answers, strict=True):
            problems += check_against_fields(rules, entity, fields)
            tables[entity] = effective(rules, entity, fields, settings.portal_language)
        if problems:
            raise Refusal("; ".join(problems))
        if args.json:
            print(json.dumps({e.value.lower(): rows for e, rows in tables.items()}, indent=2))
            return 0
        print(f"rules: {rules.source}")
        for entity, rows in tables.items():
            print(f"\n[{entity.value.lower()}]")
            print(table(rows, ["FIELD", "TITLE", "BITRIX24", "RULE"]))
        return 0

    return run_with_portal(parser, settings, work)


def register(commands: Any) -> None:
    """Add ``rules`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "rules",
        help="the field rules in effect per record type, checked against the portal",
        description="Print, per record type, every field of the portal, how Bitrix24's "
        "merger treats it and which rule settles a difference in it (MERGE_RULES_FILE). "
        "Exit 2 when the rules file does not fit the portal.",
    )
    parser.add_argument("--type", choices=ENTITY_CHOICES)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=lambda a: run(parser, a))

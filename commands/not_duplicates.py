"""``b24-dedupe not-duplicates``: records or values never to be merged."""

from __future__ import annotations

import argparse
from typing import Any

import redis.asyncio as aioredis

from b24.crm import EntityType
from b24_dedupe.keys import Keys
from b24_dedupe.settings import settings_or_exit
from commands.arguments import ENTITY_CHOICES, positive_id
from commands.session import run_with_redis
from worker.communications import EMAIL, PHONE, Communication, EvidenceRules
from worker.not_duplicates import NotDuplicates


def run_not_duplicates(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    rules = EvidenceRules.build(settings.default_region, [], [])

    def value() -> Communication:
        if bool(args.phone) == bool(args.email):
            parser.error("give exactly one of --phone or --email")
        if args.phone:
            normalised = rules.normalise(PHONE, args.phone)
            if not normalised:
                parser.error(f"{args.phone!r} holds no digits")
            return Communication(PHONE, normalised)
        if "@" not in args.email:
            parser.error(f"{args.email!r} is not an e-mail address")
        return Communication(EMAIL, rules.normalise(EMAIL, args.email))

    async def work(redis: aioredis.Redis) -> int:
        store = NotDuplicates(redis, Keys(settings.redis_prefix))
        if args.action in ("add", "remove"):
            entity = EntityType.parse(args.entity)
            if args.first == args.second:
                parser.error("a pair needs two different IDs")
            change = store.add_pair if args.action == "add" else store.remove_pair
            done = await change(entity, args.first, args.second)
            print(
                f"{args.action} {args.entity} {args.first} {args.second}: "
                f"{'done' if done else 'nothing to change'}"
            )
        elif args.action in ("add-value", "remove-value"):
            comm = value()
            change_value = store.add_value if args.action == "add-value" else store.remove_value
            done = await change_value(comm)
            print(f"{args.action} {comm}: {'done' if done else 'nothing to change'}")
        else:
            for pair in await store.all_pairs():
                print(f"pair   {pair}")
            for item in sorted(await store.values()):
                print(f"value  {item}")
        return 0

    return run_with_redis(parser, settings, work)


def register(commands: Any) -> None:
    """Add ``not-duplicates`` to the ``b24-dedupe`` parser."""
    nd = commands.add_parser(
        "not-duplicates",
        help="records or values never to be merged",
        description="The portal-level list of pairs and values that "
        "are not evidence of one customer.",
    )
    nd_actions = nd.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name in ("add", "remove"):
        pair = nd_actions.add_parser(name, help=f"{name} a pair of records")
        pair.add_argument("entity", choices=ENTITY_CHOICES)
        pair.add_argument("first", type=positive_id)
        pair.add_argument("second", type=positive_id)
    for name in ("add-value", "remove-value"):
        item = nd_actions.add_parser(name, help=f"{name.split('-')[0]} a phone or e-mail")
        item.add_argument("--phone")
        item.add_argument("--email")
    nd_actions.add_parser("list", help="the pairs and values")
    nd.set_defaults(run=lambda a: run_not_duplicates(nd, a))

"""``b24-dedupe emulator``: serve an emulated portal until interrupted."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from b24.emulator.config import EmulatorConfig
from b24.emulator.seed import SeedError, read_seed
from b24.emulator.server import running_emulator
from b24_dedupe.signals import until_stopped


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--secret", required=True, help="the inbound webhook's secret")
    parser.add_argument("--user-id", type=int, default=1)
    parser.add_argument("--rps", type=float, default=2.0, help="leaky bucket drain rate")
    parser.add_argument("--burst", type=int, default=50, help="leaky bucket size")
    parser.add_argument(
        "--operating-limit",
        type=float,
        default=420.0,
        help="seconds of execution per method in 10 minutes (the Bitrix24 source's 420)",
    )
    parser.add_argument("--operating-window", type=float, default=600.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--method-time",
        action="append",
        default=[],
        metavar="METHOD=SECONDS",
        help="simulated execution time of a method (repeatable)",
    )
    parser.add_argument(
        "--realtime", action="store_true", help="sleep for the simulated execution time"
    )
    parser.add_argument("--events-url", help="where outbound events are POSTed")
    parser.add_argument(
        "--application-token",
        default="",
        help="the outbound webhook's application token sent with events",
    )
    parser.add_argument("--seed", help="JSON file of records to start with")
    parser.add_argument("--utc-offset", default="+03:00", help="the portal's time zone")
    parser.add_argument(
        "--language",
        choices=("ru", "en"),
        default="ru",
        help="the portal's language: the merger's transliteration table and placeholder names",
    )


def config_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> EmulatorConfig:
    config = EmulatorConfig(
        secret=args.secret,
        user_id=args.user_id,
        rps=args.rps,
        burst=args.burst,
        operating_limit=args.operating_limit,
        operating_window=args.operating_window,
        realtime=args.realtime,
        events_url=args.events_url,
        application_token=args.application_token,
        utc_offset=args.utc_offset,
        language=args.language,
    )
    if not args.secret.strip() or "/" in args.secret:
        parser.error("--secret must be a non-empty string without '/'")
    if args.rps <= 0 or args.burst < 1:
        parser.error("--rps must be positive and --burst at least 1")
    if args.events_url and not args.events_url.startswith(("http://", "https://")):
        parser.error("--events-url must be an http:// or https:// URL")
    for item in args.method_time:
        method, _, seconds = item.partition("=")
        try:
            config.method_times[method.strip().lower()] = float(seconds)
        except ValueError:
            parser.error(f"--method-time takes METHOD=SECONDS, not {item!r}")
    return config


async def serve(config: EmulatorConfig, host: str, port: int, seed_path: str | None) -> None:
    seed = read_seed(seed_path) if seed_path else None
    async with running_emulator(config, host=host, port=port, seed=seed) as emulator:
        print(f"Bitrix24 emulator: inbound webhook {emulator.webhook_url}", flush=True)
        await until_stopped()


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    config = config_from_args(parser, args)
    try:
        asyncio.run(serve(config, args.host, args.port, args.seed))
    except SeedError as exc:
        parser.error(str(exc))
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    return 0


def register(commands: Any) -> None:
    """Add ``emulator`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "emulator",
        help="serve an emulated Bitrix24 portal (for tests, benchmarks, the demo)",
        description="Serve an emulated Bitrix24 portal on HOST:PORT.",
    )
    add_arguments(parser)
    parser.set_defaults(run=lambda args: run(parser, args))

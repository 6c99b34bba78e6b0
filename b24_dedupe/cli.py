"""The ``b24-dedupe`` command: one entry point for every process of the service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from b24.emulator import cli as emulator_cli
from b24_dedupe import serve
from b24_dedupe.admin import doctor, enums, fields, restore
from b24_dedupe.demo import main as demo_main
from webhooks_in import main as ingress_main
from worker import cli as worker_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="b24-dedupe",
        description="Keeps a Bitrix24 CRM free of duplicate leads, contacts and companies.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    emulator = commands.add_parser(
        "emulator",
        help="serve an emulated Bitrix24 portal (for tests, benchmarks, the demo)",
        description="Serve an emulated Bitrix24 portal on HOST:PORT.",
    )
    emulator_cli.add_arguments(emulator)
    emulator.set_defaults(run=lambda args: emulator_cli.run(emulator, args))
    web = commands.add_parser(
        "web",
        help="serve the webhook ingress (Bitrix24 outbound events -> dedupe jobs)",
        description="Serve POST /webhooks/bitrix24, /healthz, /readyz and /metrics on HOST:PORT. "
        "Configuration comes from the environment (B24_APPLICATION_TOKEN, REDIS_URL, "
        "REDIS_PREFIX, DEBOUNCE_SECONDS, MAX_BODY_BYTES, LOG_LEVEL, LOG_FORMAT).",
    )
    ingress_main.add_arguments(web)
    web.set_defaults(run=lambda args: ingress_main.run(web, args))
    worker_cli.register(commands)
    doctor.register(commands)
    fields.register(commands)
    enums.register(commands)
    restore.register(commands)
    serve_parser = commands.add_parser(
        "serve",
        help="ingress and worker in one process (a small portal, `make run`)",
        description="Serve the ingress and run a worker in one process until Ctrl-C.",
    )
    serve.add_arguments(serve_parser)
    serve_parser.set_defaults(run=lambda args: serve.run(serve_parser, args))
    demo = commands.add_parser(
        "demo",
        help="the service against a seeded emulated portal, with live changes",
        description="Start an emulated portal with duplicates and traps, the ingress and a "
        "worker, and feed the portal changes. Ctrl-C stops everything.",
    )
    demo_main.add_arguments(demo)
    demo.set_defaults(run=lambda args: demo_main.run(demo, args))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

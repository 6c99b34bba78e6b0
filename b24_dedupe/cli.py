"""The ``b24-dedupe`` command: one entry point for every process of the service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from b24.emulator import cli as emulator_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="b24-dedupe",
        description="Keeps a Bitrix24 CRM free of duplicate leads, contacts and companies.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    emulator = commands.add_parser(
        "emulator", help="serve an emulated Bitrix24 portal (for tests, benchmarks, the demo)",
        description="Serve an emulated Bitrix24 portal on HOST:PORT.")
    emulator_cli.add_arguments(emulator)
    emulator.set_defaults(run=lambda args: emulator_cli.run(emulator, args))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

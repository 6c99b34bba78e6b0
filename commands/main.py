"""The ``b24-dedupe`` command: one entry point for every process and tool of the service.

Each subcommand is a module of this package with ``register(commands)``, which adds
its parser and sets ``run`` to a function of the parsed arguments returning the exit
code. This package is the top layer: it alone imports the services (``webhooks_in``,
``worker``) and the emulator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from b24_dedupe.settings import exit_with
from commands import (
    audit,
    doctor,
    emulator,
    enums,
    fields,
    not_duplicates,
    restore,
    review,
    rules,
    scan,
    serve,
    web,
    worker,
)
from commands.demo import main as demo

# In the order `b24-dedupe --help` lists them.
SUBCOMMANDS = (
    emulator,
    web,
    worker,
    scan,
    audit,
    not_duplicates,
    review,
    rules,
    doctor,
    fields,
    enums,
    restore,
    serve,
    demo,
)


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line: ``b24-dedupe audit: error: argument
    --limit: must be at least 1, not -5 (see b24-dedupe audit --help)``. The
    subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        exit_with(self, f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="b24-dedupe",
        description="Keeps a Bitrix24 CRM free of duplicate leads, contacts and companies.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

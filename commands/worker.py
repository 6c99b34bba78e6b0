"""``b24-dedupe worker``: process dedupe jobs from Redis until stopped."""

from __future__ import annotations

import argparse
from typing import Any

from arq.worker import Worker as ArqWorker

from b24_dedupe.settings import settings_or_exit
from commands.session import needs_portal
from worker.app import run_until_stopped, worker_options


def run_worker(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    needs_portal(parser, settings)
    options = worker_options(settings)
    if args.burst:
        options["burst"] = True
        options["poll_delay"] = 0.1
    run_until_stopped(ArqWorker(**options))
    return 0


def register(commands: Any) -> None:
    """Add ``worker`` to the ``b24-dedupe`` parser."""
    worker = commands.add_parser(
        "worker",
        help="run a dedupe worker (arq)",
        description="Process dedupe jobs from Redis until stopped.",
    )
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(run=lambda a: run_worker(worker, a))

"""``b24-dedupe web``: serve the webhook ingress until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from b24_dedupe.logs import configure_from_settings
from b24_dedupe.settings import exit_with, settings_or_exit
from webhooks_in.server import serve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: WEB_HOST, 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to listen on (default: WEB_PORT, 8080)")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Read the settings, check them, serve. Configuration errors exit 2 with one line."""
    if args.port is not None and not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.host is not None and not args.host.strip():
        parser.error("--host must not be empty")
    settings = settings_or_exit(parser)
    if not settings.application_tokens():
        exit_with(
            parser,
            "B24_APPLICATION_TOKEN is not set: without it every event would be refused (401). "
            "Set it to the outbound webhook's application token (comma-separated to rotate).",
        )
    host = args.host if args.host is not None else settings.web_host
    port = args.port if args.port is not None else settings.web_port
    configure_from_settings(settings)
    try:
        asyncio.run(serve(settings, host, port))
    except OSError as exc:
        exit_with(parser, f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return 0


def register(commands: Any) -> None:
    """Add ``web`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "web",
        help="serve the webhook ingress (Bitrix24 outbound events -> dedupe jobs)",
        description="Serve POST /webhooks/bitrix24, /healthz, /readyz and /metrics on HOST:PORT. "
        "Configuration comes from the environment (B24_APPLICATION_TOKEN, REDIS_URL, "
        "REDIS_PREFIX, DEBOUNCE_SECONDS, MAX_BODY_BYTES, LOG_LEVEL, LOG_FORMAT).",
    )
    add_arguments(parser)
    parser.set_defaults(run=lambda args: run(parser, args))

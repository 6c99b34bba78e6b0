"""``b24-dedupe review`` (and ``review serve``): the review page, a web service.

Separate from the ingress and never on its port; it binds to 127.0.0.1 unless told
otherwise (``REVIEW_HOST``, ``--host``) and refuses to start without
``REVIEW_PASSWORD``. docs/operations.md shows it behind a reverse proxy with TLS.
"""

from __future__ import annotations

import argparse
import asyncio

from b24_dedupe.logs import configure, settings_secrets
from b24_dedupe.merge_rules import RulesError
from b24_dedupe.settings import exit_with, settings_or_exit
from review_web.config import ConfigurationError, ReviewConfig
from review_web.server import serve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", help="address to listen on (default: REVIEW_HOST, 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, help="port to listen on (default: REVIEW_PORT, 8081)")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.port is not None and not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.host is not None and not args.host.strip():
        parser.error("--host must not be empty")
    settings = settings_or_exit(parser)
    try:
        config = ReviewConfig.from_settings(settings)
    except (ConfigurationError, RulesError) as exc:
        exit_with(parser, str(exc))
    host = args.host if args.host is not None else settings.review_host
    port = args.port if args.port is not None else settings.review_port
    if port == settings.web_port and port != 0:
        exit_with(
            parser,
            f"the review page must not share the ingress's port {port} (WEB_PORT): "
            "set REVIEW_PORT to another",
        )
    assert settings.review_password is not None  # ReviewConfig refused it otherwise
    configure(
        settings.log_level,
        settings.log_format,
        secrets=[*settings_secrets(settings), settings.review_password.get_secret_value()],
        personal_data=settings.log_personal_data,
    )
    try:
        asyncio.run(serve(settings, config, host, port))
    except OSError as exc:
        exit_with(parser, f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return 0

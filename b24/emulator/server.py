"""Running the emulator inside another program (tests, benchmarks, the demo)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from b24.emulator.app import create_app
from b24.emulator.config import EmulatorConfig
from b24.emulator.engine import Engine
from b24.emulator.state import ENGINE


@dataclass
class RunningEmulator:
    app: web.Application
    config: EmulatorConfig
    host: str
    port: int

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def webhook_url(self) -> str:
        """The inbound webhook base URL, as a portal shows it (secret included)."""
        return f"{self.root}/rest/{self.config.user_id}/{self.config.secret}/"

    @property
    def engine(self) -> Engine:
        return self.app[ENGINE]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def running_emulator(
    config: EmulatorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: dict[str, Any] | None = None,
) -> AsyncIterator[RunningEmulator]:
    """Serve an emulator on ``host:port`` (a free port when 0) for the ``with`` block."""
    port = port or free_port(host)
    app = create_app(config, seed=seed, public_url=f"http://{host}:{port}/")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        yield RunningEmulator(app, config, host, port)
    finally:
        await runner.cleanup()

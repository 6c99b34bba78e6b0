"""Waiting for SIGINT or SIGTERM: how every long-running command of the service stops."""

from __future__ import annotations

import asyncio
import contextlib
import signal


async def until_stopped() -> None:
    """Return once the process is asked to stop (Ctrl-C, or SIGTERM from a supervisor)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()

"""What the emulator's HTTP handlers share, as typed application keys."""

from __future__ import annotations

from aiohttp import web

from b24.emulator.config import EmulatorConfig
from b24.emulator.engine import Engine
from b24.emulator.events import EventSender
from b24.emulator.faults import Faults

ENGINE = web.AppKey("engine", Engine)
CONFIG = web.AppKey("config", EmulatorConfig)
FAULTS = web.AppKey("faults", Faults)
# Present only when the emulator sends outbound events (``events_url``).
SENDER = web.AppKey("sender", EventSender)

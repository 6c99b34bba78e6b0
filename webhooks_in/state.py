"""The ingress application's typed state (``web.AppKey``), shared by the factory and views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from b24_dedupe.keys import Keys
from webhooks_in.metrics import IngressMetrics
from webhooks_in.pipelining import AutoPipeline


@dataclass(frozen=True)
class IngressConfig:
    """What the handlers need from the settings, read once."""

    keys: Keys
    tokens: tuple[str, ...]
    debounce_seconds: float
    max_body_bytes: int
    # In a process that also runs the worker (``serve``, the demo): whether its loop
    # runs. ``/readyz`` is 503 while it does not, so that no event is accepted that
    # nothing would process. None for the ingress alone.
    worker_alive: Callable[[], bool] | None = None


CONFIG = web.AppKey("config", IngressConfig)
METRICS = web.AppKey("metrics", IngressMetrics)
PIPELINE = web.AppKey("pipeline", AutoPipeline)

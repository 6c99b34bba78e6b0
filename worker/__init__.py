"""The dedupe worker (arq): ``arq worker.WorkerSettings`` or ``b24-dedupe worker``.

``WorkerSettings`` is built on first access from the environment (PEP 562), so that
importing the package reads no configuration.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "WorkerSettings":
        from b24_dedupe.settings import Settings
        from worker.app import worker_settings_class

        return worker_settings_class(Settings())
    raise AttributeError(f"module 'worker' has no attribute {name!r}")

"""The portal's REST methods by name, and what a method handler receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from b24.emulator.config import EmulatorConfig
from b24.emulator.merge_stats import MergeStats
from b24.emulator.portal import Portal

Params = dict[str, Any]


@dataclass
class VolatileTypes:
    """Fields registered for duplicate search (crm.duplicate.volatileType.*)."""

    registered: dict[int, tuple[int, str]] = field(default_factory=dict)
    next_id: int = 3355  # the docs' example id; any start would do


@dataclass
class Context:
    """What every method handler works on."""

    portal: Portal
    config: EmulatorConfig
    volatile: VolatileTypes = field(default_factory=VolatileTypes)
    # mergeBatch outcomes; the engine shares it with its Stats.
    merges: MergeStats = field(default_factory=MergeStats)


Handler = Callable[[Context, Params], Any]


class Registry:
    """Method names are case-insensitive on a portal; they are kept lower case here."""

    def __init__(self) -> None:
        self._methods: dict[str, Handler] = {}

    def add(self, name: str, handler: Handler) -> None:
        self._methods[name.lower()] = handler

    def method(self, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(name, handler)
            return handler

        return register

    def find(self, name: str) -> Handler | None:
        return self._methods.get(name.lower())

    def names(self) -> list[str]:
        return sorted(self._methods)

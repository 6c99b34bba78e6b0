"""Running REST calls: method dispatch, the operating limit, the ``time`` block, ``batch``.

This module knows nothing of HTTP: :mod:`b24.emulator.app` hands it parsed
parameters and turns its :class:`Outcome` into a response.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from b24.emulator import crm_records, duplicates, enums, errors, volatile
from b24.emulator.config import EmulatorConfig
from b24.emulator.errors import RestError
from b24.emulator.limits import LeakyBucket, OperatingBudget
from b24.emulator.listing import Page
from b24.emulator.portal import Portal
from b24.emulator.registry import Context, Registry
from b24.phpquery import QueryError, parse_php_query

MAX_BATCH_COMMANDS = 50  # facts.md, batch
_REFERENCE = re.compile(r"\$result\[([^\]]*)\]((?:\[[^\]]*\])*)")


class RequestTimedOut(Exception):
    """The simulated time of one request passed the request time limit."""


@dataclass
class Stats:
    """What ``GET /_emulator/stats`` reports."""

    http_requests: int = 0
    batch_requests: int = 0
    commands: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    command_errors: Counter[str] = field(default_factory=Counter)
    dropped_connections: int = 0
    events_sent: int = 0
    events_failed: int = 0
    events_suppressed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "http_requests": self.http_requests,
            "batch_requests": self.batch_requests,
            "commands": dict(self.commands),
            "commands_total": sum(self.commands.values()),
            "refusals": dict(self.refusals),
            "command_errors": dict(self.command_errors),
            "dropped_connections": self.dropped_connections,
            "events": {
                "sent": self.events_sent,
                "failed": self.events_failed,
                "suppressed": self.events_suppressed,
            },
        }


@dataclass
class Outcome:
    """One call's answer: a result (maybe a :class:`Page`) or an error, and its times."""

    result: Any = None
    error: RestError | None = None
    processing: float = 0.0
    operating: float = 0.0
    operating_reset_at: int = 0


def build_registry() -> Registry:
    registry = Registry()
    crm_records.register(registry)
    duplicates.register(registry)
    volatile.register_methods(registry)
    enums.register(registry)
    return registry


class Engine:
    def __init__(self, config: EmulatorConfig, portal: Portal | None = None) -> None:
        self.config = config
        self.portal = portal or Portal(user_id=config.user_id, utc_offset=config.utc_offset)
        self.context = Context(self.portal, config)
        self.registry = build_registry()
        self.bucket = LeakyBucket(config.rps, config.burst)
        self.budget = OperatingBudget(config.operating_limit, config.operating_window)
        self.stats = Stats()

    # -- times ----------------------------------------------------------------
    def method_time(self, method: str) -> float:
        return self.config.method_times.get(method.lower(), self.config.default_method_time)

    def time_block(self, start: float, finish: float, outcome: Outcome) -> dict[str, Any]:
        tz = self.portal.tz
        return {
            "start": start,
            "finish": finish,
            "duration": finish - start,
            "processing": outcome.processing,
            "date_start": datetime.fromtimestamp(start, tz).replace(microsecond=0).isoformat(),
            "date_finish": datetime.fromtimestamp(finish, tz).replace(microsecond=0).isoformat(),
            "operating_reset_at": outcome.operating_reset_at,
            "operating": outcome.operating,
        }

    # -- one method -------------------------------------------------------------
    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        """Run one method as the portal would, counting it on its own operating budget."""
        key = method.lower()
        now = time.time()
        handler = self.registry.find(key)
        if handler is None:
            return Outcome(error=errors.method_not_found())
        if self.budget.blocked(key, now):
            return Outcome(
                error=errors.operation_time_limit(),
                operating=self.budget.used(key, now),
                operating_reset_at=self.budget.reset_at(key, now),
            )
        self.stats.commands[key] += 1
        processing = self.method_time(key)
        outcome = Outcome(processing=processing)
        try:
            outcome.result = handler(self.context, dict(params))
        except RestError as exc:
            outcome.error = exc
        self.budget.charge(key, processing, now)
        outcome.operating = round(self.budget.used(key, now), 6)
        outcome.operating_reset_at = self.budget.reset_at(key, now)
        return outcome

    # -- batch ------------------------------------------------------------------
    def batch(self, params: Mapping[str, Any]) -> Outcome:
        """``batch``: up to 50 sub-calls as query strings (facts.md, batch)."""
        self.stats.batch_requests += 1
        commands = params.get("cmd")
        if isinstance(commands, list):
            commands = {str(i): c for i, c in enumerate(commands)}
        if not isinstance(commands, Mapping):
            commands = {}
        if len(commands) > MAX_BATCH_COMMANDS:
            return Outcome(error=errors.batch_length_exceeded())
        halt = str(params.get("halt", "0")).strip().lower() in ("1", "true", "y")
        results: dict[str, Any] = {}
        failures: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        nexts: dict[str, Any] = {}
        times: dict[str, Any] = {}
        spent = 0.0
        for key, command in commands.items():
            key = str(key)
            start = time.time()
            method, _, query = str(command).partition("?")
            try:
                sub_params = substitute(parse_php_query(query), results)
            except QueryError as exc:
                outcome = Outcome(error=errors.invalid_argument(str(exc)))
            else:
                if method.strip().lower() == "batch":
                    outcome = Outcome(error=errors.batch_method_not_allowed())
                else:
                    outcome = self.call(method.strip(), sub_params)
            spent += outcome.processing
            finish = max(time.time(), start + outcome.processing)
            if outcome.error is not None:
                self.stats.command_errors[str(outcome.error.code)] += 1
                failures[key] = outcome.error.body()
            else:
                page = outcome.result
                if isinstance(page, Page):
                    results[key] = page.rows
                    if page.total is not None:
                        totals[key] = page.total
                    if page.next is not None:
                        nexts[key] = page.next
                else:
                    results[key] = page
            times[key] = self.time_block(start, finish, outcome)
            if spent > self.config.request_time_limit:
                raise RequestTimedOut
            if outcome.error is not None and halt:
                break
        return Outcome(
            result={
                "result": php_json(results),
                "result_error": php_json(failures),
                "result_total": php_json(totals),
                "result_next": php_json(nexts),
                "result_time": php_json(times),
            },
            processing=spent,
        )


def php_json(mapping: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """PHP's json_encode of an array: ``[]`` when empty, a list for keys 0..n-1."""
    if not mapping:
        return []
    if all(k == str(i) for i, k in enumerate(mapping)):
        return list(mapping.values())
    return mapping


def _resolve(path_head: str, path_tail: str, results: Mapping[str, Any]) -> tuple[bool, Any]:
    if path_head not in results:
        return False, None
    value: Any = results[path_head]
    for part in re.findall(r"\[([^\]]*)\]", path_tail):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def substitute(value: Any, results: Mapping[str, Any]) -> Any:
    """Replace ``$result[key][FIELD]`` references with earlier sub-calls' results.

    A parameter that is one whole reference takes the referenced value as it is (an
    array stays an array); a reference inside a longer string is replaced by its text.
    A reference to a call that failed or does not exist is left as written (docs silent).
    """
    if isinstance(value, dict):
        return {k: substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, results) for v in value]
    if not isinstance(value, str) or "$result" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        found, resolved = _resolve(whole.group(1), whole.group(2), results)
        return resolved if found else value

    def replace(match: re.Match[str]) -> str:
        found, resolved = _resolve(match.group(1), match.group(2), results)
        if not found or isinstance(resolved, dict | list):
            return match.group(0)
        return str(resolved)

    return _REFERENCE.sub(replace, value)

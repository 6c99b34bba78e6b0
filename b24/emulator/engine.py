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

from b24.emulator import crm_records, duplicates, enums, errors, userfield_methods, volatile
from b24.emulator.config import EmulatorConfig
from b24.emulator.errors import RestError
from b24.emulator.limits import LeakyBucket, OperatingBudget, RequestTimes
from b24.emulator.listing import Page
from b24.emulator.merge_stats import MergeStats
from b24.emulator.merger import php
from b24.emulator.portal import Portal
from b24.emulator.registry import Context, Registry
from b24.phpquery import QueryError, parse_php_query

MAX_BATCH_COMMANDS = 50  # CRestUtil::BATCH_MAX_LENGTH (rest_provider.php:285)
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
    merges: MergeStats = field(default_factory=MergeStats)

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
            "merges": self.merges.as_dict(),
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
    userfield_methods.register(registry)
    return registry


class Engine:
    def __init__(self, config: EmulatorConfig, portal: Portal | None = None) -> None:
        self.config = config
        self.portal = portal or Portal(user_id=config.user_id, utc_offset=config.utc_offset)
        self.registry = build_registry()
        self.bucket = LeakyBucket(config.rps, config.burst)
        self.budget = OperatingBudget(
            config.operating_limit, config.operating_window, config.operating_min_charge
        )
        self.stats = Stats()
        self.context = Context(self.portal, config, merges=self.stats.merges)

    def reset_stats(self) -> None:
        """Start the stats afresh, in place (the event sender holds the same object)."""
        self.stats.__init__()  # type: ignore[misc]
        self.context.merges = self.stats.merges

    # -- operating budget keys ------------------------------------------------
    # loadlimiter.php:197-203: portal, auth type, app or webhook, method. The emulator
    # has one portal and one webhook.
    @property
    def webhook_key(self) -> str:
        return f"webhook:{self.config.user_id}"

    def budget_key(self, method: str, *, in_batch: bool = False) -> str:
        entity = self.webhook_key
        if in_batch and self.config.operating_batch_key == "shared":
            entity = ""  # rest_provider.php:328-336: no password id inside a batch
        return f"{entity}|{method.lower()}"

    def charge_operating(self, method: str, seconds: float, now: float) -> str:
        """Spend a method's budget (control API): the key a direct call and a batch use."""
        keys = {self.budget_key(method), self.budget_key(method, in_batch=True)}
        for key in keys:
            self.budget.charge(key, seconds, now)
        return self.budget_key(method)

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
    def call(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        times: RequestTimes | None = None,
        in_batch: bool = False,
    ) -> Outcome:
        """Run one method as the portal would, counting it on its own operating budget.

        ``times`` holds the request's calls until it ends; a direct call is its own
        request. The check adds this request's earlier calls of the key that each took
        over ``operating_min_charge``; a call ending in an error is not counted
        (``operating_count_errors``).
        """
        own = times is None
        request = RequestTimes(self.budget) if times is None else times
        try:
            return self._call(method, params, request, in_batch)
        finally:
            if own:
                request.finalize(time.time())

    def _call(
        self, method: str, params: Mapping[str, Any], times: RequestTimes, in_batch: bool
    ) -> Outcome:
        name = method.lower()
        now = time.time()
        handler = self.registry.find(name)
        if handler is None:
            return Outcome(error=errors.method_not_found())
        key = self.budget_key(name, in_batch=in_batch)
        if self.budget.blocked(key, now, times.pending(key)):
            return Outcome(
                error=errors.operation_time_limit(),
                operating=round(self.budget.used(key, now, times.pending(key)), 6),
                operating_reset_at=self.budget.reset_at(key, now, times.first_call()),
            )
        self.stats.commands[name] += 1
        processing = self.method_time(name)
        outcome = Outcome(processing=processing)
        try:
            outcome.result = handler(self.context, dict(params))
        except RestError as exc:
            outcome.error = exc
        if outcome.error is None or self.config.operating_count_errors:
            times.add(key, now, processing)
        outcome.operating = round(self.budget.used(key, now, times.pending(key)), 6)
        outcome.operating_reset_at = self.budget.reset_at(key, now, times.first_call())
        return outcome

    # -- batch ------------------------------------------------------------------
    def batch(self, params: Mapping[str, Any]) -> Outcome:
        """``batch`` (rest_provider.php:265-391): up to 50 sub-calls as query strings.

        The batch itself is neither checked nor counted against the operating limit;
        each command is, on its own method (loadlimiter.php:31-33). Commands past the
        50th are not run: each answers ERROR_BATCH_LENGTH_EXCEEDED in result_error
        (``batch_over_limit="source"``), or the whole batch is refused with HTTP 400
        (``"docs"``).
        """
        self.stats.batch_requests += 1
        params = {str(k).upper(): v for k, v in params.items()}  # array_change_key_case
        commands = params.get("CMD")
        if isinstance(commands, list):
            commands = {str(i): c for i, c in enumerate(commands)}
        if not isinstance(commands, Mapping):
            commands = {}
        if len(commands) > MAX_BATCH_COMMANDS and self.config.batch_over_limit == "docs":
            return Outcome(error=errors.batch_length_exceeded())
        halt = php.to_bool(params.get("HALT"))  # (bool) $arQuery['HALT'] (:269)
        results: dict[str, Any] = {}
        failures: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        nexts: dict[str, Any] = {}
        times: dict[str, Any] = {}
        request = RequestTimes(self.budget)
        spent = 0.0
        try:
            for index, (key, command) in enumerate(commands.items()):
                key = str(key)
                start = time.time()
                if index >= MAX_BATCH_COMMANDS:
                    error = errors.batch_length_exceeded()
                    self.stats.command_errors[str(error.code)] += 1
                    failures[key] = error.body()
                    if halt:
                        break
                    continue
                if not isinstance(command, str):
                    continue  # counted towards the 50, not run (:287-290)
                outcome = self._batch_command(command, results, request)
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
        finally:
            request.finalize(time.time())
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

    def _batch_command(
        self, command: str, results: Mapping[str, Any], request: RequestTimes
    ) -> Outcome:
        method, _, query = command.partition("?")
        try:
            sub_params = substitute(parse_php_query(query), results)
        except QueryError as exc:
            return Outcome(error=errors.invalid_argument(str(exc)))
        if method.strip().lower() in ("batch", "download", "upload"):
            return Outcome(error=errors.batch_method_not_allowed())
        return self.call(method.strip(), sub_params, times=request, in_batch=True)


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

"""``Bitrix24Client``: REST calls through one inbound webhook, within the portal's limits.

A call goes: operating limit (:mod:`.operating`: wait while its method is paused or
paced) → queue (:mod:`.batching`) → rate limiter (:mod:`.limiter`) → one HTTP request
(:mod:`.transport`), alone or in a ``batch`` → its own answer or exception
(:mod:`.responses`). What a refusal means for the call is decided here, in
:meth:`Bitrix24Client._settle`:

- ``QUERY_LIMIT_EXCEEDED``: portal-wide cool-down, then the call is sent again;
- ``OPERATION_TIME_LIMIT``: its method is paused, the call waits (or raises);
- a transient fault: a read is sent again after a pause; a write raises
  :class:`~b24.client.errors.OutcomeUnknown` (unless it never left this process);
- anything else reaches the caller as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import aiohttp
import redis.asyncio as aioredis
from pydantic import SecretStr

from b24.client.batching import MAX_BATCH_COMMANDS, Batcher, BatchPolicy, PendingCall
from b24.client.commands import Command, is_read, method_key, method_of_query
from b24.client.config import ClientConfig
from b24.client.errors import (
    AuthError,
    B24Error,
    BatchLengthExceeded,
    OperatingLimit,
    OutcomeUnknown,
    Overloaded,
    RateLimited,
    TransientError,
)
from b24.client.keys import ClientKeys
from b24.client.limiter import RateLimiter
from b24.client.operating import OperatingTracker
from b24.client.responses import Answer, Page, Timing, read_answer, read_batch
from b24.client.transport import Transport
from b24.client.webhook import Webhook

log = logging.getLogger("b24.client")

Outcome = Answer | B24Error
Verdict = Literal["done", "again", "later", "waits"]
BatchCommand = Command | tuple[str, Mapping[str, Any]] | str
# Awaited before each request of a background client: it may hold the request back.
Gate = Callable[[], Awaitable[None]]


_REFUSAL_CODES: dict[type[B24Error], str] = {
    RateLimited: "QUERY_LIMIT_EXCEEDED",
    OperatingLimit: "OPERATION_TIME_LIMIT",
    Overloaded: "OVERLOAD_LIMIT",
    TransientError: "TRANSIENT",
}


@dataclass
class ClientStats:
    """What this process's client sent: for metrics (:meth:`take` hands over and resets)."""

    requests: int = 0
    commands: int = 0
    limiter_wait_seconds: float = 0.0
    refusals: dict[str, int] = field(default_factory=dict)

    def take(self) -> ClientStats:
        taken = ClientStats(
            self.requests, self.commands, self.limiter_wait_seconds, dict(self.refusals)
        )
        self.requests = self.commands = 0
        self.limiter_wait_seconds = 0.0
        self.refusals.clear()
        return taken


class Bitrix24Client:
    """An asyncio client of one portal; make one per process and ``close()`` it.

    ``webhook_url`` is the inbound webhook ``https://PORTAL/rest/USER_ID/SECRET/``;
    ``redis`` holds the limits all processes share, under ``config.key_prefix``.
    """

    def __init__(
        self,
        webhook_url: SecretStr | str,
        redis: aioredis.Redis,
        *,
        config: ClientConfig | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.webhook = Webhook.parse(webhook_url)
        self.portal = self.webhook.portal
        self.config = config = config or ClientConfig()
        keys = ClientKeys(config.key_prefix)
        self._redis = redis
        self._transport = Transport(
            self.webhook,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            session=session,
        )
        self.limiter = RateLimiter(
            redis,
            keys,
            self.portal,
            rate=config.rps,
            burst=config.burst,
            headroom=config.headroom,
            cooldown_base=config.cooldown_base,
            cooldown_max=config.cooldown_max,
            cooldown_quiet=config.cooldown_quiet,
        )
        self.operating = OperatingTracker(
            redis,
            keys,
            self.portal,
            limit=config.operating_limit,
            slow_from=config.operating_slow_from,
            max_wait=config.operating_max_wait,
            fallback=config.operating_fallback,
            refresh=config.operating_refresh,
        )
        policy = BatchPolicy(
            max_commands=config.max_batch_commands,
            per_request={method_key(m): n for m, n in config.per_request.items()},
        )
        self.stats = ClientStats()
        self._batcher = Batcher(
            policy,
            acquire=self._acquire_counted,
            send=self._send,
            window=config.batch_window,
            max_in_flight=config.max_in_flight,
        )
        self._background: set[asyncio.Task[None]] = set()
        self.share_limiter: RateLimiter | None = None
        self._gate: Gate | None = None

    def __repr__(self) -> str:
        return f"Bitrix24Client(portal={self.portal!r}, user_id={self.webhook.user_id!r})"

    # -- the public API --------------------------------------------------------
    def run_in_background(
        self,
        share: float,
        *,
        name: str = "background",
        gate: Gate | None = None,
        window: float | None = None,
    ) -> None:
        """Make this client a background caller of its portal (a backfill, a bulk job).

        It then sends at most ``share`` of the portal's requests: a leaky bucket of its
        own, at ``share`` of the rate and burst under ``name``, is taken before the
        portal's bucket that every client shares. Before each request it awaits
        ``gate``, which may hold the request back while others need the portal. With
        ``window`` its calls wait that long for others to share their request (latency
        matters less than requests to a background caller).
        """
        if not 0 < share <= 1:
            raise ValueError("a background share is more than 0 and at most 1")
        config = self.config
        self.share_limiter = RateLimiter(
            self._redis,
            ClientKeys(config.key_prefix),
            f"{self.portal}:{name}",
            rate=config.rps * share,
            burst=max(config.headroom + 1, int(config.burst * share)),
            headroom=config.headroom,
            cooldown_base=config.cooldown_base,
            cooldown_max=config.cooldown_max,
            cooldown_quiet=config.cooldown_quiet,
        )
        self._gate = gate
        if window is not None:
            self._batcher.window = window

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotent: bool | None = None,
    ) -> Any:
        """Call ``method`` and answer its ``result``; raise a B24Error on failure.

        ``idempotent`` (default: the method is a read) allows re-sending after a
        transient fault.
        """
        return (await self.answer(method, params, idempotent=idempotent)).result

    async def page(self, method: str, params: Mapping[str, Any] | None = None) -> Page:
        """Call a list method: its rows with ``total`` and ``next``."""
        return Page.from_answer(await self.answer(method, params), method=method)

    async def answer(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotent: bool | None = None,
    ) -> Answer:
        """Call ``method``; the whole answer (result, total, next, time)."""
        command = Command(method, dict(params or {}))
        return await self._submit(command, is_read(method) if idempotent is None else idempotent)

    async def batch(
        self, commands: Mapping[str, BatchCommand], *, halt: bool = False
    ) -> dict[str, Outcome]:
        """Send ``commands`` in one ``batch`` request; each key gets its outcome.

        A command is a :class:`Command`, ``(method, params)``, or a prepared query
        ``"method?query"`` (which may refer to ``$result[key]``). An outcome is an
        :class:`Answer` or the exception for that sub-call; with ``halt`` the commands
        after a failed one are :class:`~b24.client.errors.NotExecuted`.
        """
        if not commands:
            return {}
        if len(commands) > MAX_BATCH_COMMANDS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_COMMANDS} commands")
        queries: dict[str, str] = {}
        methods: dict[str, str] = {}
        for key, command in commands.items():
            if isinstance(command, str):
                queries[key], methods[key] = command, method_of_query(command)
            else:
                command = command if isinstance(command, Command) else Command(*command)
                queries[key], methods[key] = command.query(), command.method
        for method in dict.fromkeys(map(method_key, methods.values())):
            await self.operating.admit(method)
        idempotent = all(is_read(method) for method in methods.values())
        request = Command("batch", {"halt": int(halt), "cmd": queries})
        outcomes = read_batch(await self._submit(request, idempotent), methods)
        await self._observe(outcomes, methods)
        return outcomes

    async def close(self) -> None:
        """Stop: calls still waiting are cancelled; the HTTP session is closed."""
        await self._batcher.close()
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._transport.close()

    async def __aenter__(self) -> Bitrix24Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- one call's way ----------------------------------------------------------
    async def _submit(self, command: Command, idempotent: bool) -> Answer:
        await self.operating.admit(command.method)
        call = PendingCall(command, asyncio.get_running_loop().create_future(), idempotent)
        self._batcher.submit(call)
        return await call.future

    async def _acquire_counted(self) -> float:
        waited = 0.0
        if self._gate is not None:
            started = time.monotonic()
            await self._gate()
            waited += time.monotonic() - started
        if self.share_limiter is not None:
            waited += await self.share_limiter.acquire()
        waited += await self.limiter.acquire()
        self.stats.limiter_wait_seconds += waited
        return waited

    async def _send(self, calls: list[PendingCall]) -> None:
        """Send ``calls`` in one request (the batcher's ``send``) and settle each."""
        self.stats.requests += 1
        self.stats.commands += len(calls)
        if len(calls) == 1:
            command = calls[0].command
            outcome = await self._request(command.method, command.params)
            outcomes: dict[PendingCall, Outcome] = {calls[0]: outcome}
            await self._observe({"": outcome}, {"": command.method})
        else:
            keyed = {f"c{index}": call for index, call in enumerate(calls)}
            cmd = {key: call.command.query() for key, call in keyed.items()}
            outcome = await self._request("batch", {"halt": 0, "cmd": cmd})
            if isinstance(outcome, Answer):
                methods = {key: call.command.method for key, call in keyed.items()}
                per_key = read_batch(outcome, methods)
                await self._observe({**per_key, "": outcome}, {**methods, "": "batch"})
                outcomes = {keyed[key]: result for key, result in per_key.items()}
            else:
                outcomes = {call: outcome for call in calls}
        too_long = sum(isinstance(outcomes[call], BatchLengthExceeded) for call in calls)
        if too_long:
            # The portal takes fewer commands a batch than we sent: those it ran show how
            # many fit; a whole batch refused, half as many. The rest are sent again.
            self._shrink_batches(
                len(calls) - too_long if too_long < len(calls) else len(calls) // 2
            )
        if isinstance(outcome, B24Error):
            code = _REFUSAL_CODES.get(type(outcome)) or str(
                getattr(outcome, "code", "") or type(outcome).__name__
            )
            self.stats.refusals[code] = self.stats.refusals.get(code, 0) + 1
        if isinstance(outcome, RateLimited):
            try:
                await self.limiter.refused()
            except Exception as exc:  # the calls still go back to the queue
                log.warning("portal %s: cool-down not recorded: %r", self.portal, exc)
        elif isinstance(outcome, Overloaded):
            log.error(
                "portal %s: OVERLOAD_LIMIT, REST is blocked; ask Bitrix24 support", self.portal
            )
        elif isinstance(outcome, AuthError):
            log.error("portal %s: the webhook is refused: %s", self.portal, outcome)
        again: list[PendingCall] = []
        later: list[PendingCall] = []
        for call in calls:
            verdict = self._settle(call, outcomes[call])
            if verdict == "again":
                again.append(call)
            elif verdict == "later":
                later.append(call)
        if again:
            self._batcher.resubmit(again)
        if later:
            reason = outcomes[later[0]]
            self._spawn(self._retry_later(later, str(reason)))

    def _shrink_batches(self, fits: int) -> None:
        policy = self._batcher.policy
        fits = max(1, min(fits, policy.max_commands - 1))
        if fits < policy.max_commands:
            log.warning(
                "portal %s: a batch was too long for the portal (ERROR_BATCH_LENGTH_EXCEEDED); "
                "batches now carry at most %d commands",
                self.portal,
                fits,
            )
            self._batcher.policy = dataclasses.replace(policy, max_commands=fits)

    async def _request(self, method: str, params: Mapping[str, Any]) -> Outcome:
        try:
            status, body = await self._transport.post(method, params)
            answer = read_answer(status, body, method=method)
        except B24Error as exc:
            log.debug("portal %s: %s failed: %s", self.portal, method, exc)
            return exc
        log.debug("portal %s: %s answered HTTP %d", self.portal, method, status)
        return answer

    async def _observe(self, outcomes: Mapping[str, Outcome], methods: Mapping[str, str]) -> None:
        """Note the operating times and OPERATION_TIME_LIMIT refusals of one request.

        ``methods`` names the method of each key of ``outcomes``.
        """
        timings: dict[str, list[Timing]] = {}
        pauses: dict[str, float | None] = {}
        for key, outcome in outcomes.items():
            method = methods[key]
            if isinstance(outcome, Answer) and outcome.timing is not None:
                timings.setdefault(method_key(method), []).append(outcome.timing)
            elif isinstance(outcome, OperatingLimit):
                pauses[method] = max(pauses.get(method) or 0.0, outcome.reset_at or 0.0) or None
        try:
            await self.operating.observe(timings)
            for method, reset_at in pauses.items():
                await self.operating.block(method, reset_at)
        except Exception as exc:  # bookkeeping: the answers still reach their callers
            log.warning("portal %s: operating times not recorded: %r", self.portal, exc)

    def _settle(self, call: PendingCall, outcome: Outcome) -> Verdict:
        """Give ``call`` its outcome, or decide how it is sent again.

        ``again``: back to the head of the queue now (the rate limit refused it: nothing
        was done; the cool-down is on). ``later``: again after a pause (a transient fault
        on a read, or on a write that never left). ``waits``: its method is paused; it
        goes again when the pause ends. ``done``: the caller has its answer or error.
        """
        if call.future.done():
            return "done"
        if isinstance(outcome, Answer):
            call.future.set_result(outcome)
            return "done"
        if isinstance(outcome, RateLimited) and call.refusals < self.config.refusal_retries:
            call.refusals += 1
            return "again"
        if isinstance(outcome, OperatingLimit) and method_key(outcome.method) == call.command.key:
            self._spawn(self._readmit(call))
            return "waits"
        error = self._own_copy(outcome, call)
        if isinstance(error, TransientError):
            if call.idempotent or not error.sent:
                if call.attempts < self.config.read_retries:
                    call.attempts += 1
                    return "later"
            else:
                error = OutcomeUnknown(
                    f"{call.command.method}: sent, but the answer was lost ({error}); "
                    "re-read before deciding again",
                    method=call.command.method,
                )
        call.future.set_exception(error)
        return "done"

    @staticmethod
    def _own_copy(error: B24Error, call: PendingCall) -> B24Error:
        """The error of a whole request, as one of its calls sees it (each its own copy)."""
        if method_key(error.method) == call.command.key:
            return error
        own = copy.copy(error)
        own.method = call.command.method
        own.args = (f"{call.command.method} (in {error.method or 'a request'}): {error}",)
        return own

    async def _readmit(self, call: PendingCall) -> None:
        try:
            await self.operating.admit(call.command.method)
        except OperatingLimit as exc:
            if not call.future.done():
                call.future.set_exception(exc)
            return
        self._batcher.submit(call)

    async def _retry_later(self, calls: list[PendingCall], reason: str) -> None:
        """Send ``calls`` (of one failed request) again together, after a growing pause."""
        config = self.config
        attempt = max(call.attempts for call in calls)
        delay = min(config.retry_max, config.retry_base * 2 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.0)
        log.info("%s; %d call(s) again in %.2fs (try %d)", reason, len(calls), delay, attempt)
        await asyncio.sleep(delay)
        self._batcher.resubmit([call for call in calls if not call.future.done()])

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

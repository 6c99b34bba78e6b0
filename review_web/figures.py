"""The dashboard's figures: merges, the queue, proposals, the portal's request budget.

All read from Redis: the audit's index of merge entries (today's merges), the workers'
counters hash (``keys.metrics``, :mod:`b24_dedupe.shared_metrics`), the review queue's
and the proposals' sorted sets, and the client's shared limiter and operating-time
state (:class:`b24.client.keys.ClientKeys`). Nothing asks the portal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from b24.client.keys import ClientKeys
from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.proposals import Proposals
from b24_dedupe.review import ReviewQueue, ReviewReason
from review_web.config import ReviewConfig
from review_web.sessions import answer

# Most merge entries of one day read for "merged today" (a bound, far past any portal).
TODAY_LIMIT = 20_000


@dataclass
class MethodBudget:
    method: str
    operating: float  # seconds of the method's budget used in the portal's window
    limit: float
    reset_in: float  # seconds until the portal's window moves on
    paused_for: float  # seconds left of a pause after OPERATION_TIME_LIMIT

    @property
    def share(self) -> int:
        return min(100, round(100 * self.operating / self.limit)) if self.limit else 0


@dataclass
class Budget:
    """The portal's limits as every worker shares them."""

    portal: str
    rps: float
    burst: int
    in_bucket: float = 0.0  # requests counted in the leaky bucket now
    cooldown_left: float = 0.0  # a portal-wide pause after QUERY_LIMIT_EXCEEDED
    methods: list[MethodBudget] = field(default_factory=list)
    requests: int = 0  # requests the workers sent, in total
    commands: int = 0  # commands those requests carried
    refusals: dict[str, int] = field(default_factory=dict)

    @property
    def bucket_share(self) -> int:
        return min(100, round(100 * self.in_bucket / self.burst)) if self.burst else 0


@dataclass
class Figures:
    merged_today: int
    merged_total: int
    conflict_answers: int
    waiting: int
    waiting_by_reason: dict[str, int]
    proposals: int
    budget: Budget | None
    dry_run: bool


def counters(raw: dict[Any, Any]) -> dict[str, float]:
    return {(k.decode() if isinstance(k, bytes) else str(k)): float(v) for k, v in raw.items()}


def _number(raw: Any) -> float:
    try:
        return float(raw.decode() if isinstance(raw, bytes) else raw)
    except (TypeError, ValueError, AttributeError):
        return 0.0


async def merged_since(redis: Redis, config: ReviewConfig, moment: float) -> int:
    """Merges recorded since ``moment``: read from the index of entries that hold a
    merge (merges, restores, failed merges), a small part of the audit."""
    ids = await redis.zrangebyscore(
        config.keys.audit_lasting, moment, "+inf", start=0, num=TODAY_LIMIT
    )
    if not ids:
        return 0
    bodies = await redis.mget([config.keys.audit(raw.decode()) for raw in ids])
    return sum(
        1
        for body in bodies
        if body is not None and AuditEntry.from_json(body).decision is Decision.MERGED
    )


async def budget(redis: Redis, config: ReviewConfig, totals: dict[str, float]) -> Budget | None:
    if not config.portal:
        return None
    keys = ClientKeys(config.keys.prefix)
    now = _number((await redis.time())[0])
    bucket = await answer(redis.hgetall(keys.rate_bucket(config.portal)))
    level, stamp = _number(bucket.get(b"level")), _number(bucket.get(b"ts"))
    cooldown = _number(await answer(redis.hget(keys.cooldown(config.portal), "until")))
    result = Budget(
        portal=config.portal,
        rps=config.rps,
        burst=config.burst,
        in_bucket=max(0.0, level - max(0.0, now - stamp) * config.rps) if bucket else 0.0,
        cooldown_left=max(0.0, cooldown - now),
        requests=int(totals.get("b24dd_bitrix24_requests_total", 0)),
        commands=int(totals.get("b24dd_bitrix24_request_commands_total", 0)),
        refusals={
            name.split("code=", 1)[1]: int(value)
            for name, value in totals.items()
            if name.startswith("b24dd_bitrix24_refusals_total|code=")
        },
    )
    pattern = keys.operating(config.portal, "*")
    async for raw_key in redis.scan_iter(match=pattern, count=100):
        state = await answer(redis.hgetall(raw_key))
        method = raw_key.decode().rsplit(":", 1)[-1]
        reset_at = _number(state.get(b"reset_at"))
        result.methods.append(
            MethodBudget(
                method=method,
                operating=_number(state.get(b"operating")) if reset_at > now else 0.0,
                limit=config.operating_limit,
                reset_in=max(0.0, reset_at - now),
                paused_for=max(0.0, _number(state.get(b"blocked_until")) - now),
            )
        )
    result.methods.sort(key=lambda m: -m.operating)
    return result


def start_of_today() -> float:
    return (
        datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    )


async def figures(redis: Redis, config: ReviewConfig) -> Figures:
    totals = counters(await answer(redis.hgetall(config.keys.metrics)))
    queue = ReviewQueue(redis, config.keys)
    by_reason = {reason.value: await queue.count(None, reason) for reason in ReviewReason}
    return Figures(
        merged_today=await merged_since(redis, config, start_of_today()),
        merged_total=int(totals.get(f"b24dd_worker_merges_total|outcome={Outcome.SUCCESS}", 0)),
        conflict_answers=int(
            totals.get(f"b24dd_worker_merges_total|outcome={Outcome.CONFLICT}", 0)
        ),
        waiting=await queue.count(),
        waiting_by_reason=by_reason,
        proposals=await Proposals(redis, config.keys).count(),
        budget=await budget(redis, config, totals),
        dry_run=config.dry_run,
    )

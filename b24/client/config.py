"""How a client behaves: the portal's limits and the client's own patience."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# A cloud portal cuts a request at 60 s (what cloud portals do; the public REST docs do
# not state it, their limits page bounds the time per method): a write whose answer we
# lost may still take effect until then.
REQUEST_TIME_LIMIT = 60.0


@dataclass(frozen=True)
class ClientConfig:
    """Defaults follow the docs (https://apidocs.bitrix24.com/limits.html): 2 requests a
    second, burst 50."""

    # Every Redis key the client writes starts with this (see :mod:`b24.client.keys`).
    key_prefix: str = "b24:"

    # The portal's leaky bucket (Enterprise: 5 and 250). The client keeps its own bucket
    # ``headroom`` requests below the brim, for the jitter between counting and arrival.
    rps: float = 2.0
    burst: int = 50
    headroom: int = 2
    # QUERY_LIMIT_EXCEEDED: a portal-wide pause of base·2^(n-1) seconds (n: refusals in
    # a row, a row ends after ``cooldown_quiet`` seconds without one), at most max,
    # with jitter (half to all of it). A call is refused this often before it fails.
    cooldown_base: float = 1.0
    cooldown_max: float = 60.0
    cooldown_quiet: float = 60.0
    refusal_retries: int = 10
    # HTTP: the read timeout is above REQUEST_TIME_LIMIT.
    connect_timeout: float = 10.0
    read_timeout: float = 75.0
    # Automatic batching: how long the dispatcher waits for more calls, how many
    # commands a request carries, how many of one method, and requests in flight.
    batch_window: float = 0.01
    max_batch_commands: int = 50
    per_request: Mapping[str, int] = field(default_factory=lambda: {"crm.entity.mergebatch": 5})
    max_in_flight: int = 8
    # Reads are sent again after a transient fault, this often, after a growing pause.
    read_retries: int = 3
    retry_base: float = 0.5
    retry_max: float = 10.0
    # Operating limit: the budget of one method in 10 minutes (420 s by default in the
    # Bitrix24 source; the docs' example shows a portal with 480 s; a refusal tells the
    # real figure); past ``operating_slow_from`` of it the method is paced. A caller
    # waits out a pause up to ``operating_max_wait`` seconds, else OperatingLimit is
    # raised. ``operating_fallback``: the pause when a refusal names no reset time.
    operating_limit: float = 420.0
    operating_slow_from: float = 0.8
    operating_max_wait: float = 30.0
    operating_fallback: float = 60.0
    operating_refresh: float = 1.0

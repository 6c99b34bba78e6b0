"""The Redis keys the client shares with every other process using the same portal.

All of them start with the prefix the caller gives (``ClientConfig.key_prefix``), so
that the client stays out of other users' data in one Redis.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientKeys:
    prefix: str

    def rate_bucket(self, portal: str) -> str:
        """The portal's leaky bucket (hash: level and last drain time)."""
        return f"{self.prefix}ratelimit:{portal}"

    def cooldown(self, portal: str) -> str:
        """Set after QUERY_LIMIT_EXCEEDED: no process sends to the portal until it expires."""
        return f"{self.prefix}cooldown:{portal}"

    def operating(self, portal: str, method: str) -> str:
        """One method's operating time on the portal (minute buckets, pause, turns)."""
        return f"{self.prefix}operating:{portal}:{method}"

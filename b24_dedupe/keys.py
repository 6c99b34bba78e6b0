"""Every Redis key and job name of the service, in one place.

All keys start with ``Settings.redis_prefix`` (default ``b24dd:``), so that the
service, its tests and other users of one Redis never touch each other's data.
The arq queue itself is named ``{prefix}queue``; arq's own job keys keep arq's
prefixes (``arq:job:`` …) and are found through the queue name.
"""

from __future__ import annotations

from dataclasses import dataclass

# The arq function that processes one record.
DEDUPE_JOB = "dedupe_record"


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def queue(self) -> str:
        return f"{self.prefix}queue"

    def record(self, entity: str, entity_id: int) -> str:
        """``LEAD:12``: how a record is named inside other keys."""
        return f"{entity}:{entity_id}"

    def pending(self, entity: str, entity_id: int) -> str:
        """Set while a job for the record waits in the queue (coalesces events)."""
        return f"{self.prefix}pending:{entity}:{entity_id}"

    def running(self, entity: str, entity_id: int) -> str:
        """Set while a job for the record runs (a lease that expires with the job timeout)."""
        return f"{self.prefix}running:{entity}:{entity_id}"

    def rerun(self, entity: str, entity_id: int) -> str:
        """Set by an event that arrived while the record's job ran: one more run follows."""
        return f"{self.prefix}rerun:{entity}:{entity_id}"

    def deleted(self, entity: str, entity_id: int) -> str:
        """Set by a DELETE event, so that a pending job for the record ends without work."""
        return f"{self.prefix}deleted:{entity}:{entity_id}"

    # -- Bitrix24 client (shared by all processes) -------------------------------
    def rate_bucket(self, portal: str) -> str:
        return f"{self.prefix}ratelimit:{portal}"

    def cooldown(self, portal: str) -> str:
        return f"{self.prefix}cooldown:{portal}"

    def operating(self, portal: str, method: str) -> str:
        return f"{self.prefix}operating:{portal}:{method}"

"""Every Redis key and job name of the service, in one place.

All keys start with ``Settings.redis_prefix`` (default ``b24dd:``), so that the
service, its tests and other users of one Redis never touch each other's data.
The arq queue itself is named ``{prefix}queue``; arq's own job keys keep arq's
prefixes (``arq:job:`` …) and are found through the queue name. The Bitrix24 client's
shared limits (leaky bucket, cool-down, operating time) live under the same prefix,
named by :class:`b24.client.keys.ClientKeys`.
"""

from __future__ import annotations

from dataclasses import dataclass

from b24.crm import EntityType, RecordRef

# The arq function that processes one record.
DEDUPE_JOB = "dedupe_record"
# The arq functions a person's action becomes (the review page enqueues them; a worker
# runs them through the same path as its own merges, worker/review_jobs.py).
REVIEW_MERGE_JOB = "review_merge"
REVIEW_DISMISS_JOB = "review_dismiss"
RESTORE_JOB = "restore_merge"
APPROVE_JOB = "approve_proposal"


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def queue(self) -> str:
        return f"{self.prefix}queue"

    def pending(self, record: RecordRef) -> str:
        """Set while a job for the record waits in the queue (coalesces events)."""
        return f"{self.prefix}pending:{record}"

    def running(self, record: RecordRef) -> str:
        """Set while a job for the record runs (a lease that expires with the job timeout)."""
        return f"{self.prefix}running:{record}"

    def rerun(self, record: RecordRef) -> str:
        """Set by an event that arrived while the record's job ran: one more run follows."""
        return f"{self.prefix}rerun:{record}"

    def deleted(self, record: RecordRef) -> str:
        """Set by a DELETE event, so that a pending job for the record ends without work."""
        return f"{self.prefix}deleted:{record}"

    # -- Worker ---------------------------------------------------------------------
    def audit(self, audit_id: str) -> str:
        """One decision's audit record (JSON; removed by the retention, b24_dedupe.audit)."""
        return f"{self.prefix}audit:{audit_id}"

    @property
    def audit_index(self) -> str:
        """Sorted set of audit ids by time."""
        return f"{self.prefix}audit-index"

    @property
    def audit_brief(self) -> str:
        """Sorted set by time of the entries kept AUDIT_RETENTION_DAYS (no merge in them)."""
        return f"{self.prefix}audit-index:brief"

    @property
    def audit_lasting(self) -> str:
        """Sorted set by time of the entries kept AUDIT_MERGE_RETENTION_DAYS (merges, restores)."""
        return f"{self.prefix}audit-index:lasting"

    @property
    def audit_sorted(self) -> str:
        """Set once every entry written before retention existed is in one of the two."""
        return f"{self.prefix}audit-index:sorted"

    @property
    def audit_pending(self) -> str:
        """Sorted set of merge audit ids written before mergeBatch and not yet completed."""
        return f"{self.prefix}audit-pending"

    @property
    def metrics(self) -> str:
        """Hash of the workers' counters (worker.metrics), shared by every worker process."""
        return f"{self.prefix}metrics"

    @property
    def worker_health(self) -> str:
        """arq's health-check key of the workers (all workers write the same one)."""
        return f"{self.prefix}worker-health"

    @property
    def scan_last_run(self) -> str:
        """Set for SCAN_INTERVAL_SECONDS when the recovery scan has run."""
        return f"{self.prefix}scan-last-run"

    def lock(self, value: str) -> str:
        """Held while a merge involving a normalised value (``PHONE:+7999…``) is under way."""
        return f"{self.prefix}lock:{value}"

    def merged(self, record: RecordRef) -> str:
        """A survivor's DATE_MODIFY right after our merge: its update event needs no work."""
        return f"{self.prefix}merged:{record}"

    @property
    def not_duplicate_pairs(self) -> str:
        """Set of ``ENTITY:low:high`` pairs an administrator marked as not duplicates."""
        return f"{self.prefix}not-duplicates:pairs"

    @property
    def not_duplicate_values(self) -> str:
        """Set of normalised values (``EMAIL:x@y``) that are never evidence."""
        return f"{self.prefix}not-duplicates:values"

    def scan_watermark(self, entity: EntityType) -> str:
        """DATE_MODIFY up to which the recovery scan has looked."""
        return f"{self.prefix}scan-watermark:{entity}"

    def failures(self, job_id: str) -> str:
        """Transient failures of one job so far (rate limits and deferrals do not count)."""
        return f"{self.prefix}failures:{job_id}"

    @property
    def halt(self) -> str:
        """Set when the portal blocks us (OVERLOAD_LIMIT, a bad webhook): jobs wait."""
        return f"{self.prefix}halt"

    def processed(self, record: RecordRef) -> str:
        """DATE_MODIFY of the record when a job last read it (the scan skips it then)."""
        return f"{self.prefix}processed:{record}"

    def conflict(self, entity: EntityType, ids: list[int]) -> str:
        """The group's DATE_MODIFYs when Bitrix24 answered CONFLICT: not tried again unchanged."""
        return f"{self.prefix}conflict:{entity}:{','.join(str(i) for i in sorted(ids))}"

    # -- Dry-run proposals (b24_dedupe.proposals) -----------------------------------------
    @property
    def proposals(self) -> str:
        """Sorted set of the audit ids of dry-run proposals by time, one per group."""
        return f"{self.prefix}proposals"

    def proposal_of(self, entity: EntityType, ids: list[int]) -> str:
        """The proposal of one group: ``AUDIT_ID FINGERPRINT`` (its records' DATE_MODIFYs)."""
        return f"{self.prefix}proposal:{entity.value}:{','.join(str(i) for i in sorted(ids))}"

    # -- Review queue (b24_dedupe.review) ------------------------------------------------
    def review_group(self, group_id: str) -> str:
        """One group waiting for a person (JSON)."""
        return f"{self.prefix}review:group:{group_id}"

    @property
    def review_index(self) -> str:
        """Sorted set of every waiting group's id by the time it first came."""
        return f"{self.prefix}review:index"

    def review_index_of(self, entity: EntityType | None, reason: str | None) -> str:
        """The same, for one record type and/or one reason (``review:index:contact:rule``)."""
        if entity is None and reason is None:
            return self.review_index
        kind = entity.value.lower() if entity is not None else "any"
        return f"{self.prefix}review:index:{kind}:{reason or 'any'}"

    def review_record(self, record: RecordRef) -> str:
        """The id of the waiting group a record belongs to."""
        return f"{self.prefix}review:record:{record}"

    @property
    def scan_lock(self) -> str:
        return f"{self.prefix}scan-lock"

    # -- The review page (review_web) ------------------------------------------------------
    def review_session(self, digest: str) -> str:
        """One login to the review page (JSON, expires), by its cookie token's SHA-256."""
        return f"{self.prefix}review-web:session:{digest}"

    def review_login_failures(self, address: str) -> str:
        """Failed logins from one address: how many, and when the next try is taken."""
        return f"{self.prefix}review-web:login-failures:{address}"

    def review_action_job(self, nonce: str) -> str:
        """The arq job id of one action a person submitted on the review page (a form
        sent twice finds the same job)."""
        return f"{self.prefix}review-web:action:{nonce}"

"""The audit's vocabulary: what was decided about a record, and how a merge ended.

Stored in Redis and in JSON as these exact strings (a :class:`enum.StrEnum` is its
value), so entries written before these types existed read the same. Every other
module names them through these classes; a misspelling is an AttributeError, not a
silent new status.
"""

from __future__ import annotations

import enum


class Decision(enum.StrEnum):
    """What the service decided about the record of one job (``AuditEntry.decision``)."""

    MERGED = "merged"  # mergeBatch answered SUCCESS (or the records show it happened)
    CONFLICT = "conflict"  # mergeBatch answered CONFLICT: a person merges in Bitrix24
    ERROR = "error"  # the merge or the job failed; the outcome says how
    PENDING = "pending"  # written before mergeBatch is sent, completed afterwards
    NO_MERGE = "no_merge"  # nothing to merge, or not safe to: the reason says why
    DRY_RUN = "dry_run"  # MERGE_MODE=dry-run: what would have been merged
    GONE = "gone"  # the record was deleted or merged away before its turn
    SKIPPED = "skipped"  # nothing new to look at (the survivor of our own merge)
    RESTORED = "restored"  # `b24-dedupe restore` re-created what a merge deleted
    REVIEW = "review"  # waits in the review queue for a person (b24_dedupe.review)
    DISMISSED = "dismissed"  # a person said the group's records are not duplicates


class Outcome(enum.StrEnum):
    """How a merge (or a restore) ended: ``AuditEntry.outcome["status"]``.

    SUCCESS, CONFLICT and ERROR are mergeBatch's own answers (docs: crm.entity.mergeBatch);
    the others are ours.
    """

    SUCCESS = "SUCCESS"
    CONFLICT = "CONFLICT"
    ERROR = "ERROR"
    PENDING = "PENDING"  # sent (or about to be); the answer is not recorded yet
    NOT_SENT = "NOT_SENT"  # never reached the portal, or the portal never ran it
    PARTIAL = "PARTIAL"  # some records of the group are gone, some not
    UNKNOWN = "UNKNOWN"  # a restore's write whose answer was lost
    # Not sent: the worker's prediction of Bitrix24's merger (b24.predict) says CONFLICT.
    WOULD_CONFLICT = "WOULD_CONFLICT"


# The outcomes of a request that reached the portal's merger (metrics count these).
MERGE_ANSWERS = frozenset({Outcome.SUCCESS, Outcome.CONFLICT, Outcome.ERROR, Outcome.PARTIAL})

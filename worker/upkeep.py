"""Daily upkeep of the worker: the audit's retention (b24_dedupe.audit, AuditLog.prune).

An arq cron job (one worker of all runs it: ``unique``) at 03:17 every day removes
the entries past AUDIT_RETENTION_DAYS and AUDIT_MERGE_RETENTION_DAYS, so that Redis
does not only grow. ``b24-dedupe audit prune`` does the same by hand.
"""

from __future__ import annotations

import logging
from typing import Any

from b24_dedupe.settings import Settings
from worker.jobs import DEDUPE_CONTEXT, SETTINGS
from worker.run import DedupeContext

log = logging.getLogger("worker")

PRUNE_HOUR, PRUNE_MINUTE = 3, 17


async def prune_audit(ctx: dict[str, Any]) -> str:
    context: DedupeContext = ctx[DEDUPE_CONTEXT]
    settings: Settings = ctx[SETTINGS]
    result = await context.audit.prune(
        settings.audit_retention_days, settings.audit_merge_retention_days
    )
    log.info(
        "audit pruned",
        extra={"removed_without_merge": result.brief, "removed_merges": result.lasting},
    )
    return f"{result.brief} entries without a merge and {result.lasting} merge entries removed"

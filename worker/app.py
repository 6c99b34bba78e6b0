"""The arq worker: its settings, mapped from :class:`Settings` in this one place.

arq ignores a misspelt setting silently, so every arq option is named here and
nowhere else. Shared resources (the Bitrix24 client, the audit log) are built in
``on_startup`` and reach each job through ``ctx``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker as ArqWorker
from arq.worker import func

from b24.client import Bitrix24Client
from b24.client.config import REQUEST_TIME_LIMIT
from b24_dedupe.audit import AuditLog
from b24_dedupe.keys import (
    APPROVE_JOB,
    DEDUPE_JOB,
    RESTORE_JOB,
    REVIEW_DISMISS_JOB,
    REVIEW_MERGE_JOB,
    Keys,
)
from b24_dedupe.logs import configure_from_settings
from b24_dedupe.merge_rules import load_rules
from b24_dedupe.portal import client_from_settings
from b24_dedupe.proposals import Proposals
from b24_dedupe.review import ReviewQueue
from b24_dedupe.settings import Settings
from worker import review_jobs
from worker.communications import EvidenceRules
from worker.field_descriptions import FieldDescriptions
from worker.jobs import DEDUPE_CONTEXT, SETTINGS, dedupe_record
from worker.not_duplicates import NotDuplicates
from worker.policy import Policy
from worker.reconciling import reconcile_interrupted
from worker.reviewing import revisit_proposals
from worker.run import DedupeContext
from worker.scan import scan_recent
from worker.upkeep import PRUNE_HOUR, PRUNE_MINUTE, prune_audit

# Deferrals for rate limits do not count as tries (worker.jobs keeps its own count of
# faults), so arq's own budget only stops a job that loops for another reason.
ARQ_MAX_TRIES = 10_000
# How long the result of a person's action stays readable for the page that asked.
ACTION_RESULT_SECONDS = 3600
CONFIGURE_LOGGING = "configure_logging"
# How often a worker writes its report (jobs complete, failed, ...) to Redis; it
# lasts one second longer, so that a report older than this means no worker runs.
HEALTH_CHECK_SECONDS = 30

log = logging.getLogger("worker")


def build_context(
    settings: Settings, redis: Any, client: Bitrix24Client | None = None
) -> DedupeContext:
    """The resources every dedupe job of this process shares (``client``: one to use
    instead of a new one, e.g. a command's)."""
    keys = Keys(settings.redis_prefix)
    client = client or client_from_settings(settings, redis)
    rules = load_rules(settings.merge_rules_file)
    return DedupeContext(
        client=client,
        redis=redis,
        keys=keys,
        audit=AuditLog(redis, keys, settings.audit_journal_dir),
        not_duplicates=NotDuplicates(redis, keys),
        rules=EvidenceRules.build(
            settings.default_region, settings.generic_mailbox_list(), settings.shared_number_list()
        ),
        policy=Policy(
            max_group_size=settings.max_group_size,
            survivor=settings.survivor,
            extra_identity_fields=tuple(settings.identity_field_list()),
            merge_rules=rules,
        ),
        merge_rules=rules,
        review=ReviewQueue(redis, keys),
        proposals=Proposals(redis, keys),
        fields=FieldDescriptions(client),
        language=settings.portal_language,
        portal_url=client.webhook.origin,
        dry_run=settings.merge_mode == "dry-run",
        lock_seconds=settings.job_timeout_seconds,
    )


async def on_startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.setdefault(SETTINGS, Settings())
    if ctx.get(CONFIGURE_LOGGING, True):  # tests keep pytest's own log capture
        configure_from_settings(settings)
    ctx[DEDUPE_CONTEXT] = context = build_context(settings, ctx["redis"])
    if not context.dry_run:
        revisited = await revisit_proposals(context)
        if revisited:
            log.info(
                "dry-run proposals looked at again: MERGE_MODE is auto now",
                extra={"proposals": revisited},
            )


async def on_shutdown(ctx: dict[str, Any]) -> None:
    context = ctx.get(DEDUPE_CONTEXT)
    if context is not None:
        await context.client.close()


async def close_worker(arq_worker: ArqWorker) -> None:
    """Stop an arq worker: the jobs still running are cancelled, and arq hands each back
    to the queue ("will be run again"), so nothing is lost.

    arq's ``close()`` gathers those jobs and re-raises the cancellation of one that had
    not reached its own handler yet (cancelled as it began): the process then ended
    with a traceback and exit code 1, its health key, client and pool left open. So
    the jobs are awaited here first.
    """
    main = arq_worker.main_task
    if main is not None and not main.done():
        main.cancel()  # no new jobs from here on
        await asyncio.gather(main, return_exceptions=True)
    jobs = list(arq_worker.tasks.values())
    for job in jobs:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    for job_id, job in list(arq_worker.tasks.items()):
        if job.done():
            del arq_worker.tasks[job_id]
    # arq's close() logs "shutdown on SIGUSR1" for a worker whose signals it does not
    # handle (serve, the demo): a stop nobody sent. It has nothing else to stop now.
    arq_worker._handle_signals = True
    if arq_worker._pool is not None:  # it had reached Redis and started
        log.info(
            "worker stopped",
            extra={
                "jobs_complete": arq_worker.jobs_complete,
                "jobs_failed": arq_worker.jobs_failed,
                "jobs_retried": arq_worker.jobs_retried,
                "jobs_handed_back": len(jobs),
            },
        )
    await arq_worker.close()


async def recovery_scan(ctx: dict[str, Any]) -> str:
    """Cron (every minute): run the scan when SCAN_INTERVAL_SECONDS have passed."""
    context: DedupeContext = ctx[DEDUPE_CONTEXT]
    settings: Settings = ctx[SETTINGS]
    redis = context.redis
    last_key = context.keys.scan_last_run
    got = await redis.set(
        last_key, str(time.time()), nx=True, ex=max(1, int(settings.scan_interval_seconds))
    )
    if not got:
        return "not due"
    # A pending entry is interrupted once its job cannot be running any more, nor its
    # mergeBatch request on the portal.
    await reconcile_interrupted(
        context, older_than=max(settings.job_timeout_seconds, REQUEST_TIME_LIMIT)
    )
    results = await scan_recent(context.client, redis, context.keys, settings.debounce_seconds)
    return ", ".join(f"{e}: {r.enqueued} enqueued" for e, r in results.items()) or "watermarks set"


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``arq.worker.Worker`` (and the WorkerSettings class)."""
    keys = Keys(settings.redis_prefix)
    return {
        "functions": [
            func(dedupe_record, name=DEDUPE_JOB, max_tries=ARQ_MAX_TRIES),
            # A person's actions: run once (never sent again blindly), results kept for
            # the page that waits on them.
            *(
                func(job, name=name, max_tries=1, keep_result=ACTION_RESULT_SECONDS)
                for job, name in (
                    (review_jobs.review_merge, REVIEW_MERGE_JOB),
                    (review_jobs.review_dismiss, REVIEW_DISMISS_JOB),
                    (review_jobs.restore_merge, RESTORE_JOB),
                    (review_jobs.approve, APPROVE_JOB),
                )
            ),
        ],
        "cron_jobs": [
            cron(
                recovery_scan,
                second=0,
                run_at_startup=False,
                unique=True,
                # Not longer: arq marks every job in progress for the longest timeout of
                # its functions + 10 s, so a killed worker's dedupe jobs would wait that
                # long. A scan cut off here starts over from the same watermark; the
                # records its jobs processed meanwhile are skipped then.
                timeout=settings.job_timeout_seconds,
            ),
            cron(
                prune_audit,
                hour=PRUNE_HOUR,
                minute=PRUNE_MINUTE,
                second=0,
                run_at_startup=False,
                unique=True,
                timeout=settings.job_timeout_seconds,
            ),
        ],
        "queue_name": keys.queue,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "max_jobs": settings.worker_concurrency,
        "job_timeout": settings.job_timeout_seconds,
        "keep_result": 0,
        "max_tries": ARQ_MAX_TRIES,
        "health_check_key": keys.worker_health,
        # What `doctor` shows: arq's own default (an hour) showed a report that old.
        "health_check_interval": HEALTH_CHECK_SECONDS,
        "ctx": {SETTINGS: settings},
    }


def worker_settings_class(settings: Settings) -> type:
    """``worker.WorkerSettings`` for ``arq worker.WorkerSettings``."""
    return type("WorkerSettings", (), worker_options(settings))

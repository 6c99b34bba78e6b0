"""A person's action, carried out by a worker: enqueued as an arq job, its answer awaited.

The page never merges, dismisses or restores in its own process: every action runs in
a worker through the same path, locks and audit as the worker's own merges
(``worker/review_jobs.py``). Each answers a summary ``{"ok", "decision", "status",
"reason", "audit_id", "group"}``; :func:`in_words` says it as a sentence.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from arq.jobs import Job, ResultNotFound

from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import Decision, Outcome
from review_web.state import CONFIG, REDIS

log = logging.getLogger("review_web")

Summary = dict[str, Any]
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_nonce() -> str:
    """A form's action id: the same form sent twice finds the same job."""
    return secrets.token_urlsafe(16)


def nonce_of(form: Any) -> str:
    raw = form.get("action")
    return raw if isinstance(raw, str) and _NONCE.match(raw) else new_nonce()


async def carry_out(request: web.Request, job: str, *args: Any, nonce: str) -> Summary | None:
    """Enqueue ``job`` and wait for its summary; None when no worker answered in time."""
    config, redis = request.app[CONFIG], request.app[REDIS]
    job_id = config.keys.review_action_job(nonce)
    queued = await redis.enqueue_job(job, *args, _job_id=job_id, _queue_name=config.keys.queue)
    log.info("review page: action enqueued", extra={"job": job, "action": nonce})
    waiting = queued or Job(job_id, redis, _queue_name=config.keys.queue)
    try:
        result: Summary = await waiting.result(timeout=config.action_timeout, poll_delay=0.1)
    except TimeoutError:
        log.warning("review page: no worker answered in time", extra={"job": job})
        return None
    except ResultNotFound:
        return {"ok": False, "reason": "the action's result is gone (older than an hour)"}
    except Exception as exc:  # the job itself failed in the worker
        log.warning(
            "review page: the action failed", extra={"job": job, "error": type(exc).__name__}
        )
        return {"ok": False, "reason": f"the worker failed to carry it out ({type(exc).__name__})"}
    return result


async def carry_out_all(
    request: web.Request, job: str, argument_lists: list[tuple[Any, ...]], nonce: str
) -> list[Summary | None]:
    """Several actions at once (approving a selection), each its own job."""
    return list(
        await asyncio.gather(
            *(
                carry_out(request, job, *args, nonce=f"{nonce}-{n}")
                for n, args in enumerate(argument_lists)
            )
        )
    )


@dataclass(frozen=True)
class Notice:
    """A result in words, for the next page; ``href``: where to read more."""

    level: str  # ok, warn, error
    text: str
    href: str = ""
    label: str = ""


def no_answer(seconds: float) -> Notice:
    return Notice(
        "warn",
        f"No worker has answered within {seconds:.0f} s. The action stays queued and is "
        "carried out when a worker runs (b24-dedupe worker); its result will be in the history.",
        "/history",
        "History",
    )


def in_words(summary: Summary | None, entry: AuditEntry | None, seconds: float) -> Notice:
    """What happened, as a person reads it: merged; a new conflict; the portal refusing;
    the records changed since."""
    if summary is None:
        return no_answer(seconds)
    reason = str(summary.get("reason") or "")
    if not summary.get("ok"):
        return Notice("error", f"Nothing was done: {reason}.")
    decision, status = summary.get("decision"), summary.get("status")
    link = f"/history/{summary['audit_id']}" if summary.get("audit_id") else ""
    outcome = entry.outcome if entry is not None else {}
    if decision == Decision.MERGED:
        deleted = ", ".join(str(i) for i in outcome.get("deleted") or []) or "the others"
        survivor = entry.survivor if entry is not None else None
        return Notice(
            "ok",
            f"Merged: {deleted} merged into {survivor}. A wrong merge can be restored from "
            "its history entry.",
            link,
            "See it in the history",
        )
    if decision == Decision.DISMISSED:
        return Notice(
            "ok", "Marked as not duplicates: these records will not be merged.", link, "History"
        )
    if decision == Decision.RESTORED:
        created = outcome.get("created") or {}
        made = ", ".join(f"{old} is now {new}" for old, new in created.items()) or "nothing"
        if status == Outcome.SUCCESS:
            return Notice(
                "ok",
                f"Restored: records created again ({made}); the survivor set back.",
                link,
                "History",
            )
        error = outcome.get("error") or status
        return Notice(
            "error", f"The restore did not complete ({error}); created: {made}.", link, "History"
        )
    if decision == Decision.CONFLICT or status == Outcome.CONFLICT:
        return Notice(
            "error",
            "The portal refused the merge (Bitrix24 answered CONFLICT). The group waits again; "
            "finish it in Bitrix24's own merge form.",
            str(outcome.get("link") or link),
            "Bitrix24's merge form" if outcome.get("link") else "History",
        )
    if decision == Decision.REVIEW:
        return Notice(
            "warn",
            f"Not merged, a new conflict: {reason}. Look at the group again.",
            link,
            "History",
        )
    if decision == Decision.NO_MERGE and "changed since" in reason:
        return Notice(
            "warn",
            "Not merged: the records changed since you saw them. Look again: the page "
            "shows them as they are now.",
        )
    if decision == Decision.ERROR or status == Outcome.ERROR:
        error = outcome.get("error") or reason
        return Notice("error", f"The portal refused: {error}.", link, "History")
    if decision == Decision.GONE:
        return Notice("warn", f"Nothing to merge: {reason}.", link, "History")
    return Notice("warn", f"Not merged ({decision}): {reason}.", link, "History")

"""The history: the audit, newest first, filterable by decision; one entry with the
records before and after its merge, and Restore (after a confirmation page)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.keys import RESTORE_JOB
from review_web.actions import carry_out, in_words, new_nonce, nonce_of
from review_web.presenting import merge_view, record_link
from review_web.rendering import render, tell
from review_web.state import CONFIG, REDIS, SESSION

PAGE_SIZE = 50
AUDIT_ID = r"{audit_id:[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}}"


def _audit(request: web.Request) -> AuditLog:
    return AuditLog(request.app[REDIS], request.app[CONFIG].keys)


def restorable(entry: AuditEntry) -> bool:
    return entry.decision is Decision.MERGED and entry.status == Outcome.SUCCESS


async def history_page(request: web.Request) -> web.Response:
    raw = request.query.get("decision", "")
    decision = Decision(raw) if raw in {d.value for d in Decision} else None
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    found = await _audit(request).find(
        page * PAGE_SIZE + 1, decisions=(decision,) if decision else ()
    )
    entries = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]

    def query(**params: object) -> str:
        values = {"decision": decision.value if decision else "", **params}
        text = urlencode({k: str(v) for k, v in values.items() if v})
        return "?" + text if text else ""

    return await render(
        request,
        "history.html",
        entries=entries,
        decision=decision,
        decisions=list(Decision),
        page=page,
        more=len(found) > page * PAGE_SIZE,
        query=query,
        restorable=restorable,
    )


async def _entry_or_404(request: web.Request) -> AuditEntry:
    entry = await _audit(request).get(request.match_info["audit_id"])
    if entry is None:
        raise web.HTTPNotFound(text="no such entry in the audit (it may have been pruned)")
    return entry


async def entry_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    entry = await _entry_or_404(request)
    group = entry.group or [entry.entity_id]
    after = entry.outcome.get("survivor_after")
    view = merge_view(
        entry.entity, group, entry.snapshots, after if isinstance(after, dict) else None
    )
    links = {i: record_link(config.portal_url, entry.entity, i) for i in group}
    restored_from = entry.outcome.get("restored_from")
    return await render(
        request,
        "entry.html",
        entry=entry,
        view=view,
        links=links,
        restorable=restorable(entry),
        proposal=entry.decision is Decision.DRY_RUN,
        restored_from=restored_from if isinstance(restored_from, str) else None,
        nonce=new_nonce(),
    )


async def confirm_restore(request: web.Request) -> web.Response:
    entry = await _entry_or_404(request)
    if not restorable(entry):
        await tell(request, "warn", "Only a completed merge can be restored.")
        raise web.HTTPSeeOther(f"/history/{entry.id}")
    deleted = [int(i) for i in entry.outcome.get("deleted") or []]
    return await render(request, "restore.html", entry=entry, deleted=deleted, nonce=new_nonce())


async def restore(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    form = await request.post()
    entry = await _entry_or_404(request)
    if form.get("confirm") != "yes":
        raise web.HTTPSeeOther(f"/history/{entry.id}/restore")
    who = f"{request[SESSION].who} (review page)"
    summary = await carry_out(request, RESTORE_JOB, entry.id, who, nonce=nonce_of(form))
    audit_id = (summary or {}).get("audit_id")
    done = await _audit(request).get(audit_id) if audit_id else None
    notice = in_words(summary, done, config.action_timeout)
    await tell(request, notice.level, notice.text, notice.href, notice.label)
    raise web.HTTPSeeOther(notice.href or f"/history/{entry.id}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/history", history_page)
    app.router.add_get(f"/history/{AUDIT_ID}", entry_page)
    app.router.add_get(f"/history/{AUDIT_ID}/restore", confirm_restore)
    app.router.add_post(f"/history/{AUDIT_ID}/restore", restore)

"""The dashboard and the dry-run proposals (approved one by one or by selection: the
way from dry-run to automatic merging)."""

from __future__ import annotations

import re

from aiohttp import web

from b24_dedupe.audit import AuditLog
from b24_dedupe.keys import APPROVE_JOB
from b24_dedupe.proposals import Proposals
from review_web.actions import Notice, carry_out_all, in_words, new_nonce, nonce_of
from review_web.figures import figures
from review_web.rendering import render, tell
from review_web.state import CONFIG, REDIS, SESSION

PAGE_SIZE = 50
# Most proposals approved by one submission (each is a job a worker runs).
MOST_AT_ONCE = 200
_AUDIT_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$")


async def dashboard(request: web.Request) -> web.Response:
    return await render(
        request, "dashboard.html", figures=await figures(request.app[REDIS], request.app[CONFIG])
    )


async def proposals_page(request: web.Request) -> web.Response:
    redis, config = request.app[REDIS], request.app[CONFIG]
    proposals = Proposals(redis, config.keys)
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    total = await proposals.count()
    entries = await proposals.page(AuditLog(redis, config.keys), (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return await render(
        request,
        "proposals.html",
        entries=entries,
        total=total,
        page=page,
        more=total > page * PAGE_SIZE,
        nonce=new_nonce(),
        dry_run=config.dry_run,
    )


async def approve(request: web.Request) -> web.Response:
    redis, config = request.app[REDIS], request.app[CONFIG]
    form = await request.post()
    one = form.get("one")
    chosen = [one] if isinstance(one, str) and one else form.getall("selected", [])
    ids = [i for i in chosen if isinstance(i, str) and _AUDIT_ID.match(i)][:MOST_AT_ONCE]
    if not ids:
        await tell(request, "warn", "No proposal was selected: nothing was done.")
        raise web.HTTPSeeOther("/proposals")
    who = f"{request[SESSION].who} (review page)"
    summaries = await carry_out_all(
        request, APPROVE_JOB, [(audit_id, who) for audit_id in ids], nonce_of(form)
    )
    audit = AuditLog(redis, config.keys)
    notices: list[Notice] = []
    for summary in summaries:
        audit_id = (summary or {}).get("audit_id")
        entry = await audit.get(audit_id) if audit_id else None
        notices.append(in_words(summary, entry, config.action_timeout))
    if len(notices) == 1:
        (notice,) = notices
        await tell(request, notice.level, notice.text, notice.href, notice.label)
    else:
        merged = sum(1 for n in notices if n.level == "ok")
        level = "ok" if merged == len(notices) else "warn"
        await tell(request, level, f"{len(notices)} proposals approved: {merged} merged.")
        for notice in notices:
            if notice.level != "ok":
                await tell(request, notice.level, notice.text, notice.href, notice.label)
    raise web.HTTPSeeOther("/proposals")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", dashboard)
    app.router.add_get("/proposals", proposals_page)
    app.router.add_post("/proposals/approve", approve)
    app.router.add_get("/healthz", healthz)

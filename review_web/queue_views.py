"""The review queue and one group: the list, the records side by side, Merge, Not
duplicates, Skip."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from b24.crm import EntityType
from b24_dedupe.audit import AuditLog
from b24_dedupe.keys import REVIEW_DISMISS_JOB, REVIEW_MERGE_JOB
from b24_dedupe.review import ReviewGroup, ReviewQueue, ReviewReason
from review_web.actions import carry_out, in_words, new_nonce, nonce_of
from review_web.presenting import JOINED, group_view
from review_web.rendering import render, tell
from review_web.state import CONFIG, REDIS, SESSION

PAGE_SIZE = 50
GROUP_ID = r"{group_id:[a-z]+-[0-9]+-[0-9a-f]{8}}"
REASON_WORDS = {
    ReviewReason.RULE: "a field no rule settles",
    ReviewReason.CONFLICT: "Bitrix24 refused the merge",
    ReviewReason.AMBIGUOUS: "could be someone else",
    ReviewReason.TOO_LARGE: "group too large",
}


def _queue(request: web.Request) -> ReviewQueue:
    return ReviewQueue(request.app[REDIS], request.app[CONFIG].keys)


def filters(request: web.Request) -> tuple[EntityType | None, ReviewReason | None]:
    """``?type=contact&reason=rule``; an unknown value is no filter."""
    raw_type, raw_reason = request.query.get("type", ""), request.query.get("reason", "")
    entity = EntityType(raw_type.upper()) if raw_type.upper() in EntityType.__members__ else None
    reason = ReviewReason(raw_reason) if raw_reason in {r.value for r in ReviewReason} else None
    return entity, reason


def filter_query(entity: EntityType | None, reason: ReviewReason | None, **more: Any) -> str:
    params = {
        "type": entity.value.lower() if entity else "",
        "reason": reason.value if reason else "",
        **{k: str(v) for k, v in more.items()},
    }
    query = urlencode({k: v for k, v in params.items() if v})
    return "?" + query if query else ""


async def queue_page(request: web.Request) -> web.Response:
    entity, reason = filters(request)
    queue = _queue(request)
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    total = await queue.count(entity, reason)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages)
    groups = await queue.page(entity, reason, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    counts = await queue.counts()
    by_type = {t: sum(n for (e, _), n in counts.items() if e == t) for t in EntityType}
    by_reason = {r: sum(n for (_, rr), n in counts.items() if rr == r) for r in ReviewReason}
    return await render(
        request,
        "queue.html",
        groups=groups,
        entity=entity,
        reason=reason,
        total=total,
        everything=sum(counts.values()),
        counts=counts,
        by_type=by_type,
        by_reason=by_reason,
        types=list(EntityType),
        reasons=list(ReviewReason),
        reason_words=REASON_WORDS,
        page=page,
        pages=pages,
        query=lambda **more: filter_query(entity, reason, **more),
        type_query=lambda t: filter_query(t, reason),
        reason_query=lambda r: filter_query(entity, r),
    )


async def group_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    entity, reason = filters(request)
    group = await _queue(request).get(request.match_info["group_id"])
    if group is None:
        return await render(
            request,
            "refused.html",
            status=404,
            title="Not waiting",
            text="This group no longer waits for review: it was merged, dismissed, or its "
            "records changed or are gone.",
        )
    view = group_view(group, config.rules, config.portal_url)
    return await render(
        request,
        "group.html",
        view=view,
        group=group,
        reason_words=REASON_WORDS,
        nonce=new_nonce(),
        back=filter_query(entity, reason),
        joined=JOINED,
    )


async def next_group_after(
    request: web.Request, group_id: str, entity: EntityType | None, reason: ReviewReason | None
) -> str | None:
    """The group after ``group_id`` in the queue's order (within the filter)."""
    redis, keys = request.app[REDIS], request.app[CONFIG].keys
    index = keys.review_index_of(entity, reason)
    rank = await redis.zrank(index, group_id)
    start = 0 if rank is None else int(rank) + 1
    ids = await redis.zrange(index, start, start)
    return ids[0].decode() if ids else None


async def skip(request: web.Request) -> web.Response:
    entity, reason = filters(request)
    following = await next_group_after(request, request.match_info["group_id"], entity, reason)
    if following is None or following == request.match_info["group_id"]:
        await tell(request, "ok", "That was the last group waiting (within this filter).")
        raise web.HTTPSeeOther("/queue" + filter_query(entity, reason))
    raise web.HTTPSeeOther(f"/groups/{following}" + filter_query(entity, reason))


def choices_from(form: Any, group: ReviewGroup) -> dict[str, int]:
    """``choice.POST=12`` for each field Bitrix24 would refuse; ``join`` leaves it to
    the rule."""
    choices = {}
    for code in group.differing:
        raw = form.get(f"choice.{code}")
        if not isinstance(raw, str) or raw == JOINED or not raw:
            continue
        if not raw.isdigit() or int(raw) not in group.ids:
            raise web.HTTPBadRequest(text=f"choice for {code}: not a record of the group")
        choices[code] = int(raw)
    return choices


async def _act(request: web.Request, dismiss: bool) -> web.Response:
    config = request.app[CONFIG]
    form = await request.post()
    entity, reason = filters(request)
    group = await _queue(request).get(request.match_info["group_id"])
    back = filter_query(entity, reason)
    if group is None:
        await tell(request, "warn", "This group no longer waits for review; nothing was done.")
        raise web.HTTPSeeOther("/queue" + back)
    if form.get("updated") != str(group.updated):
        await tell(
            request,
            "warn",
            "The records changed since you opened the group (a worker looked at them "
            "again): nothing was done. Look again before you decide.",
        )
        raise web.HTTPSeeOther(f"/groups/{group.id}{back}")
    who = f"{request[SESSION].who} (review page)"
    if dismiss:
        summary = await carry_out(request, REVIEW_DISMISS_JOB, group.id, who, nonce=nonce_of(form))
    else:
        summary = await carry_out(
            request,
            REVIEW_MERGE_JOB,
            group.id,
            choices_from(form, group),
            who,
            nonce=nonce_of(form),
        )
    audit_id = (summary or {}).get("audit_id")
    entry = await AuditLog(request.app[REDIS], config.keys).get(audit_id) if audit_id else None
    notice = in_words(summary, entry, config.action_timeout)
    await tell(request, notice.level, notice.text, notice.href, notice.label)
    if notice.level == "ok" and dismiss:
        following = await next_group_after(request, group.id, entity, reason)
        raise web.HTTPSeeOther(f"/groups/{following}{back}" if following else "/queue" + back)
    if notice.level == "ok" and notice.href:
        raise web.HTTPSeeOther(notice.href)
    still = await _queue(request).get(group.id)
    raise web.HTTPSeeOther(f"/groups/{group.id}{back}" if still else "/queue" + back)


async def merge(request: web.Request) -> web.Response:
    return await _act(request, dismiss=False)


async def dismiss(request: web.Request) -> web.Response:
    return await _act(request, dismiss=True)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/queue", queue_page)
    app.router.add_get(f"/groups/{GROUP_ID}", group_page)
    app.router.add_get(f"/groups/{GROUP_ID}/skip", skip)
    app.router.add_post(f"/groups/{GROUP_ID}/merge", merge)
    app.router.add_post(f"/groups/{GROUP_ID}/dismiss", dismiss)

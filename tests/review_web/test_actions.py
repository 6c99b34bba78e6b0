"""A person's actions on the page, carried out by a real worker: the whole service
(emulator -> events -> ingress -> Redis -> arq worker) and the page beside it."""

from __future__ import annotations

import re

import redis.asyncio as aioredis

from b24_dedupe.decisions import Decision
from b24_dedupe.proposals import Proposals
from b24_dedupe.review import ReviewQueue
from tests.review_web.conftest import (
    NewVisitor,
    StartReview,
    Visitor,
    contact_group,
    put_groups,
    stack_settings,
)
from tests.worker.conftest import Stack, StartStack


async def two_positions(stack: Stack) -> tuple[int, int]:
    """One person entered twice, with another job title since: no rule settles POST."""
    first = await stack.add(
        "CONTACT", NAME="Oleg", LAST_NAME="Sidorov", POST="Engineer", PHONE=["+7 (912) 000-11-22"]
    )
    await stack.settle()
    second = await stack.add(
        "CONTACT",
        NAME="Oleg",
        LAST_NAME="Sidorov",
        POST="Chief engineer",
        PHONE=["8 912 000 11 22"],
    )
    await stack.settle()
    return first, second


async def open_group(person: Visitor) -> tuple[str, dict[str, str]]:
    queue = await person.get("/queue")
    (group_id,) = re.findall(r'class="group-link" href="/groups/([^"?]+)', queue.text)
    page = await person.get(f"/groups/{group_id}")
    form = {k: page.hidden(k) for k in ("csrf", "action", "updated")}
    return group_id, form


async def test_merge_with_a_field_choice_then_restore(
    start_stack: StartStack, start_review: StartReview, visitor: NewVisitor
) -> None:
    stack = await start_stack()
    first, second = await two_positions(stack)
    assert await stack.exists("CONTACT", second)
    review = await start_review(stack_settings(stack.settings))
    person = visitor(review)
    await person.login(name="Anna")
    group_id, form = await open_group(person)
    merged = await person.post(f"/groups/{group_id}/merge", {**form, "choice.POST": str(second)})
    assert merged.path.startswith("/history/"), merged.path
    assert "Merged:" in merged.text and f"{second} merged into {first}" in merged.text
    await stack.settle()
    assert not await stack.exists("CONTACT", second)
    assert stack.record("CONTACT", first)["POST"] == "Chief engineer"
    entry = await stack.audit.get(merged.path.removeprefix("/history/"))
    assert entry is not None and entry.decision == Decision.MERGED
    assert "Anna (review page)" in entry.reason and "POST from" in entry.reason
    assert await ReviewQueue(stack.redis, stack.keys).count() == 0

    confirm = await person.get(f"/history/{entry.id}/restore")
    restored = await person.post(
        f"/history/{entry.id}/restore",
        {"csrf": confirm.csrf, "action": confirm.hidden("action"), "confirm": "yes"},
    )
    assert "Restored:" in restored.text, restored.text
    (new_id,) = [int(n) for n in re.findall(rf"{second} is now (\d+)", restored.text)]
    await stack.settle()
    assert stack.record("CONTACT", new_id)["POST"] == "Chief engineer"
    assert stack.record("CONTACT", first)["POST"] == "Engineer"  # the survivor set back
    # The form sent twice finds the same job: nothing is restored twice.
    again = await person.post(
        f"/history/{entry.id}/restore",
        {"csrf": confirm.csrf, "action": confirm.hidden("action"), "confirm": "yes"},
    )
    assert "Restored:" in again.text
    assert len(stack.emulator.engine.portal.records["CONTACT"]) == 2


async def test_not_duplicates_takes_the_group_out_for_good(
    start_stack: StartStack, start_review: StartReview, visitor: NewVisitor
) -> None:
    stack = await start_stack()
    first, second = await two_positions(stack)
    review = await start_review(stack_settings(stack.settings))
    person = visitor(review)
    await person.login()
    group_id, form = await open_group(person)
    form["action"] += "-d"
    dismissed = await person.post(f"/groups/{group_id}/dismiss", form)
    assert "Marked as not duplicates" in dismissed.text
    assert dismissed.path == "/queue" and "Nothing waits for review" in dismissed.text
    await stack.call("crm.contact.update", {"id": second, "fields": {"COMMENTS": "x"}})
    await stack.settle()
    assert await stack.exists("CONTACT", first) and await stack.exists("CONTACT", second)
    assert await ReviewQueue(stack.redis, stack.keys).count() == 0


async def test_a_group_that_changed_since_it_was_opened_is_not_merged(
    start_stack: StartStack, start_review: StartReview, visitor: NewVisitor
) -> None:
    stack = await start_stack()
    _, second = await two_positions(stack)
    review = await start_review(stack_settings(stack.settings))
    person = visitor(review)
    await person.login()
    group_id, form = await open_group(person)
    # Someone edits a record meanwhile: the worker looks at the group again.
    await stack.call("crm.contact.update", {"id": second, "fields": {"POST": "Director"}})
    await stack.settle()
    answer = await person.post(f"/groups/{group_id}/merge", {**form, "choice.POST": str(second)})
    assert "changed since you opened" in answer.text
    assert answer.path.startswith(f"/groups/{group_id}")
    assert "Director" in answer.text  # the page shows them as they are now
    assert await stack.exists("CONTACT", second)
    assert stack.emulator.engine.stats.commands["crm.entity.mergebatch"] == 0


async def test_approving_dry_run_proposals(
    start_stack: StartStack, start_review: StartReview, visitor: NewVisitor
) -> None:
    stack = await start_stack(merge_mode="dry-run")
    pairs = []
    for n, name in enumerate(("Dry", "Run")):
        a = await stack.add("CONTACT", NAME=name, PHONE=[f"+7 903 666-77-8{n}"])
        await stack.settle()
        b = await stack.add("CONTACT", NAME=name, PHONE=[f"+7 903 666-77-8{n}"])
        await stack.settle()
        pairs.append((a, b))
    proposals = Proposals(stack.redis, stack.keys)
    assert await proposals.count() == 2
    review = await start_review(stack_settings(stack.settings, merge_mode="dry-run"))
    person = visitor(review)
    await person.login()
    page = await person.get("/proposals")
    ids = re.findall(r'name="selected" value="([^"]+)"', page.text)
    assert len(ids) == 2 and "2 waiting" in page.text
    one = await person.post(
        "/proposals/approve", {"csrf": page.csrf, "action": page.hidden("action"), "one": ids[0]}
    )
    assert "Merged:" in one.text and one.path == "/proposals"
    rest = re.findall(r'name="selected" value="([^"]+)"', one.text)
    assert rest == [ids[1]]
    both = await person.post(
        "/proposals/approve",
        [("csrf", one.csrf), ("action", one.hidden("action")), ("selected", rest[0])],
    )
    assert "Merged:" in both.text and "No dry-run proposal waits" in both.text
    await stack.settle()
    for a, b in pairs:
        assert await stack.exists("CONTACT", a) and not await stack.exists("CONTACT", b)
    assert await proposals.count() == 0


async def test_without_a_worker_the_page_says_so(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis
) -> None:
    review = await start_review(review_action_timeout_seconds=0.5)
    group = contact_group([12, 34])
    await put_groups(redis_client, review.keys, [group])
    person = visitor(review)
    await person.login()
    page = await person.get(f"/groups/{group.id}")
    form = {k: page.hidden(k) for k in ("csrf", "action", "updated")}
    answer = await person.post(f"/groups/{group.id}/merge", {**form, "choice.POST": "34"})
    assert (
        "No worker has answered within 0 s" in answer.text
        or "No worker has answered" in answer.text
    )
    assert answer.path.startswith(f"/groups/{group.id}")
    assert await redis_client.zcard(review.keys.queue) == 1  # it waits for a worker

"""An administrator in a real browser: logs in (a wrong password refused), settles a
conflicting group with a field choice, sees the merge in the history, restores it, and
approves a dry-run proposal; a form without its token is refused, a page without a
session leads to the login.

The whole service runs for real on 127.0.0.1: the portal emulator, the ingress, an
arq worker and the review page; Chromium drives the page. ``make test-browser``.
"""

from __future__ import annotations

import re

import pytest
import redis.asyncio as aioredis

from b24.crm import EntityType
from b24_dedupe.decisions import Decision
from b24_dedupe.proposals import Proposals
from b24_dedupe.review import ReviewQueue, group_id
from tests.browser.conftest import OpenBrowser, screenshot_dir
from tests.review_web.conftest import (
    PASSWORD,
    StartReview,
    contact_group,
    put_groups,
    stack_settings,
)
from tests.worker.conftest import StartStack

pytestmark = pytest.mark.browser


async def test_an_administrator_settles_a_group_undoes_it_and_approves_a_proposal(
    start_stack: StartStack, start_review: StartReview, open_browser: OpenBrowser
) -> None:
    # Dry-run: nothing merges by itself; a person's merge and approval still do.
    stack = await start_stack(merge_mode="dry-run")
    # One person twice, another job title since: no rule settles POST, so it waits.
    first = await stack.add(
        "CONTACT", NAME="Oleg", LAST_NAME="Sidorov", POST="Engineer",
        PHONE=["+7 (912) 000-11-22"], EMAIL=["oleg@home.example"],
    )  # fmt: skip
    await stack.settle()
    second = await stack.add(
        "CONTACT", NAME="Oleg", LAST_NAME="Sidorov", POST="Chief engineer",
        PHONE=["8 912 000 11 22"], EMAIL=["o.sidorov@work.example"],
    )  # fmt: skip
    await stack.settle()
    # Two more groups that wait, so that the queue's picture shows a queue: a company
    # with two managers, a lead with two job titles.
    for entity, fields in (
        ("COMPANY", [{"ASSIGNED_BY_ID": 1}, {"ASSIGNED_BY_ID": 7}]),
        ("LEAD", [{"POST": "Buyer"}, {"POST": "Head of purchasing"}]),
    ):
        for own in fields:
            common = {"TITLE": "Romashka LLC"} if entity == "COMPANY" else {"NAME": "Ivan"}
            await stack.add(entity, **common, **own, EMAIL=["purchasing@romashka.example"])
            await stack.settle()
    # Two records nothing sets apart: a dry-run proposal.
    kept = await stack.add("CONTACT", NAME="Maria", LAST_NAME="Ivanova", PHONE=["+7 903 555-01-02"])
    await stack.settle()
    proposed = await stack.add("CONTACT", NAME="Maria", PHONE=["8 903 555 01 02"])
    await stack.settle()
    assert await ReviewQueue(stack.redis, stack.keys).count() == 3
    assert await Proposals(stack.redis, stack.keys).count() == 1
    review = await start_review(stack_settings(stack.settings, merge_mode="dry-run"))
    browser = await open_browser(review.url)
    pictures = screenshot_dir()

    # Without a session the queue leads to the login; a wrong password is refused.
    await browser.go("/queue")
    assert (await browser.wait_for_path("/login")).startswith("/login?next=/queue")
    await browser.type("#password", "not the password")
    await browser.click("#login")
    assert "Wrong password." in await browser.wait_for_text("#login-error", "Wrong password")
    await browser.type("#password", PASSWORD)
    await browser.type("#name", "Anna")
    await browser.click("#login")
    await browser.wait_for_path("/queue")

    # The queue: the group, by record ids and field codes.
    row = await browser.wait_for_text("#queue tbody tr", f"{first}, {second}")
    assert "POST" in row and "Sidorov" not in row
    if pictures:
        await browser.screenshot(pictures / "review-queue.png")
    await browser.click(
        f'a.group-link[href^="/groups/{group_id(EntityType.CONTACT, [first, second])}"]'
    )
    await browser.wait_for_path("/groups/")
    # Side by side, POST highlighted, the survivor's value pre-set; choose the other.
    assert "Chief engineer" in await browser.text("#row-POST")
    survivor_choice = await browser.find(f'input[name="choice.POST"][value="{first}"]')
    assert survivor_choice.is_selected()
    await browser.click(f'input[name="choice.POST"][value="{second}"]')
    assert (await browser.find(f'input[name="choice.POST"][value="{second}"]')).is_selected()
    assert "phone +79120001122" in await browser.text("#evidence")
    if pictures:
        await browser.screenshot(pictures / "review-group.png")
    await browser.click("#merge")

    # Merged, in words; the entry in the history.
    said = await browser.wait_for_text(".flash.ok", "Merged:")
    assert f"{second} merged into {first}" in said
    entry_path = await browser.wait_for_path("/history/")
    assert not await stack.exists("CONTACT", second)
    assert stack.record("CONTACT", first)["POST"] == "Chief engineer"
    await browser.go("/history?decision=merged")
    listed = await browser.wait_for_text("#history tbody tr", "Anna (review page)")
    assert "merged" in listed
    await browser.go(entry_path)
    assert "Chief engineer" in await browser.text("#before-after")

    # Restore, after its confirmation.
    await browser.click("#restore")
    await browser.wait_for_text("h1", "Restore this merge?")
    await browser.click("#confirm-restore")
    said = await browser.wait_for_text(".flash.ok", "Restored:")
    match = re.search(rf"{second} is now (\d+)", said)
    assert match, said
    await stack.settle()
    assert stack.record("CONTACT", int(match.group(1)))["POST"] == "Chief engineer"
    assert stack.record("CONTACT", first)["POST"] == "Engineer"

    # The dry-run proposal, approved: merged.
    await browser.go("/proposals")
    assert f"{kept}, {proposed}" in await browser.text("#proposals")
    await browser.click("button.approve-one")
    await browser.wait_for_text(".flash.ok", "Merged:")
    await browser.find("#proposals-empty")
    await stack.settle()
    assert await stack.exists("CONTACT", kept) and not await stack.exists("CONTACT", proposed)
    decisions = [e.decision for e in await stack.audit.latest(50)]
    assert decisions.count(Decision.MERGED) == 2 and Decision.RESTORED in decisions

    # The dashboard counts them.
    await browser.go("/")
    assert await browser.text("#merged-total") == "2"
    assert await browser.text("#waiting") == "2"  # the company and the lead
    if pictures:
        await browser.screenshot(pictures / "review-dashboard.png")


async def test_a_form_without_its_token_is_refused_and_a_page_without_a_session_goes_to_login(
    start_review: StartReview, open_browser: OpenBrowser, redis_client: aioredis.Redis
) -> None:
    review = await start_review()
    group = contact_group([12, 34])
    await put_groups(redis_client, review.keys, [group])
    browser = await open_browser(review.url)
    await browser.go(f"/groups/{group.id}")
    assert (await browser.wait_for_path("/login")).startswith(f"/login?next=/groups/{group.id}")
    await browser.type("#password", PASSWORD)
    await browser.click("#login")
    await browser.wait_for_path(f"/groups/{group.id}")
    # The same form, its token taken out (as another site's copy of it would be).
    await browser.script("document.querySelector('#dismiss-form input[name=csrf]').remove()")
    await browser.click("#dismiss")
    refused = await browser.wait_for_text("#refused", "nothing was done")
    assert "security token" in refused
    assert await ReviewQueue(redis_client, review.keys).get(group.id) is not None
    assert await redis_client.zcard(review.keys.queue) == 0
    # Without its session cookie the browser is sent to the login again.
    await browser.forget_cookies()
    await browser.go("/history")
    assert (await browser.wait_for_path("/login")).startswith("/login?next=/history")

"""What the pages show: the queue (filters, counts, pages, no more personal data than
needed), a group side by side with the rules' pre-set choices, the history, the
dashboard's figures."""

from __future__ import annotations

import re
from pathlib import Path

import redis.asyncio as aioredis

from b24.client.keys import ClientKeys
from b24.client.limiter import RateLimiter
from b24.crm import EntityType
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.review import ReviewReason
from tests.review_web.conftest import NewVisitor, StartReview, ago, contact_group, put_groups

WEBHOOK = "https://portal.example.com/rest/1/page-test-secret/"


async def test_the_queue_filters_counts_and_pages(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis
) -> None:
    review = await start_review()
    groups = [
        contact_group([1000 + 2 * n, 1001 + 2 * n], first_seen=ago(3600 - n)) for n in range(55)
    ]
    groups += [contact_group([5000, 5001], ReviewReason.CONFLICT, first_seen=ago(7200))]
    await put_groups(redis_client, review.keys, groups)
    person = visitor(review)
    await person.login()
    first = await person.get("/queue")
    assert "56 waiting" in first.text and "Page 1 of 2" in first.text
    ids = re.findall(r'class="group-link" href="/groups/([^"?]+)', first.text)
    # Oldest first: the conflict came first.
    assert len(ids) == 50 and ids[0] == groups[-1].id and ids[1] == groups[0].id
    second = await person.get("/queue?page=2")
    assert len(re.findall(r'class="group-link"', second.text)) == 6
    conflicts = await person.get("/queue?reason=conflict")
    assert re.findall(r'class="group-link" href="/groups/([^"?]+)', conflicts.text) == [
        groups[-1].id
    ]
    assert (await person.get("/queue?type=company")).text.count('class="group-link"') == 0
    # The list shows ids, type, reason and field codes: no names, phones or e-mails.
    for text in (first.text, second.text):
        assert "Sidorov" not in text and "912" not in text and "@home.example" not in text
        assert "POST" in text


async def test_a_group_side_by_side_with_the_choices_the_rules_preset(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[contact]\nPOST = "newest"\n')
    review = await start_review(merge_rules_file=str(rules), b24_webhook_url=WEBHOOK)
    group = contact_group([12, 34])
    await put_groups(redis_client, review.keys, [group])
    person = visitor(review)
    await person.login()
    page = await person.get(f"/groups/{group.id}")
    assert page.status == 200
    text = page.text
    # Every field of both records, the phone matched highlighted.
    for value in ("Oleg", "Sidorov", "Engineer 0", "Engineer 1", "oleg12@home.example"):
        assert value in text, value
    assert re.search(r'<div class="matched">\+7 912 000-11-22 \(WORK\)</div>', text)
    assert 'id="row-POST"' in text and re.search(r'class="refused" id="row-POST"', text)
    assert re.search(r'class="differs" id="row-EMAIL"', text)  # Bitrix24 unites these
    # POST is ruled "newest": record 34 was modified last, its value is pre-set.
    checked = re.findall(r'name="choice.POST" value="(\d+)" checked', text)
    assert checked == ["34"]
    assert "https://portal.example.com/crm/contact/details/12/" in text
    assert "https://portal.example.com/crm/contact/merge/?id=12,34" in text
    assert "page-test-secret" not in text
    # Without a rule the survivor's value is pre-set, and the page says to check it.
    plain = await start_review()
    other = visitor(plain)
    await other.login()
    unruled = (await other.get(f"/groups/{group.id}")).text
    assert re.findall(r'name="choice.POST" value="(\d+)" checked', unruled) == ["12"]
    assert "no rule settles it" in unruled


async def test_skip_goes_to_the_next_group(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis
) -> None:
    review = await start_review()
    older, newer = (
        contact_group([1, 2], first_seen=ago(60)),
        contact_group([3, 4], first_seen=ago(30)),
    )
    await put_groups(redis_client, review.keys, [older, newer])
    person = visitor(review)
    await person.login()
    page = await person.get(f"/groups/{older.id}/skip")
    assert page.path == f"/groups/{newer.id}"
    last = await person.get(f"/groups/{newer.id}/skip")
    assert last.path == "/queue" and "That was the last group" in last.text
    gone = await person.get("/groups/contact-9-0a0b0c0d")
    assert gone.status == 404 and "no longer waits" in gone.text


async def test_the_history_newest_first_and_by_decision(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis
) -> None:
    review = await start_review()
    audit = AuditLog(redis_client, review.keys)
    snapshots = {
        "12": {"ID": "12", "NAME": "Anna", "POST": "Lawyer"},
        "34": {"ID": "34", "NAME": "Anna"},
    }
    after = {"ID": "12", "NAME": "Anna", "POST": "Lawyer", "COMMENTS": "joined"}
    merged = AuditEntry(
        EntityType.CONTACT, 12, Decision.MERGED, "same identity, shared values",
        at=ago(10), group=[12, 34], survivor=12, snapshots=snapshots,
        outcome={"status": Outcome.SUCCESS, "deleted": [34], "survivor_after": after},
    )  # fmt: skip
    skipped = AuditEntry(EntityType.CONTACT, 56, Decision.NO_MERGE, "no duplicates", at=ago(5))
    for entry in (merged, skipped):
        await audit.write(entry)
    person = visitor(review)
    await person.login()
    everything = await person.get("/history")
    assert everything.text.index(skipped.id) < everything.text.index(merged.id)
    merges = await person.get("/history?decision=merged")
    assert merged.id in merges.text and skipped.id not in merges.text
    assert f'href="/history/{merged.id}/restore"' in merges.text
    entry = await person.get(f"/history/{merged.id}")
    assert "Before and after" in entry.text and "joined" in entry.text
    assert 'id="restore"' in entry.text
    confirm = await person.get(f"/history/{merged.id}/restore")
    assert "Restore this merge?" in confirm.text and 'id="confirm-restore"' in confirm.text
    plain = await person.get(f"/history/{skipped.id}")
    assert 'id="restore"' not in plain.text


async def test_the_dashboard_figures(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis
) -> None:
    review = await start_review(b24_webhook_url=WEBHOOK, merge_mode="dry-run")
    audit = AuditLog(redis_client, review.keys)
    for n, moment in enumerate((ago(60), ago(120), ago(3 * 86_400))):
        await audit.write(
            AuditEntry(EntityType.CONTACT, n, Decision.MERGED, "merged", at=moment,
                       group=[n, n + 100], outcome={"status": Outcome.SUCCESS})
        )  # fmt: skip
    await redis_client.hset(
        review.keys.metrics,
        mapping={
            "b24dd_worker_merges_total|outcome=SUCCESS": 7,
            "b24dd_worker_merges_total|outcome=CONFLICT": 2,
            "b24dd_bitrix24_requests_total": 40,
            "b24dd_bitrix24_request_commands_total": 900,
        },
    )
    await put_groups(redis_client, review.keys, [contact_group([1, 2], ReviewReason.CONFLICT)])
    # The workers' own limiter counts three requests against the portal's burst.
    limiter = RateLimiter(
        redis_client, ClientKeys(review.keys.prefix), "portal.example.com",
        rate=0.001, burst=50, headroom=2, cooldown_base=1, cooldown_max=60, cooldown_quiet=60,
    )  # fmt: skip
    for _ in range(3):
        await limiter.acquire()
    person = visitor(review)
    await person.login()
    page = (await person.get("/")).text

    def figure(name: str) -> str:
        match = re.search(rf'id="{name}">([^<]+)<', page)
        assert match, name
        return match.group(1)

    today_merges = 2 if ago(120) > _midnight() else None
    if today_merges is not None:
        assert figure("merged-today") == str(today_merges)
    assert figure("merged-total") == "7" and figure("waiting") == "1"
    assert figure("conflicts") == "1" and figure("proposals") == "0"
    assert "2 CONFLICT answers in total" in page
    assert "MERGE_MODE is dry-run" in page
    assert re.search(r"3\.0 of 50", page), "the bucket's level"
    assert "40 carrying 900 calls" in page
    assert "page-test-secret" not in page


def _midnight() -> float:
    from review_web.figures import start_of_today

    return start_of_today()

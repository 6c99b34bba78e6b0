"""The workers' counters, summed in Redis and rendered as Prometheus text."""

from __future__ import annotations

from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.shared_metrics import render
from tests.worker.conftest import StartStack
from worker.metrics import reason_label


def test_reason_labels_drop_ids_and_values() -> None:
    assert (
        reason_label("candidates 12 and 34 differ in NAME") == "candidates N and N differ in NAME"
    )
    assert reason_label("identity differs: NAME") == "identity differs"
    # Digits inside a word are part of it (issue 11: the label read "BitrixN refused").
    assert reason_label("Bitrix24 refused this merge (CONFLICT): a field") == (
        "Bitrix24 refused this merge (CONFLICT)"
    )
    assert reason_label("UF_CRM_1750 and 3 more differ") == "UF_CRM_1750 and N more differ"


async def test_decisions_are_counted_across_jobs(start_stack: StartStack) -> None:
    stack = await start_stack()
    await stack.add("CONTACT", NAME="M", PHONE=["+7 903 800-00-01"])
    await stack.settle()
    await stack.add("CONTACT", NAME="M", PHONE=["8 903 800 00 01"])
    await stack.add("CONTACT", NAME="Alone")
    await stack.settle()
    text = await render(stack.redis.execute_command, stack.keys)
    assert f'b24dd_worker_jobs_total{{decision="{Decision.MERGED}"}} 1' in text
    assert f'b24dd_worker_merges_total{{outcome="{Outcome.SUCCESS}"}} 1' in text
    assert (
        'b24dd_worker_no_merge_total{reason="no phone or e-mail that can identify anyone"} 1'
        in text
    )
    assert "b24dd_queue_depth 0" in text
    sent = stack.emulator.engine.stats.http_requests - 3  # the test's own three adds
    assert f"b24dd_bitrix24_requests_total {sent}" in text
    assert "b24dd_limiter_wait_seconds_total" in text
    assert "# TYPE b24dd_worker_jobs_total counter" in text


async def test_the_ingress_shows_the_workers_counters(start_stack: StartStack) -> None:
    stack = await start_stack()
    await stack.add("CONTACT", NAME="Shown")
    await stack.settle()
    ingress = stack.emulator.config.events_url
    assert ingress is not None
    async with stack.http.get(ingress.replace("/webhooks/bitrix24", "/metrics")) as response:
        text = await response.text()
    assert "b24dd_ingress_events_total{" in text
    assert f'b24dd_worker_jobs_total{{decision="{Decision.NO_MERGE}"}} 1' in text
    assert "b24dd_queue_depth 0" in text

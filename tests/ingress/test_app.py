"""The ingress over HTTP with a real Redis: every answer of issue 4, and what it stores."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from b24.crm import RecordRef
from b24_dedupe.dedupe_queue import DELETED_TTL_SECONDS
from b24_dedupe.keys import DEDUPE_JOB, Keys
from b24_dedupe.settings import Settings
from tests.ingress.conftest import (
    FORM,
    NEXT_TOKEN,
    TOKEN,
    URL,
    AiohttpClient,
    captured_log,
    content_type_of,
    event_body,
    namespace_keys,
    payload,
    post_event,
    queued_jobs,
)
from webhooks_in.app import create_app

Client = TestClient[Any, Any]

RECORD_EVENTS = [
    ("ONCRMLEADADD", "LEAD"),
    ("ONCRMLEADUPDATE", "LEAD"),
    ("ONCRMCONTACTADD", "CONTACT"),
    ("ONCRMCONTACTUPDATE", "CONTACT"),
    ("ONCRMCOMPANYADD", "COMPANY"),
    ("ONCRMCOMPANYUPDATE", "COMPANY"),
]


@pytest.mark.parametrize(("event", "entity"), RECORD_EVENTS)
async def test_add_and_update_events_enqueue_a_dedupe_job(
    client: Client, redis: aioredis.Redis, keys: Keys, settings: Settings, event: str, entity: str
) -> None:
    before_ms = int(time.time() * 1000)
    status, body = await post_event(client, event_body(event, 42))
    after_ms = int(time.time() * 1000) + 1

    assert (status, body) == (200, {"result": "enqueued"})
    [job] = await queued_jobs(redis, keys)
    assert job["f"] == DEDUPE_JOB
    assert job["a"] == ()
    assert job["k"] == {"entity": entity, "entity_id": 42}
    debounce_ms = round(settings.debounce_seconds * 1000)
    assert before_ms + debounce_ms <= job["score"] <= after_ms + debounce_ms
    assert await redis.get(keys.pending(RecordRef(entity, 42))) == job["id"].encode()
    assert await redis.pttl(f"arq:job:{job['id']}") > 0
    assert await redis.pttl(keys.pending(RecordRef(entity, 42))) > 0


async def test_the_same_event_as_json_is_accepted(
    client: Client, redis: aioredis.Redis, keys: Keys
) -> None:
    response = await client.post(
        URL, data=payload("company_update.json"), headers={"Content-Type": "application/json"}
    )
    assert response.status == 200
    [job] = await queued_jobs(redis, keys)
    assert job["k"] == {"entity": "COMPANY", "entity_id": 5}


@pytest.mark.parametrize(
    "name",
    [
        "lead_add.form",
        "contact_update_app_handler.form",
        "company_update.json",
        "lead_update_lowercase.form",
    ],
)
async def test_sample_payloads_are_accepted(client: Client, name: str) -> None:
    response = await client.post(
        URL, data=payload(name), headers={"Content-Type": content_type_of(name)}
    )
    assert response.status == 200


async def test_a_burst_for_one_record_is_one_job(
    client: Client, redis: aioredis.Redis, keys: Keys
) -> None:
    outcomes = [
        (await post_event(client, event_body("ONCRMCONTACTUPDATE", 7)))[1]["result"]
        for _ in range(5)
    ]
    assert outcomes == ["enqueued"] + ["coalesced"] * 4
    assert len(await queued_jobs(redis, keys)) == 1


async def test_delete_events_are_recorded_and_enqueue_nothing(
    client: Client, redis: aioredis.Redis, keys: Keys
) -> None:
    for event, entity in [
        ("ONCRMLEADDELETE", "LEAD"),
        ("ONCRMCONTACTDELETE", "CONTACT"),
        ("ONCRMCOMPANYDELETE", "COMPANY"),
    ]:
        status, body = await post_event(client, event_body(event, 9))
        assert (status, body) == (200, {"result": "deleted"})
        assert 0 < await redis.ttl(keys.deleted(RecordRef(entity, 9))) <= DELETED_TTL_SECONDS
    assert await queued_jobs(redis, keys) == []


@pytest.mark.parametrize("name", ["deal_add_other.form", "app_install_other.form"])
async def test_other_events_are_answered_200_and_ignored_with_a_log_line(
    client: Client, redis: aioredis.Redis, keys: Keys, name: str
) -> None:
    with captured_log() as log:
        response = await client.post(URL, data=payload(name), headers={"Content-Type": FORM})
    assert response.status == 200
    assert await response.json() == {"result": "ignored"}
    assert await namespace_keys(redis, keys) == []
    [line] = log.entries()
    assert line["msg"] == "event ignored"
    assert line["outcome"] == "ignored"
    assert line["event"] in ("ONCRMDEALADD", "ONAPPINSTALL")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("lead_add_no_id.form", "data[FIELDS][ID] missing"),
        ("lead_add_id_not_numeric.form", "data[FIELDS][ID] is not a positive integer"),
        ("lead_add_id_negative.form", "data[FIELDS][ID] is not a positive integer"),
        ("no_event_name.form", "event name missing"),
        ("not_utf8.form", "body is not valid UTF-8"),
        ("truncated.json", "body is not valid JSON"),
        ("not_an_object.json", "body is not a JSON object"),
        ("data_is_a_list.json", "data[FIELDS][ID] missing"),
    ],
)
async def test_malformed_events_are_400_with_a_reason(
    client: Client, redis: aioredis.Redis, keys: Keys, name: str, reason: str
) -> None:
    response = await client.post(
        URL, data=payload(name), headers={"Content-Type": content_type_of(name)}
    )
    assert response.status == 400
    assert await response.json() == {"error": "malformed", "reason": reason}
    assert await namespace_keys(redis, keys) == []


@pytest.mark.parametrize("name", ["wrong_token.form", "no_token.form", "token_is_a_list.json"])
async def test_missing_or_wrong_token_is_401(
    client: Client, redis: aioredis.Redis, keys: Keys, name: str
) -> None:
    response = await client.post(
        URL, data=payload(name), headers={"Content-Type": content_type_of(name)}
    )
    assert response.status == 401
    assert (await response.json())["error"] == "unauthenticated"
    assert await namespace_keys(redis, keys) == []


async def test_both_tokens_of_a_rotation_are_accepted(client: Client) -> None:
    for token in (TOKEN, NEXT_TOKEN):
        status, _ = await post_event(client, event_body(token=token))
        assert status == 200


async def test_a_body_past_the_limit_is_413(
    client: Client, settings: Settings, redis: aioredis.Redis, keys: Keys
) -> None:
    padding = "x" * settings.max_body_bytes
    status, body = await post_event(client, event_body(padding=padding))
    assert status == 413
    assert body["error"] == "too_large"
    assert await namespace_keys(redis, keys) == []


async def test_a_chunked_body_past_the_limit_is_413(client: Client, settings: Settings) -> None:
    async def chunks() -> Any:
        for _ in range(settings.max_body_bytes // 512 + 2):
            yield b"x=" + b"y" * 510

    response = await client.post(URL, data=chunks(), headers={"Content-Type": FORM})
    assert response.status == 413


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=b", None])
async def test_other_content_types_are_415(client: Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post(URL, data=event_body().encode(), headers=headers)
    if content_type is None:  # aiohttp's client labels bare bytes application/octet-stream
        assert response.request_info.headers.get("Content-Type") in (
            None,
            "application/octet-stream",
        )
    assert response.status == 415
    assert (await response.json())["error"] == "unsupported_media_type"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD"])
async def test_other_methods_are_405(client: Client, method: str) -> None:
    response = await client.request(method, URL)
    assert response.status == 405
    assert response.headers["Allow"] == "POST"


async def test_redis_unavailable_is_503_logged_as_an_error(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    from b24.emulator.server import free_port

    closed = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    client = await aiohttp_client(create_app(closed))
    with captured_log() as log:
        status, body = await post_event(client, event_body("ONCRMLEADADD", 3))
    assert status == 503
    assert body["error"] == "redis_unavailable"
    [line] = log.entries()
    assert line["level"] == "ERROR"
    assert line["status"] == 503
    assert line["event"] == "ONCRMLEADADD"
    assert line["entity_id"] == 3
    ready = await client.get("/readyz")
    assert ready.status == 503
    health = await client.get("/healthz")
    assert health.status == 200


async def test_health_and_readiness(client: Client) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert await ready.json() == {"status": "ok", "redis": "up"}


async def test_metrics_count_events_by_type_and_outcome_and_time_the_enqueue(
    client: Client,
) -> None:
    await post_event(client, event_body("ONCRMLEADADD", 1))
    await post_event(client, event_body("ONCRMLEADUPDATE", 1))
    await post_event(client, event_body("ONCRMLEADDELETE", 1))
    await post_event(client, event_body("ONCRMDEALADD", 1))
    await post_event(client, event_body(token="wrong-token"))
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    lines = (await response.text()).splitlines()
    for expected in [
        'b24dd_ingress_events_total{event="ONCRMLEADADD",outcome="enqueued"} 1',
        'b24dd_ingress_events_total{event="ONCRMLEADUPDATE",outcome="coalesced"} 1',
        'b24dd_ingress_events_total{event="ONCRMLEADDELETE",outcome="deleted"} 1',
        'b24dd_ingress_events_total{event="other",outcome="ignored"} 1',
        'b24dd_ingress_events_total{event="-",outcome="unauthenticated"} 1',
        "# TYPE b24dd_ingress_enqueue_seconds histogram",
        'b24dd_ingress_enqueue_seconds_bucket{le="+Inf"} 3',
        "b24dd_ingress_enqueue_seconds_count 3",
    ]:
        assert expected in lines


async def test_one_json_log_line_per_outcome_and_never_the_token(client: Client) -> None:
    with captured_log() as log:
        await post_event(client, event_body("ONCRMCONTACTADD", 11))
        await post_event(client, event_body("ONCRMCONTACTADD", 11))
        await post_event(client, event_body("ONCRMCONTACTADD", "x"))
        await post_event(client, event_body(token="not-" + TOKEN))
        await client.get(URL)
    entries = log.entries()
    assert [(e["status"], e["outcome"]) for e in entries] == [
        (200, "enqueued"),
        (200, "coalesced"),
        (400, "malformed"),
        (401, "unauthenticated"),
        (405, "method_not_allowed"),
    ]
    assert entries[0]["entity"] == "CONTACT"
    assert entries[0]["entity_id"] == 11
    assert entries[0]["member_id"] == "a223c6b3710f85df22e9377d6c4f7553"
    assert entries[0]["domain"] == "portal.bitrix24.ru"
    assert list(entries[0])[:4] == ["ts", "level", "logger", "msg"]
    assert TOKEN not in log.text


async def test_responses_are_json(client: Client) -> None:
    response = await client.post(URL, data=event_body(), headers={"Content-Type": FORM})
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(await response.text()) == {"result": "enqueued"}

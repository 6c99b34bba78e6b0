"""Property: whatever a client sends, the ingress never answers 5xx, and nothing
without the token is ever stored or enqueued."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b24.phpquery import encode_php_query
from b24_dedupe.keys import Keys
from tests.ingress.conftest import FORM, NEXT_TOKEN, TOKEN, URL, namespace_keys

Client = TestClient[Any, Any]

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
CONTENT_TYPES = st.sampled_from(
    [
        FORM,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        None,
        "application/x-www-form-urlencoded; charset=windows-1251",
    ]
)
not_a_token = st.text(max_size=40).filter(lambda t: t.strip() not in (TOKEN, NEXT_TOKEN))
field_names = st.sampled_from(
    [
        "event",
        "data[FIELDS][ID]",
        "data[FIELDS]",
        "data",
        "auth[application_token]",
        "auth[member_id]",
        "auth[domain]",
        "auth",
        "ts",
        "event_handler_id",
        "data[FIELDS][ID][]",
    ]
) | st.text(max_size=20)
event_names = st.sampled_from(
    ["ONCRMLEADADD", "ONCRMCONTACTUPDATE", "ONCRMCOMPANYDELETE", "ONCRMDEALADD", "oncrmleadadd"]
) | st.text(max_size=30)
record_ids = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(max_size=25),
    st.just(""),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(field_names, st.text(max_size=30)), max_size=15))
    if draw(st.booleans()):
        pairs.append(("event", draw(event_names)))
        pairs.append(("data[FIELDS][ID]", draw(record_ids)))
    if draw(st.booleans()):
        pairs.append(("auth[application_token]", draw(not_a_token)))
    return encode_php_query(pairs).encode()


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    document: Any = draw(json_values)
    if draw(st.booleans()):
        document = {
            "event": draw(event_names),
            "data": {"FIELDS": {"ID": draw(record_ids | st.integers() | json_values)}},
            "auth": {"application_token": draw(not_a_token | json_values)},
        }
    return json.dumps(document).encode()


bodies = st.binary(max_size=3000) | form_bodies() | json_bodies()


async def send(client: Client, body: bytes, content_type: str | None) -> int:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    response = await client.post(URL, data=body, headers=headers)
    await response.read()
    return response.status


@PROPERTY
@given(body=bodies, content_type=CONTENT_TYPES)
async def test_random_bodies_never_5xx_and_never_enqueue(
    client: Client, redis: aioredis.Redis, keys: Keys, body: bytes, content_type: str | None
) -> None:
    status = await send(client, body, content_type)
    assert status in (400, 401, 413, 415), status
    assert await namespace_keys(redis, keys) == []


@st.composite
def authenticated_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    event = draw(event_names)
    record_id = draw(record_ids)
    fields = {
        "event": event,
        "data": {"FIELDS": {"ID": record_id}},
        "auth": {"application_token": draw(st.sampled_from([TOKEN, NEXT_TOKEN]))},
    }
    if draw(st.booleans()):
        return json.dumps(fields).encode(), "application/json"
    return encode_php_query(fields).encode(), FORM


@PROPERTY
@given(delivery=authenticated_bodies())
async def test_authenticated_random_events_never_5xx_and_enqueue_only_when_accepted(
    client: Client, redis: aioredis.Redis, keys: Keys, delivery: tuple[bytes, str]
) -> None:
    body, content_type = delivery
    queued_before = await redis.zcard(keys.queue)
    response = await client.post(URL, data=body, headers={"Content-Type": content_type})
    answer = await response.json()
    assert response.status in (200, 400), response.status
    queued_after = await redis.zcard(keys.queue)
    if answer.get("result") == "enqueued":
        assert queued_after == queued_before + 1
    else:
        assert queued_after == queued_before

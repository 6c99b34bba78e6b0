"""b24.events: sample deliveries kept as files, replayed through the pure parser."""

from __future__ import annotations

import json
from typing import Any

import pytest

from b24 import events
from b24.events import (
    BodyTooLarge,
    Change,
    EventRejected,
    MalformedEvent,
    Unauthenticated,
    UnsupportedMediaType,
    parse_event,
    token_accepted,
)
from tests.ingress.conftest import FORM, NEXT_TOKEN, PAYLOADS, TOKEN, content_type_of, payload

EXPECTED: dict[str, dict[str, Any]] = {
    name: expected
    for name, expected in json.loads((PAYLOADS / "expected.json").read_text()).items()
    if not name.startswith("_")
}
LIMIT = 8192


def parse(name: str, *, tokens: tuple[str, ...] = (TOKEN,)) -> events.Event:
    headers = {"Content-Type": content_type_of(name)}
    return parse_event(headers, payload(name), tokens, max_body_bytes=LIMIT)


def test_every_payload_file_has_an_expectation() -> None:
    files = {p.name for p in PAYLOADS.iterdir() if p.suffix in (".form", ".json")}
    files.discard("expected.json")
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["status"] == 200))
def test_sample_events_are_read(name: str) -> None:
    expected = dict(EXPECTED[name])
    expected.pop("status")
    event = parse(name)
    for field, value in expected.items():
        actual = getattr(event, field)
        assert (actual.value if isinstance(actual, Change) else actual) == value, field


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["status"] != 200))
def test_sample_deliveries_are_refused_with_status_and_reason(name: str) -> None:
    expected = EXPECTED[name]
    with pytest.raises(EventRejected) as refused:
        parse(name)
    assert refused.value.status == expected["status"]
    assert expected["reason"] in refused.value.reason


def test_the_six_add_and_update_events_and_three_deletes_name_their_record() -> None:
    assert {
        name: (entity, change.value) for name, (entity, change) in events.CRM_EVENTS.items()
    } == {
        f"ONCRM{entity}{change}": (entity, change)
        for entity in ("LEAD", "CONTACT", "COMPANY")
        for change in ("ADD", "UPDATE", "DELETE")
    }


def test_any_of_several_tokens_is_accepted_for_rotation() -> None:
    body = payload("lead_add.form").replace(TOKEN.encode(), NEXT_TOKEN.encode())
    headers = {"content-type": FORM}
    event = parse_event(headers, body, ("old-token-aaaaaa", NEXT_TOKEN), max_body_bytes=LIMIT)
    assert event.entity_id == 1201
    with pytest.raises(Unauthenticated):
        parse_event(headers, body, (TOKEN,), max_body_bytes=LIMIT)


def test_no_configured_token_accepts_nothing() -> None:
    with pytest.raises(Unauthenticated):
        parse("lead_add.form", tokens=())


@pytest.mark.parametrize(
    "candidate",
    [None, "", 17, ["payload-token-3f9c2a"], TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "\ud800"],
)
def test_token_compare_refuses_near_misses_and_other_types(candidate: object) -> None:
    assert not token_accepted(candidate, [TOKEN])


def test_token_compare_matches_exactly() -> None:
    assert token_accepted(TOKEN, ["other-token-123", TOKEN])


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
    ],
)
def test_form_content_type_with_parameters_or_case(content_type: str) -> None:
    event = parse_event(
        {"Content-Type": content_type}, payload("lead_add.form"), (TOKEN,), max_body_bytes=LIMIT
    )
    assert event.entity == "LEAD"


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "multipart/form-data; boundary=x", "application/xml"]
)
def test_other_content_types_are_415(content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    with pytest.raises(UnsupportedMediaType) as refused:
        parse_event(headers, payload("lead_add.form"), (TOKEN,), max_body_bytes=LIMIT)
    assert refused.value.status == 415


def test_a_body_past_the_limit_is_413_before_it_is_read() -> None:
    body = payload("lead_add.form")
    with pytest.raises(BodyTooLarge) as refused:
        parse_event({"Content-Type": FORM}, body, (TOKEN,), max_body_bytes=len(body) - 1)
    assert refused.value.status == 413
    assert parse_event({"Content-Type": FORM}, body, (TOKEN,), max_body_bytes=len(body))


def test_a_declared_length_past_the_limit_is_413() -> None:
    with pytest.raises(BodyTooLarge):
        events.check_length(8193, 8192)
    events.check_length(None, 8192)  # chunked: the read is limited instead
    events.check_length(8192, 8192)


def test_too_many_fields_is_malformed() -> None:
    body = payload("lead_add.form") + b"&x=1" * events.MAX_FIELDS
    with pytest.raises(MalformedEvent, match="fields"):
        parse_event({"Content-Type": FORM}, body, (TOKEN,), max_body_bytes=1 << 20)


def test_form_decoding_follows_php_for_plus_percent_and_duplicates() -> None:
    body = (
        "event=ONCRMLEADADD&data%5bFIELDS%5d%5bID%5d=9&data[FIELDS][ID]=10"
        f"&auth[domain]=a+b%2Bc.bitrix24.ru&auth%5Bapplication_token%5D={TOKEN}"
    ).encode()
    event = parse_event({"Content-Type": FORM}, body, (TOKEN,), max_body_bytes=LIMIT)
    assert event.entity_id == 10  # the later duplicate wins, as in PHP
    assert event.domain == "a b+c.bitrix24.ru"


def test_json_deeper_than_an_event_is_not_read_as_one() -> None:
    body = json.dumps(
        {
            "event": "ONCRMLEADADD",
            "data": {"FIELDS": {"ID": {"x": "5"}}},
            "auth": {"application_token": TOKEN},
        }
    ).encode()
    with pytest.raises(MalformedEvent, match="missing"):
        parse_event({"Content-Type": "application/json"}, body, (TOKEN,), max_body_bytes=LIMIT)


@pytest.mark.parametrize("body", [b"[" * 5000, b'{"a":' + b"9" * 5000 + b"}", b"\xff\xfe{}"])
def test_json_that_python_cannot_read_is_malformed_not_an_error(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_event({"Content-Type": "application/json"}, body, (TOKEN,), max_body_bytes=len(body))


def test_an_unauthenticated_caller_learns_nothing_about_the_structure() -> None:
    # Same body, once without and once with the token: 401 first, 400 only with the token.
    with pytest.raises(Unauthenticated):
        parse("malformed_and_no_token.form")
    body = payload("malformed_and_no_token.form") + f"&auth[application_token]={TOKEN}".encode()
    with pytest.raises(MalformedEvent):
        parse_event({"Content-Type": FORM}, body, (TOKEN,), max_body_bytes=LIMIT)


def test_headers_are_found_whatever_their_case() -> None:
    for name in ("Content-Type", "content-type", "CONTENT-TYPE"):
        event = parse_event({name: FORM}, payload("lead_add.form"), (TOKEN,), max_body_bytes=LIMIT)
        assert event.is_record_event

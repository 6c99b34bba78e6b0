"""(status, body) → result or exception, without a network (b24.client.responses)."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from b24.client import errors
from b24.client.responses import Answer, Page, error_for, read_answer, read_batch

TIME = {
    "start": 1750684060.67,
    "finish": 1750684060.72,
    "duration": 0.05,
    "processing": 0.018,
    "operating_reset_at": 1750684660,
    "operating": 12.5,
}


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_a_result_comes_with_its_time_block() -> None:
    # The REST docs' crm.duplicate.findbycomm example.
    answer = read_answer(200, body({"result": {"CONTACT": [275, 2297]}, "time": TIME}), method="m")
    assert answer.result == {"CONTACT": [275, 2297]}
    assert answer.total is None and answer.next is None
    assert answer.timing is not None
    assert answer.timing.operating == 12.5
    assert answer.timing.operating_reset_at == 1750684660
    assert answer.timing.processing == 0.018


def test_a_list_page_carries_total_and_next() -> None:
    answer = read_answer(
        200, body({"result": [{"ID": "1"}], "total": 120, "next": 50}), method="crm.lead.list"
    )
    assert Page.from_answer(answer, method="crm.lead.list") == Page([{"ID": "1"}], 120, 50)


def test_a_page_that_is_not_a_list_is_a_method_error() -> None:
    with pytest.raises(errors.MethodError):
        Page.from_answer(Answer({"x": 1}), method="crm.lead.get")


def test_findbycomm_without_match_is_an_empty_list() -> None:
    # No match answers "result": [] (an array, not an object), as portals do.
    assert read_answer(200, body({"result": [], "time": TIME}), method="m").result == []


@pytest.mark.parametrize(
    ("status", "code", "description", "kind"),
    [
        (503, "QUERY_LIMIT_EXCEEDED", "Too many requests", errors.RateLimited),
        (429, "OPERATION_TIME_LIMIT", "Method is blocked", errors.OperatingLimit),
        (503, "OVERLOAD_LIMIT", "REST API is blocked due to overload", errors.Overloaded),
        (401, "NO_AUTH_FOUND", "Wrong authorization data", errors.AuthError),
        (401, "expired_token", "The access token provided has expired", errors.AuthError),
        (
            403,
            "ACCESS_DENIED",
            "REST API is available only on commercial plans",
            errors.PermissionDenied,
        ),
        (403, "INVALID_CREDENTIALS", "Invalid request credentials", errors.PermissionDenied),
        (
            403,
            "insufficient_scope",
            "The request requires higher privileges",
            errors.PermissionDenied,
        ),
        (403, "user_access_error", "The user does not have access", errors.PermissionDenied),
        (500, "INTERNAL_SERVER_ERROR", "Internal server error", errors.TransientError),
        (
            500,
            "ERROR_UNEXPECTED_ANSWER",
            "Server returned an unexpected response",
            errors.TransientError,
        ),
        (500, "PORTAL_DELETED", "Portal was deleted", errors.MethodError),
        (502, "SOMETHING_NEW", "", errors.TransientError),
        (400, "", "Not found", errors.NotFound),
        (400, 0, "Owner was not found", errors.NotFound),
        (404, "ERROR_METHOD_NOT_FOUND", "Method not found!", errors.MethodError),
        (400, "Field not found", "The specified field was not found.", errors.MethodError),
        # not run: resent in smaller batches (tests/client/test_batch_length.py)
        (
            400,
            "ERROR_BATCH_LENGTH_EXCEEDED",
            "Max batch length exceeded",
            errors.BatchLengthExceeded,
        ),
        (
            405,
            "ERROR_BATCH_METHOD_NOT_ALLOWED",
            "Method is not allowed for batch usage",
            errors.MethodError,
        ),
        (400, "INVALID_REQUEST", "Https required", errors.MethodError),
        (400, 0, "The parameter entityIds must contain at least two elements.", errors.MethodError),
    ],
)
def test_the_docs_error_table(status: int, code: Any, description: str, kind: type) -> None:
    document = {"error": code, "error_description": description}
    with pytest.raises(errors.B24Error) as raised:
        read_answer(status, body(document), method="crm.contact.get")
    assert type(raised.value) is kind
    assert raised.value.method == "crm.contact.get"
    assert description in str(raised.value)


def test_a_method_error_keeps_code_description_and_status() -> None:
    error = error_for(
        400, "Communication type is not defined", "Parameter 'type' is required.", method="m"
    )
    assert isinstance(error, errors.MethodError)
    assert not isinstance(error, errors.NotFound)
    assert (error.code, error.description, error.status) == (
        "Communication type is not defined",
        "Parameter 'type' is required.",
        400,
    )


def test_operating_limit_carries_its_reset_time_when_the_answer_has_one() -> None:
    document = {"error": "OPERATION_TIME_LIMIT", "error_description": "blocked", "time": TIME}
    with pytest.raises(errors.OperatingLimit) as raised:
        read_answer(429, body(document), method="crm.entity.mergeBatch")
    assert raised.value.reset_at == 1750684660
    assert raised.value.method == "crm.entity.mergeBatch"
    bare = error_for(429, "OPERATION_TIME_LIMIT", "blocked", method="m")
    assert isinstance(bare, errors.OperatingLimit) and bare.reset_at is None


@pytest.mark.parametrize(
    ("status", "raw", "kind"),
    [
        (504, b"<html><h1>504 Gateway Time-out</h1></html>", errors.TransientError),
        (502, b"", errors.TransientError),
        (200, b"{truncated", errors.TransientError),
        (200, b'["not an object"]', errors.TransientError),
        (200, b'{"time": {}}', errors.TransientError),
        (404, b"<html>Not Found</html>", errors.MethodError),
        (400, b'{"time": {}}', errors.MethodError),
    ],
)
def test_answers_that_are_not_rest_answers(status: int, raw: bytes, kind: type) -> None:
    with pytest.raises(errors.B24Error) as raised:
        read_answer(status, raw, method="crm.lead.get")
    assert type(raised.value) is kind


def test_errors_can_be_copied_and_pickled() -> None:
    error = error_for(429, "OPERATION_TIME_LIMIT", "blocked", method="m", timing=None)
    for clone in (copy.copy(error), pickle.loads(pickle.dumps(error))):
        assert type(clone) is errors.OperatingLimit
        assert str(clone) == str(error)
        assert clone.method == "m"
    method_error = error_for(400, "X", "y", method="m")
    clone = pickle.loads(pickle.dumps(method_error))
    assert isinstance(clone, errors.MethodError) and clone.code == "X" and clone.status == 400


def batch_answer(**parts: Any) -> Answer:
    result = {
        "result": [],
        "result_error": [],
        "result_total": [],
        "result_next": [],
        "result_time": [],
    }
    result.update(parts)
    return read_answer(200, body({"result": result, "time": TIME}), method="batch")


def test_each_sub_call_of_a_batch_gets_its_own_outcome() -> None:
    answer = batch_answer(
        result={"get": {"ID": "5"}, "list": [{"ID": "1"}], "none": []},
        result_error={
            "gone": {"error": "", "error_description": "Not found"},
            "slow": {"error": "OPERATION_TIME_LIMIT", "error_description": "blocked"},
            "bad": {"error": "Communication type is not defined", "error_description": "x"},
        },
        result_total={"list": 51},
        result_next={"list": 50},
        result_time={"slow": {**TIME, "operating_reset_at": 1750685000}, "get": TIME},
    )
    methods = {
        "get": "crm.contact.get",
        "list": "crm.contact.list",
        "none": "crm.duplicate.findbycomm",
        "gone": "crm.contact.get",
        "slow": "crm.duplicate.findbycomm",
        "bad": "crm.duplicate.findbycomm",
        "skipped": "crm.contact.get",
    }
    outcomes = read_batch(answer, methods)
    got = outcomes["get"]
    assert isinstance(got, Answer) and got.result == {"ID": "5"} and got.timing is not None
    assert outcomes["list"] == Answer([{"ID": "1"}], total=51, next=50)
    assert outcomes["none"] == Answer([])
    assert isinstance(outcomes["gone"], errors.NotFound)
    slow = outcomes["slow"]
    assert isinstance(slow, errors.OperatingLimit) and slow.reset_at == 1750685000
    bad = outcomes["bad"]
    assert isinstance(bad, errors.MethodError) and bad.code == "Communication type is not defined"
    assert bad.status == 0
    assert isinstance(outcomes["skipped"], errors.NotExecuted)


def test_a_batch_with_numeric_keys_comes_back_as_lists() -> None:
    # PHP's json_encode turns keys 0..n-1 into a JSON list.
    answer = batch_answer(result=[{"ID": "1"}, {"ID": "2"}])
    outcomes = read_batch(answer, {"0": "crm.lead.get", "1": "crm.lead.get"})
    assert outcomes == {"0": Answer({"ID": "1"}), "1": Answer({"ID": "2"})}

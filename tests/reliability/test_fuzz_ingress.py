"""The ingress process (``b24-dedupe web``) under hostile input, over raw TCP.

tests/ingress/test_property.py drives the app in-process with random bodies and
content types; this goes at the real process with what a client library would never
send: bodies past the limit (declared, actual, chunked), deep and repeated keys,
non-UTF-8 bytes in the body, the headers and the path, protocol garbage, forged
tokens and tokens probed for timing, and well-formed events in between as controls.

Zero 5xx answers; nothing stored in Redis from a rejected request (rejected requests
name records of their own range); the process's memory flat: its RSS after the
warm-up and after all the rest differ by less than RSS_GROWTH_LIMIT; and no ERROR
line in its log, for a client's garbage is not an error of ours (anyone could fill
the error log with it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp.http_exceptions import BadHttpMessage

from b24.phpquery import encode_php_query
from b24_dedupe.logs import ClientFaultFilter
from tests.reliability.conftest import Cluster, RunLength, StartCluster, elapsed

PATH = "/webhooks/bitrix24"
FORM = "application/x-www-form-urlencoded"
# Controls name records 1..CONTROL_IDS; every other request names one above it.
CONTROL_IDS = 100_000
RSS_GROWTH_LIMIT = 8 * 1024 * 1024
ANSWER_SECONDS = 10.0  # bound on one answer
CONCURRENCY = 8
RECORD_KEY = re.compile(r":(?:LEAD|CONTACT|COMPANY):(\d+)$")


@dataclass(frozen=True)
class Attempt:
    kind: str
    raw: bytes
    record: int  # the record it names (controls: 1..CONTROL_IDS)
    control: bool = False
    patience: float = ANSWER_SECONDS  # bound on waiting for its answer


def http(
    body: bytes,
    *,
    content_type: str | bytes | None = FORM,
    method: str = "POST",
    path: str | bytes = PATH,
    headers: list[bytes] | None = None,
    length: int | None = None,
) -> bytes:
    """One HTTP/1.1 request as bytes, closing the connection after the answer."""
    lines = [
        method.encode()
        + b" "
        + (path if isinstance(path, bytes) else path.encode())
        + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
    ]
    if content_type is not None:
        kind = content_type if isinstance(content_type, bytes) else content_type.encode()
        lines.append(b"Content-Type: " + kind)
    lines.append(b"Content-Length: %d" % (len(body) if length is None else length))
    lines += headers or []
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def event_fields(
    token: Any, record: int | str, event: str = "ONCRMCONTACTUPDATE"
) -> dict[str, Any]:
    return {
        "event": event,
        "event_handler_id": "1",
        "data": {"FIELDS": {"ID": str(record)}},
        "ts": str(int(time.time())),
        "auth": {"domain": "portal.example", "member_id": "m1", "application_token": token},
    }


class Fuzzer:
    """Hostile requests, drawn from a seeded generator."""

    def __init__(self, token: str, seed: int) -> None:
        self.token = token
        self.rng = random.Random(seed)
        self.next_record = CONTROL_IDS
        self.controls = 0

    def record(self) -> int:
        self.next_record += 1
        return self.next_record

    def forged_token(self) -> str:
        t, rng = self.token, self.rng
        i = rng.randrange(len(t))
        return rng.choice(
            [
                t[:i],
                t + rng.choice(["x", " ", "\x00", "%00"]),
                t[:i] + chr(ord(t[i]) ^ 1) + t[i + 1 :],
                t.upper(),
                " " + t,
                t.replace("e", "е"),  # a Cyrillic е
                "",
                "x" * rng.choice([1, 64, 4000]),
                t[::-1],
            ]
        )

    def draw(self) -> Attempt:
        rng = self.rng
        maker: Callable[[], Attempt] = rng.choice(
            [
                self.control,
                self.forged,
                self.random_bytes,
                self.too_large,
                self.deep,
                self.repeated,
                self.not_utf8,
                self.wrong_type,
                self.garbage,
                self.wrong_method,
                self.authenticated_but_malformed,
                self.token_elsewhere,
            ]
        )
        return maker()

    # -- the kinds ---------------------------------------------------------------
    def control(self) -> Attempt:
        self.controls += 1
        record = self.rng.randrange(1, CONTROL_IDS)
        if self.rng.random() < 0.5:
            body = encode_php_query(event_fields(self.token, record)).encode()
            return Attempt("control", http(body), record, control=True)
        body = json.dumps(event_fields(self.token, record)).encode()
        return Attempt("control", http(body, content_type="application/json"), record, True)

    def forged(self) -> Attempt:
        record = self.record()
        body = encode_php_query(event_fields(self.forged_token(), record)).encode()
        return Attempt("forged token", http(body), record)

    def random_bytes(self) -> Attempt:
        body = self.rng.randbytes(self.rng.randrange(0, 4000))
        kind = self.rng.choice([FORM, "application/json", None, "text/plain"])
        return Attempt("random body", http(body, content_type=kind), self.record())

    def too_large(self) -> Attempt:
        record = self.record()
        fields = event_fields(self.token, record)
        fields["pad"] = "x" * self.rng.choice([9_000, 100_000, 2_000_000])
        body = encode_php_query(fields).encode()
        how = self.rng.choice(["actual", "declared", "chunked"])
        if how == "declared":  # a length past the limit, and a body that never comes
            return Attempt("huge body", http(b"", length=50_000_000), record)
        if how == "chunked":
            chunks = b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536])
                for i in range(0, len(body), 65536)
            )
            head = http(b"", headers=[b"Transfer-Encoding: chunked"]).replace(
                b"Content-Length: 0\r\n", b""
            )
            return Attempt("huge body", head + chunks + b"0\r\n\r\n", record)
        return Attempt("huge body", http(body), record)

    def deep(self) -> Attempt:
        depth = self.rng.choice([100, 1000, 4000])
        if self.rng.random() < 0.5:
            body = b"[" * depth + b"]" * depth
        else:
            body = b'{"a":' * depth + b"1" + b"}" * depth
        return Attempt("deep nesting", http(body, content_type="application/json"), self.record())

    def repeated(self) -> Attempt:
        record = self.record()
        count = self.rng.choice([101, 500, 2000])
        if self.rng.random() < 0.5:
            body = b"&".join([b"event=ONCRMCONTACTUPDATE"] * count)
            body += b"&data[FIELDS][ID]=%d" % record
            return Attempt("repeated keys", http(body), record)
        pairs = ",".join([f'"data":{{"FIELDS":{{"ID":"{record}"}}}}'] * (count // 10))
        body = ('{"event":"ONCRMCONTACTADD",' + pairs + "}").encode()
        return Attempt("repeated keys", http(body, content_type="application/json"), record)

    def not_utf8(self) -> Attempt:
        record = self.record()
        body = encode_php_query(event_fields(self.token, record)).encode()
        where = self.rng.choice(["body", "header", "path", "token"])
        if where == "body":
            return Attempt("non-UTF-8", http(b"\xff\xfe" + body + b"\xc3\x28"), record)
        if where == "header":
            return Attempt("non-UTF-8", http(body, content_type=FORM.encode() + b"\xff"), record)
        if where == "path":
            return Attempt("non-UTF-8", http(body, path=PATH.encode() + b"\xff\xfe"), record)
        raw = body.replace(quote(self.token, safe="").encode(), b"%FF%FE" + b"\xff")
        return Attempt("non-UTF-8", http(raw), record)

    def wrong_type(self) -> Attempt:
        record = self.record()
        body = encode_php_query(event_fields(self.token, record)).encode()
        kind = self.rng.choice(
            [
                "text/plain",
                "multipart/form-data; boundary=x",
                "application/xml",
                "",
                "*/*",
                "a" * 5000,
            ]
        )
        return Attempt("wrong content type", http(body, content_type=kind or None), record)

    def garbage(self) -> Attempt:
        record = self.record()
        rng = self.rng
        raw = rng.choice(
            [
                rng.randbytes(rng.randrange(1, 2000)),
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                b"POST " + b"/" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                http(b"", headers=[b"X-Big: " + b"a" * 20_000]),
                http(b"", headers=[b"X-%d: 1" % i for i in range(300)]),
                http(b"event=x", headers=[b"Transfer-Encoding: chunked"]),
                http(b"event=x", length=-1),
                http(b"event=x", headers=[b"Content-Length: abc"]),
                b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                b"\r\n\r\nzz\r\nevent\r\n0\r\n\r\n",
                b"GET / HTTP/0.9\r\n\r\n",
                b"\r\n\r\n\r\n",
            ]
        )
        # Some of it is a request cut short, which the server waits to hear the rest of.
        return Attempt("protocol garbage", raw, record, patience=1.0)

    def wrong_method(self) -> Attempt:
        record = self.record()
        body = encode_php_query(event_fields(self.token, record)).encode()
        method = self.rng.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"])
        return Attempt("wrong method", http(body, method=method), record)

    def authenticated_but_malformed(self) -> Attempt:
        record = self.record()
        rng = self.rng
        fields = event_fields(self.token, record)
        broken = rng.choice(
            [
                {"data": {"FIELDS": {"ID": "9" * 5000}}},
                {"data": {"FIELDS": {"ID": "-" + str(record)}}},
                {"data": {"FIELDS": {"ID": "١٢٣"}}},  # Arabic-Indic digits
                {"data": {"FIELDS": {"ID": ""}}},
                {"event": ""},
                {"data": "x"},
            ]
        )
        fields.update(broken)
        if rng.random() < 0.5:
            return Attempt("malformed with token", http(encode_php_query(fields).encode()), record)
        raw = json.dumps(fields).encode()
        if rng.random() < 0.3:  # an ID as a number past any int
            raw = raw.replace(b'"ID": "', b'"ID": 1' + b"0" * 5000 + b', "x": "')
        return Attempt("malformed with token", http(raw, content_type="application/json"), record)

    def token_elsewhere(self) -> Attempt:
        record = self.record()
        fields = event_fields(None, record)
        del fields["auth"]["application_token"]
        place = self.rng.choice(["query", "header", "other field", "json types"])
        token = quote(self.token, safe="")
        body = encode_php_query(fields).encode()
        if place == "query":
            return Attempt(
                "token elsewhere",
                http(body, path=f"{PATH}?auth[application_token]={token}"),
                record,
            )
        if place == "header":
            return Attempt(
                "token elsewhere", http(body, headers=[b"Authorization: " + token.encode()]), record
            )
        if place == "other field":
            body += b"&auth[token]=" + token.encode()
            return Attempt("token elsewhere", http(body), record)
        fields["auth"]["application_token"] = self.rng.choice(
            [[self.token], {"0": self.token}, 0, True, None]
        )
        return Attempt(
            "token elsewhere",
            http(json.dumps(fields).encode(), content_type="application/json"),
            record,
        )


async def send(port: int, raw: bytes, patience: float = ANSWER_SECONDS) -> int | None:
    """Write ``raw``, read the answer's status; None when the server closed without one.

    The server may answer before it has read the body (413 on a declared length): the
    status line is read while the rest is still being written, then the connection is
    dropped. None when the server had nothing to answer within ``patience`` (it waits
    for the rest of a request cut short).
    """
    head = b""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)  # buffered by the transport; not awaited
        async with asyncio.timeout(patience):
            head = await reader.readline()
    except (ConnectionError, TimeoutError):
        pass
    finally:
        writer.transport.abort()
    parts = head.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def fire(
    cluster: Cluster, attempts: list[Attempt], answers: Counter[tuple[str, Any]]
) -> list[Attempt]:
    """Send ``attempts``, CONCURRENCY at a time; answers the 5xx ones."""
    queue = list(attempts)
    failed: list[Attempt] = []

    async def lane() -> None:
        while queue:
            attempt = queue.pop()
            status = await send(cluster.ingress_port, attempt.raw, attempt.patience)
            answers[(attempt.kind, status)] += 1
            if status is not None and status >= 500:
                failed.append(attempt)

    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return failed


async def timing_probe(cluster: Cluster, token: str, rounds: int) -> dict[str, float]:
    """Median answer times (ms) for tokens sharing 0, half and all but one character
    with the real one. Reported, not asserted: the compare is hmac.compare_digest."""
    medians = {}
    for share in (0, len(token) // 2, len(token) - 1):
        probe = token[:share] + "#" * (len(token) - share)
        body = encode_php_query(event_fields(probe, CONTROL_IDS + 1)).encode()
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            assert await send(cluster.ingress_port, http(body)) == 401
            times.append((time.perf_counter() - started) * 1000)
        medians[f"{share} of {len(token)} characters right"] = round(statistics.median(times), 3)
    return medians


async def test_the_ingress_under_fuzzing_answers_no_5xx_stores_nothing_and_stays_flat(
    start_cluster: StartCluster, run_length: RunLength, figures: dict[str, Any]
) -> None:
    started = time.monotonic()
    cluster = await start_cluster(workers=0, debounce_seconds=3600)
    fuzzer = Fuzzer(cluster.token, seed=51)
    answers: Counter[tuple[str, Any]] = Counter()
    pid = cluster.ingress.pid
    assert pid is not None
    loop = asyncio.get_running_loop()
    seconds = run_length.seconds(short=0)
    # The allocator's pools fill during the first requests: RSS is measured from the
    # end of a warm-up (300 requests, or a fifth of a soak run) to the end.
    warm = loop.time() + seconds / 5
    failed = await fire(cluster, [fuzzer.draw() for _ in range(300)], answers)
    while loop.time() < warm:
        failed += await fire(cluster, [fuzzer.draw() for _ in range(1500)], answers)
    before = rss(pid)
    end = loop.time() + seconds * 4 / 5
    rounds = 0
    samples = []
    while rounds == 0 or loop.time() < end:
        failed += await fire(cluster, [fuzzer.draw() for _ in range(1500)], answers)
        rounds += 1
        samples.append(round(rss(pid) / 2**20, 1))
    after = rss(pid)
    timings = await timing_probe(cluster, cluster.token, rounds=20)
    stored = {
        int(match.group(1))
        async for key in cluster.redis.scan_iter(match=cluster.keys.prefix + "*")
        if (match := RECORD_KEY.search(key.decode()))
    }
    wrongly_stored = sorted(i for i in stored if i > CONTROL_IDS)
    log = cluster.ingress.output().splitlines()
    errors = [line for line in log if '"level": "ERROR"' in line]
    by_kind: dict[str, dict[str, int]] = {}
    for (kind, status), n in sorted(answers.items(), key=str):
        by_kind.setdefault(kind, {})[str(status)] = n
    figures.update(
        seconds=elapsed(started),
        requests=sum(answers.values()),
        bad_inputs=sum(n for (kind, _), n in answers.items() if kind != "control"),
        answers_by_kind=by_kind,
        answers_5xx=len(failed),
        stored_from_rejected_requests=len(wrongly_stored),
        error_log_lines=len(errors),
        bad_http_warnings=sum("bad HTTP request" in line for line in log),
        rss_before_mb=round(before / 2**20, 1),
        rss_after_mb=round(after / 2**20, 1),
        rss_mb_every_1500_requests=samples[:: max(1, len(samples) // 10)],
        token_probe_median_ms=timings,
    )
    assert failed == [], [(a.kind, a.raw[:200]) for a in failed[:5]]
    assert wrongly_stored == []
    controls = {k: n for (kind, k), n in answers.items() if kind == "control"}
    assert set(controls) == {200}, controls
    rejected = {s for (kind, s), _ in answers.items() if kind != "control"}
    assert all(s is None or 400 <= s < 500 for s in rejected), rejected
    assert after - before < RSS_GROWTH_LIMIT, (before, after)
    assert errors == [], errors[:3]
    assert cluster.ingress.running


def test_a_clients_garbage_is_a_warning_and_our_own_failure_an_error() -> None:
    def logged(fault: BaseException) -> logging.LogRecord:
        record = logging.LogRecord(
            "aiohttp.server", logging.ERROR, "", 0, "Error handling request from %s",
            ("127.0.0.1",), (type(fault), fault, None),
        )  # fmt: skip
        ClientFaultFilter().filter(record)
        return record

    garbage = logged(BadHttpMessage("Invalid character in Content-Length"))
    assert garbage.levelno == logging.WARNING and garbage.exc_info is None
    assert garbage.getMessage().startswith("bad HTTP request from 127.0.0.1: 400")
    ours = logged(RuntimeError("a bug in a handler"))
    assert ours.levelno == logging.ERROR and ours.exc_info is not None

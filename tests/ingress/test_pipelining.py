"""AutoPipeline (one connection, commands of one loop iteration in one write) and the
scripts' EVALSHA fallback, against the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from b24.crm import RecordRef
from b24.emulator.server import free_port
from b24_dedupe.dedupe_queue import _Script, enqueue_event
from b24_dedupe.keys import Keys
from tests.conftest import REDIS_URL
from tests.ingress.conftest import queued_jobs
from webhooks_in.pipelining import AutoPipeline, _pack


@pytest.fixture
async def pipeline() -> AsyncIterator[AutoPipeline]:
    pipeline = AutoPipeline(REDIS_URL, timeout=5.0)
    yield pipeline
    await pipeline.close()


async def test_commands_issued_together_share_one_write_and_keep_their_order(
    pipeline: AutoPipeline, redis: aioredis.Redis, keys: Keys
) -> None:
    counter = keys.prefix + "counter"
    replies = await asyncio.gather(*(pipeline.execute("INCR", counter) for _ in range(50)))
    assert replies == list(range(1, 51))
    assert pipeline.batches == 1
    await pipeline.execute("INCR", counter)
    assert pipeline.batches == 2


async def test_a_command_error_stays_with_its_command(
    pipeline: AutoPipeline, redis: aioredis.Redis, keys: Keys
) -> None:
    text = keys.prefix + "text"
    await redis.set(text, "not a number")
    results = await asyncio.gather(
        pipeline.execute("SET", keys.prefix + "a", "1"),
        pipeline.execute("INCR", text),
        pipeline.execute("GET", keys.prefix + "a"),
        return_exceptions=True,
    )
    assert results[0] == b"OK"
    assert isinstance(results[1], ResponseError)
    assert results[2] == b"1"


async def test_no_redis_fails_every_command_and_a_later_one_tries_again() -> None:
    pipeline = AutoPipeline(f"redis://127.0.0.1:{free_port()}/0", timeout=5.0)
    results = await asyncio.gather(
        pipeline.execute("PING"), pipeline.execute("PING"), return_exceptions=True
    )
    assert all(isinstance(result, RedisConnectionError) for result in results)
    with pytest.raises(RedisConnectionError):
        await pipeline.execute("PING")
    await pipeline.close()


async def test_a_lost_connection_fails_what_waits_and_the_next_command_reconnects(
    pipeline: AutoPipeline,
) -> None:
    assert await pipeline.execute("PING") == b"PONG"
    connection = pipeline._connection
    assert connection is not None and connection.transport is not None
    connection.transport.abort()
    for _ in range(100):  # bounded: the loss is seen within a few iterations
        if connection.closed:
            break
        await asyncio.sleep(0)
    assert connection.closed
    assert await pipeline.execute("PING") == b"PONG"


async def test_a_silent_server_times_out_instead_of_hanging() -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads everything, answers nothing
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pipeline = AutoPipeline(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    try:
        with pytest.raises(RedisTimeoutError):
            await asyncio.wait_for(pipeline.execute("PING"), 10)
    finally:
        await pipeline.close()
        server.close()
        await server.wait_closed()


async def test_the_database_in_the_url_is_selected() -> None:
    pipeline = AutoPipeline(REDIS_URL.rsplit("/", 1)[0] + "/1", timeout=5.0)
    try:
        info = await pipeline.execute("CLIENT", "INFO")
        assert b" db=1 " in info
    finally:
        await pipeline.close()


async def test_events_through_the_pipeline_coalesce_as_single_calls_do(
    pipeline: AutoPipeline, redis: aioredis.Redis, keys: Keys
) -> None:
    outcomes = await asyncio.gather(
        *(
            enqueue_event(pipeline, keys, RecordRef("LEAD", 1 + i % 3), debounce=1.0)
            for i in range(9)
        )
    )
    assert sorted(outcomes) == ["coalesced"] * 6 + ["enqueued"] * 3
    assert len(await queued_jobs(redis, keys)) == 3


@pytest.mark.parametrize("pipelined", [False, True])
async def test_a_script_redis_does_not_know_yet_is_sent_whole(
    pipeline: AutoPipeline, redis: aioredis.Redis, keys: Keys, pipelined: bool
) -> None:
    # A fresh source has a SHA no Redis has seen, as after a restart or SCRIPT FLUSH.
    script = _Script(f"-- {uuid.uuid4().hex}\nreturn redis.call('INCR', KEYS[1])")
    execute = pipeline.execute if pipelined else redis.execute_command
    key = keys.prefix + "script-counter"
    assert await script.run(execute, [key], []) == 1
    assert await script.run(execute, [key], []) == 2


def test_commands_are_packed_in_resp() -> None:
    assert _pack(("SET", b"k\r\n", 12, 1.5)) == (
        b"*4\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n12\r\n$3\r\n1.5\r\n"
    )

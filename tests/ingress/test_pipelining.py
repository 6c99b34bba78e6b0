"""AutoPipeline and the scripts' EVALSHA fallback, against the real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from b24.emulator.server import free_port
from b24_dedupe.dedupe_queue import _Script, enqueue_event
from b24_dedupe.keys import Keys
from tests.ingress.conftest import queued_jobs
from webhooks_in.pipelining import AutoPipeline, _pack


async def test_commands_issued_together_share_one_pipeline_and_keep_their_order(
    redis: aioredis.Redis, keys: Keys
) -> None:
    pipeline = AutoPipeline(redis)
    counter = keys.prefix + "counter"
    replies = await asyncio.gather(*(pipeline.execute("INCR", counter) for _ in range(50)))
    assert replies == list(range(1, 51))
    assert pipeline.batches == 1


async def test_a_command_error_stays_with_its_command(redis: aioredis.Redis, keys: Keys) -> None:
    pipeline = AutoPipeline(redis)
    text = keys.prefix + "text"
    await redis.set(text, "not a number")
    results = await asyncio.gather(
        pipeline.execute("SET", keys.prefix + "a", "1"),
        pipeline.execute("INCR", text),
        pipeline.execute("GET", keys.prefix + "a"),
        return_exceptions=True,
    )
    assert results[0] is True or results[0] == b"OK"
    assert isinstance(results[1], ResponseError)
    assert results[2] == b"1"


async def test_a_failed_connection_fails_every_command_of_the_batch() -> None:
    client = aioredis.Redis(port=free_port(), socket_connect_timeout=1)
    pipeline = AutoPipeline(client)
    results = await asyncio.gather(
        pipeline.execute("PING"), pipeline.execute("PING"), return_exceptions=True
    )
    assert all(isinstance(result, RedisConnectionError) for result in results)
    await client.aclose()


async def test_events_through_the_pipeline_coalesce_as_single_calls_do(
    redis: aioredis.Redis, keys: Keys
) -> None:
    pipeline = AutoPipeline(redis)
    outcomes = await asyncio.gather(
        *(
            enqueue_event(redis, keys, "LEAD", 1 + i % 3, debounce=1.0, execute=pipeline.execute)
            for i in range(9)
        )
    )
    assert sorted(outcomes) == ["coalesced"] * 6 + ["enqueued"] * 3
    assert len(await queued_jobs(redis, keys)) == 3


@pytest.mark.parametrize("pipelined", [False, True])
async def test_a_script_redis_does_not_know_yet_is_sent_whole(
    redis: aioredis.Redis, keys: Keys, pipelined: bool
) -> None:
    # A fresh source has a SHA no Redis has seen, as after a restart or SCRIPT FLUSH.
    script = _Script(f"-- {uuid.uuid4().hex}\nreturn redis.call('INCR', KEYS[1])")
    execute = AutoPipeline(redis).execute if pipelined else redis.execute_command
    key = keys.prefix + "script-counter"
    assert await script.run(execute, [key], []) == 1
    assert await script.run(execute, [key], []) == 2


def test_commands_are_packed_in_resp() -> None:
    assert _pack(("SET", b"k\r\n", 12, 1.5)) == (
        b"*4\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n12\r\n$3\r\n1.5\r\n"
    )

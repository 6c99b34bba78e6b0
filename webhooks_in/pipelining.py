"""Automatic pipelining: commands issued in one event-loop iteration share a round trip.

Under load, many requests reach their Redis call in the same iteration of the loop;
sending each on its own connection costs a pool checkout, a write and a read per
command. :class:`AutoPipeline` queues them instead and sends the whole queue as
one pipeline (not a transaction: each command stays one atomic script) as soon as
the handlers of this iteration have run. Each event is still stored by exactly one
command in exactly one round trip; a lone request waits for nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError


class AutoPipeline:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # pipelines sent (batches / commands: how much was shared)

    async def execute(self, *args: Any) -> Any:
        """Run one command; its reply, or its error raised here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)
        self._queue.append((args, future))
        return await future

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        self.batches += 1
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        pool = self.redis.connection_pool
        try:
            connection = await pool.get_connection()
            try:
                await connection.send_packed_command(
                    b"".join(_pack(args) for args, _ in batch), check_health=False
                )
                replies: list[Any] = []
                for _ in batch:
                    try:
                        replies.append(await connection.read_response())
                    except ResponseError as error:  # this command's error; the next reply follows
                        replies.append(error)
            except BaseException:
                await connection.disconnect()
                raise
            finally:
                await pool.release(connection)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # the connection failed: every command shares the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # the request went away (client disconnected)
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def close(self) -> None:
        """Wait for the pipelines in flight (at shutdown)."""
        if self._queue:
            self._flush()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _pack(args: tuple[Any, ...]) -> bytes:
    """One command in RESP (https://redis.io/docs/latest/develop/reference/protocol-spec/)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int | float):
            arg = repr(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)

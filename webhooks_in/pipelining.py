"""Automatic pipelining on one Redis connection: commands issued while the event loop
runs one iteration go out in one write, and their replies resolve their callers as
they arrive.

Under load many requests reach their Redis call in the same loop iteration. A
client call per request costs a pool checkout, a write, a read coroutine and a
release each; here a command costs its encoding and one future. Each event is
still stored by exactly one command (one atomic script) in exactly one round
trip, shared with the others sent alongside; a lone request waits for nothing.

RESP over asyncio's transport, parsed by hiredis (which redis-py uses too);
https://redis.io/docs/latest/develop/reference/protocol-spec/. When the
connection fails or a reply is later than ``timeout``, every command waiting
on it fails with a ``redis.exceptions`` error and the next command reconnects.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from typing import Any

import hiredis
from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class AutoPipeline:
    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.batches = 0  # writes sent (batches / commands: how much was shared)
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None

    async def execute(self, *args: Any) -> Any:
        """Run one command; its reply, or its error raised here."""
        connection = self._connection
        if connection is None or connection.closed:
            if self._connecting is None or self._connecting.done():
                self._connecting = asyncio.get_running_loop().create_task(self._connect())
            # Every caller waiting here resumes in one iteration: their commands share a write.
            connection = await asyncio.shield(self._connecting)
        return await connection.send(_pack(args))

    execute_command = execute  # what b24_dedupe.dedupe_queue sends commands through

    async def _connect(self) -> _Connection:
        options = parse_url(self.url)
        loop = asyncio.get_running_loop()
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self.timeout):
                if "path" in options:
                    _, connection = await loop.create_unix_connection(
                        lambda: _Connection(self), options["path"]
                    )
                else:
                    secure = options.get("connection_class") is SSLConnection
                    _, connection = await loop.create_connection(
                        lambda: _Connection(self),
                        options.get("host", "127.0.0.1"),
                        options.get("port", 6379),
                        ssl=ssl.create_default_context() if secure else None,
                    )
                hello: list[tuple[Any, ...]] = []
                if options.get("password"):
                    user = (options["username"],) if options.get("username") else ()
                    hello.append(("AUTH", *user, options["password"]))
                if options.get("db"):
                    hello.append(("SELECT", options["db"]))
                for command in hello:
                    await connection.send(_pack(command))
        except BaseException as exc:
            if connection is not None:
                connection.close()
            if isinstance(exc, TimeoutError):
                raise RedisTimeoutError(f"no connection to Redis in {self.timeout} s") from None
            if isinstance(exc, OSError):
                raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
            raise
        self._connection = connection
        return connection

    async def close(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Connection(asyncio.Protocol):
    """One Redis connection: commands written in order, replies matched in order."""

    def __init__(self, owner: AutoPipeline) -> None:
        self.owner = owner
        self.timeout = owner.timeout
        self.reader = hiredis.Reader()
        # (caller's future, deadline) in the order the commands were written
        self.replies: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self.buffer: list[bytes] = []
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._watchdog: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        """Queue one command for this iteration's write; the future of its reply."""
        if self.closed:
            raise RedisConnectionError("the Redis connection is closed")
        future: asyncio.Future[Any] = self._loop.create_future()
        self.replies.append((future, self._loop.time() + self.timeout))
        self.buffer.append(packed)
        if len(self.buffer) == 1:
            self._loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        if self.closed or self.transport is None:
            return
        data, self.buffer = b"".join(self.buffer), []
        self.transport.write(data)
        self.owner.batches += 1
        if self._watchdog is None:
            self._watchdog = self._loop.call_at(self.replies[0][1], self._check_deadline)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError as exc:
                self._fail(RedisConnectionError(f"unreadable reply from Redis: {exc}"))
                return
            if reply is False:
                return
            if not self.replies:
                self._fail(RedisConnectionError("a reply from Redis that no command awaits"))
                return
            future, _ = self.replies.popleft()
            if future.done():  # the caller went away
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(_error(str(reply)))
            else:
                future.set_result(reply)

    def _check_deadline(self) -> None:
        self._watchdog = None
        if not self.replies or self.closed:
            return
        deadline = self.replies[0][1]
        if deadline <= self._loop.time():
            self._fail(RedisTimeoutError(f"no reply from Redis within {self.timeout} s"))
        else:
            self._watchdog = self._loop.call_at(deadline, self._check_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"the Redis connection was lost: {exc or 'closed'}"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self.replies:
            future, _ = self.replies.popleft()
            if not future.done():
                future.set_exception(error)
        self.buffer = []
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self._fail(RedisConnectionError("the Redis connection was closed"))


def _error(message: str) -> ResponseError:
    if message.startswith("NOSCRIPT"):
        return NoScriptError(message)
    return ResponseError(message)


def _pack(args: tuple[Any, ...]) -> bytes:
    """One command in RESP: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int | float):
            arg = repr(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)

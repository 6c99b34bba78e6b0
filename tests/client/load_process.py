"""A worker-like OS process for the shared-limit tests: CALLS gets through its own client.

Reads the webhook from B24_WEBHOOK_URL; waits on a Redis barrier so that all processes
start together; prints one JSON line: how many calls ended and the errors among them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

import redis.asyncio as aioredis

from b24.client import Bitrix24Client, ClientConfig


async def run(args: argparse.Namespace) -> dict[str, object]:
    redis = aioredis.from_url(args.redis_url)
    config = ClientConfig(
        key_prefix=args.prefix,
        rps=args.rps,
        burst=args.burst,
        headroom=1,
        max_batch_commands=1,  # one request per call: the limiter alone keeps the pace
        cooldown_base=0.05,
        cooldown_max=0.5,
    )
    try:
        async with Bitrix24Client(os.environ["B24_WEBHOOK_URL"], redis, config=config) as client:
            await redis.rpush(args.ready_key, os.getpid())
            if await redis.blpop([args.go_key], timeout=60) is None:
                return {"calls": 0, "errors": ["no start signal"]}
            results = await asyncio.gather(
                *(client.call("crm.contact.get", {"id": 1}) for _ in range(args.calls)),
                return_exceptions=True,
            )
    finally:
        await redis.aclose()
    errors = [repr(result) for result in results if isinstance(result, BaseException)]
    return {"calls": len(results), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--ready-key", required=True)
    parser.add_argument("--go-key", required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--rps", type=float, required=True)
    parser.add_argument("--burst", type=int, required=True)
    print(json.dumps(asyncio.run(run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()

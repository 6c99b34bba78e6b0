"""Requests per resolved merge: what settling refused fields first costs (issue 14).

    REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/resolved_merge.py

All on 127.0.0.1, in this process: the portal emulator at the docs' limits (2 requests/s,
burst 50, operating limit 420 s per 10 minutes; mergeBatch charged ``--merge-time`` s,
0.5 by default so that the operating limit does not hide the request counts), the
ingress and one arq worker (``commands.serve.running_service``), Redis at REDIS_URL
under a throw-away prefix. ``--pairs`` people are on the portal; each is entered again:

- **plain**: the same fields (Bitrix24 merges them as they are);
- **resolved**: another position and another manager, with a rules file
  (``POST = "newest"``, ``ASSIGNED_BY_ID = "survivor"``): the worker writes the winning
  values first (``crm.contact.update``), checks them, then merges.

Reported per scenario: merges, HTTP requests, commands by method, requests and commands
per merge, wall time. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ingress import redis_report_and_cleanup

from b24.crm import EntityType
from b24.emulator.config import DEFAULT_METHOD_TIMES, EmulatorConfig
from b24.emulator.server import free_port, running_emulator
from b24_dedupe.settings import Settings
from commands.serve import running_service

TOKEN = "bench-resolved-token"
RULES = '[contact]\nPOST = "newest"\nASSIGNED_BY_ID = "survivor"\n'
CONTACT = EntityType.CONTACT


def _person(n: int) -> dict[str, Any]:
    return {
        "NAME": f"Person{n}",
        "LAST_NAME": f"Family{n}",
        "POST": "Engineer",
        "ASSIGNED_BY_ID": 1,
        "PHONE": [{"VALUE": f"+7 900 {n // 10000:03d}-{n % 10000:04d}", "VALUE_TYPE": "WORK"}],
    }


async def scenario(name: str, args: argparse.Namespace, rules_path: Path | None) -> dict[str, Any]:
    prefix = f"bench-resolved-{os.urandom(4).hex()}:"
    port = free_port()
    config = EmulatorConfig(
        secret=uuid.uuid4().hex,
        events_url=f"http://127.0.0.1:{port}/webhooks/bitrix24",
        application_token=TOKEN,
        method_times={**DEFAULT_METHOD_TIMES, "crm.entity.mergebatch": args.merge_time},
    )
    originals = {"contacts": [{**_person(n), "ID": n + 1} for n in range(args.pairs)]}
    try:
        async with running_emulator(config, seed=originals) as emulator:
            settings = Settings(
                redis_url=args.redis_url,
                redis_prefix=prefix,
                b24_webhook_url=emulator.webhook_url,
                b24_application_token=TOKEN,
                merge_rules_file=str(rules_path) if rules_path else None,
                debounce_seconds=0.5,
                log_level="WARNING",
            )
            async with running_service(settings, "127.0.0.1", port):
                emulator.engine.reset_stats()
                portal = emulator.engine.portal
                started = time.monotonic()
                twins = []
                for n in range(args.pairs):
                    fields = _person(n)
                    fields["PHONE"] = [{"VALUE": f"8900{n // 10000:03d}{n % 10000:04d}"}]
                    if rules_path is not None:
                        fields.update(POST="Chief engineer", ASSIGNED_BY_ID=7)
                    twins.append(portal.add(CONTACT, fields))
                deadline = started + args.deadline
                while time.monotonic() < deadline:  # bounded
                    left = sum(1 for t in twins if portal.exists(CONTACT, t))
                    if not left:
                        break
                    await asyncio.sleep(0.5)
                wall = time.monotonic() - started
                await asyncio.sleep(3)  # the survivors' own update events, read once each
                stats = emulator.engine.stats.as_dict()
                merged = sum(1 for t in twins if not portal.exists(CONTACT, t))
                wrong = [
                    n
                    for n in range(args.pairs)
                    if rules_path is not None
                    and portal.exists(CONTACT, n + 1)
                    and portal.get(CONTACT, n + 1).get("POST") != "Chief engineer"
                    and not portal.exists(CONTACT, twins[n])
                ]
    finally:
        await redis_report_and_cleanup(args.redis_url, prefix)
    requests = stats["http_requests"]
    return {
        "scenario": name,
        "pairs": args.pairs,
        "merged": merged,
        "wrong_values": len(wrong),
        "wall_s": round(wall, 1),
        "http_requests": requests,
        "commands_by_method": stats["commands"],
        "mergebatch_answers": stats["merges"]["statuses"],
        "requests_per_merge": round(requests / max(1, merged), 3),
        "commands_per_merge": round(stats["commands_total"] / max(1, merged), 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.toml"
        rules.write_text(RULES)
        for name, path in (("plain", None), ("resolved", rules)):
            print(f"{name}: {args.pairs} pairs", file=sys.stderr, flush=True)
            results.append(await scenario(name, args, path))
    for result in results:
        print(
            f"{result['scenario']:9} merged {result['merged']}/{result['pairs']}  "
            f"requests {result['http_requests']}  per merge {result['requests_per_merge']}  "
            f"commands per merge {result['commands_per_merge']}  wall {result['wall_s']} s",
            file=sys.stderr,
        )
        print(f"  commands: {result['commands_by_method']}", file=sys.stderr)
    return {"merge_time_s": args.merge_time, "results": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--merge-time", type=float, default=0.5)
    parser.add_argument("--deadline", type=float, default=900.0)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6391/0")
    )
    args = parser.parse_args()
    if not (1 <= args.pairs <= 5000 and 10 <= args.deadline <= 3600):
        parser.error("--pairs 1..5000, --deadline 10..3600")
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``b24-dedupe scan``: clean a whole existing portal (the backfill), or enqueue records.

By default every record of each type is read once at the list floor, grouped locally
and each group decided and merged through the live path (worker/backfill/). A killed
scan resumes from its state file. ``--enqueue`` (or ``--since``) is the old way: a
dedupe job in the live queue for each record.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

import redis.asyncio as aioredis
from tqdm import tqdm

from b24.client import Bitrix24Client, Webhook
from b24.crm import EntityType
from b24_dedupe.keys import Keys
from b24_dedupe.merge_rules import RulesError
from b24_dedupe.settings import Settings, settings_or_exit
from commands.arguments import ENTITY_CHOICES
from commands.session import Refusal, needs_portal, run_with_portal
from worker.app import build_context
from worker.backfill.run import Backfill, BackfillOptions, Snapshot
from worker.backfill.sharing import LiveFirst
from worker.backfill.state import CSV_COLUMNS, DECIDE, GROUP, READ, ScanState, StateMismatch
from worker.scan import ScanResult, scan

DEFAULT_STATE = "b24-dedupe-scan.sqlite"
DEFAULT_DRY_RUN_CSV = "b24-dedupe-dry-run.csv"
DEFAULT_CSV = "b24-dedupe-scan.csv"
LOG_EVERY_SECONDS = 10.0
# The scan's calls wait up to half the time between two of its requests (at most 0.5 s;
# the live service's wait 10 ms) for others to share their request: fewer, fuller
# requests, and a backfill is in no hurry for each answer.
BATCH_WINDOW = 0.5


def batch_window(rps: float, share: float) -> float:
    """0.5 s at 2 requests a second and half of them; less on a faster portal."""
    return min(BATCH_WINDOW, 0.5 / (rps * share))


log = logging.getLogger("commands.scan")


def fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """Exit 2 with one line."""
    parser.exit(2, f"{parser.prog}: error: {message}\n")


# -- progress ---------------------------------------------------------------------------
class ProgressView:
    """A progress bar per type and phase on a terminal (tqdm); a line every 10 s otherwise.

    Shows records read, groups found and decided, merges, groups sent to review,
    requests spent and an estimate of the time left (tqdm's, from the rate so far).
    """

    def __init__(self, stream: TextIO, *, bar: bool, dry_run: bool = False) -> None:
        self.stream = stream
        self.bar_wanted = bar
        self.merged_label = "to merge" if dry_run else "merged"
        self._bar: Any = None
        self._key: tuple[str, str] | None = None
        self._last_line = 0.0
        self._drawn = 0.0

    def __call__(self, snap: Snapshot) -> None:
        if snap.phase == READ:
            total, done = max(snap.highest_id, snap.last_id, 1), snap.last_id
        elif snap.phase == DECIDE:
            total, done = max(snap.groups, 1), snap.groups_done
        else:
            total, done = 1, 0 if snap.phase == GROUP else 1
        text = self.describe(snap)
        if self.bar_wanted:
            self._show_bar(snap, total, done, text)
        elif time.monotonic() - self._last_line >= LOG_EVERY_SECONDS or snap.phase not in (
            READ,
            DECIDE,
        ):
            self._last_line = time.monotonic()
            share = f"{100 * done / total:.0f}%" if snap.phase in (READ, DECIDE) else ""
            self.stream.write(f"{snap.entity.lower()} {snap.phase} {share} {text}\n")
            self.stream.flush()

    def describe(self, snap: Snapshot) -> str:
        tally = snap.tally
        parts = [
            f"{snap.records_read:,} records read",
            f"{snap.groups:,} groups",
            f"{tally.merged:,} {self.merged_label}",
            f"{tally.review:,} to review",
            f"{snap.requests:,} requests",
        ]
        if tally.errors:
            parts.append(f"{tally.errors:,} errors")
        if snap.yielded_seconds >= 1:
            parts.append(f"gave way to live jobs {snap.yielded_seconds:.0f} s")
        return ", ".join(parts)

    def _show_bar(self, snap: Snapshot, total: int, done: int, text: str) -> None:
        key = (snap.entity.value, snap.phase)
        if key != self._key:
            self.close()
            unit = {READ: " IDs", DECIDE: " groups"}.get(snap.phase, "")
            # A terminal that reports no size (a bare pty) gets COLUMNS and LINES, or
            # 120 by 24: tqdm would show nothing in 0 lines.
            known = os.get_terminal_size(self.stream.fileno()).columns > 0
            size = shutil.get_terminal_size((120, 24))
            self._bar = tqdm(
                total=total,
                desc=f"{snap.entity.lower()} {snap.phase}",
                unit=unit,
                file=self.stream,
                dynamic_ncols=known,
                ncols=None if known else size.columns,
                nrows=None if known else size.lines,
                bar_format="{desc}: {percentage:3.0f}%|{bar}|{postfix} [{elapsed}<{remaining}]",
            )
            self._key = key
            self._drawn = 0.0
        # At most 10 redraws a second: a million records make tens of thousands of groups.
        if time.monotonic() - self._drawn < 0.1 and done < total:
            return
        self._drawn = time.monotonic()
        bar = self._bar
        bar.total = total
        bar.n = done
        bar.set_postfix_str(text, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._key = None


# -- the CSV ------------------------------------------------------------------------------
def write_csv(state: ScanState, path: Path) -> int:
    """Every group's outcome, merges and reviews first; answers the rows written."""
    rows = list(state.outcomes())
    order = {"would_merge": 0, "merged": 0, "review": 1, "error": 2}
    rows.sort(key=lambda o: order.get(o.action, 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as sink:
        writer = csv.writer(sink)
        writer.writerow(CSV_COLUMNS)
        for o in rows:
            writer.writerow(
                [
                    o.entity.lower(),
                    o.action,
                    " ".join(str(i) for i in o.group),
                    o.survivor if o.survivor is not None else "",
                    o.reason,
                    " ".join(o.evidence),
                    " | ".join(o.names),
                    o.audit_id,
                    o.link,
                ]
            )
    return len(rows)


# -- the command --------------------------------------------------------------------------
def run_backfill(
    parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Settings
) -> int:
    needs_portal(parser, settings)
    assert settings.b24_webhook_url is not None  # needs_portal exits otherwise
    portal = Webhook.parse(settings.b24_webhook_url).portal
    dry_run = bool(args.dry_run) or settings.merge_mode == "dry-run"
    csv_path = Path(args.csv or (DEFAULT_DRY_RUN_CSV if dry_run else DEFAULT_CSV))
    entities = [EntityType.parse(args.entity)] if args.entity else list(EntityType)
    owner = {
        "portal": portal,
        "prefix": settings.redis_prefix,
        "mode": "dry-run" if dry_run else "auto",
        "types": ",".join(entities),
    }
    try:
        state = ScanState.open(args.state, owner=owner, restart=args.restart)
    except StateMismatch as exc:
        fail(parser, str(exc))
    except OSError as exc:
        fail(parser, f"cannot open the state file {args.state}: {exc}")

    async def work(_client: Bitrix24Client, redis: aioredis.Redis) -> int:
        try:
            context = build_context(settings, redis)
        except RulesError as exc:
            raise Refusal(str(exc)) from None
        context.dry_run = dry_run
        gate = LiveFirst(redis, Keys(settings.redis_prefix), threshold=args.yield_queue)
        context.client.run_in_background(
            args.share,
            name="backfill",
            gate=gate,
            window=batch_window(settings.b24_rps, args.share),
        )
        view = ProgressView(
            sys.stderr, bar=sys.stderr.isatty() and not args.no_progress, dry_run=dry_run
        )
        async with context.client:
            # A merge a killed scan left pending is completed by the workers' recovery
            # cron, as a killed worker's is; its group is re-read under its lock here.
            backfill = Backfill(
                context,
                state,
                BackfillOptions(entities=entities, concurrency=args.concurrency),
                gate=gate,
                listener=view,
            )
            started = time.monotonic()
            try:
                done = await backfill.run()
            finally:
                view.close()
        for entity, progress in done.items():
            tally = backfill.tallies[entity]
            verb = "would merge" if dry_run else "merged"
            print(
                f"{entity.lower()}: {progress.read:,} records read, {progress.groups:,} groups "
                f"({progress.shared_values:,} shared values left out); {verb} {tally.merged:,}, "
                f"to review {tally.review:,}, errors {tally.errors:,}"
            )
        print(
            f"{context.client.stats.requests:,} requests in {time.monotonic() - started:,.0f} s; "
            f"state {state.path} ({state.size_bytes() / 1e6:,.1f} MB)"
        )
        rows = write_csv(state, csv_path)
        print(f"{rows:,} groups written to {csv_path}")
        if args.json:
            print(json.dumps(summary(backfill, done, context.client.stats.requests)))
        return 0

    try:
        return run_with_portal(parser, settings, work)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to go on where it stopped", file=sys.stderr)
        return 130
    finally:
        state.close()


def summary(backfill: Backfill, done: dict[EntityType, Any], requests: int) -> dict[str, Any]:
    return {
        "requests": requests,
        "yielded_seconds": round(backfill.gate.waited, 1) if backfill.gate else 0.0,
        "types": {
            entity.value: {
                "read": progress.read,
                "stored": progress.stored,
                "groups": progress.groups,
                "shared_values": progress.shared_values,
                "merged": backfill.tallies[entity].merged,
                "review": backfill.tallies[entity].review,
                "errors": backfill.tallies[entity].errors,
                "refused_for_budget": backfill.tallies[entity].refused_for_budget,
                "lock_waits": backfill.tallies[entity].lock_waits,
            }
            for entity, progress in done.items()
        },
        "seconds": {e.value: by_phase for e, by_phase in backfill.seconds.items()},
        "requests_by_phase": {e.value: by_phase for e, by_phase in backfill.requests.items()},
        "state_bytes": backfill.state.size_bytes(),
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float | None:
    """This process's peak resident memory (Linux: VmHWM), for the benchmark."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def run_enqueue(
    parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Settings
) -> int:
    """The old way: a live dedupe job for each record (modified since ``--since``)."""
    needs_portal(parser, settings)
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).isoformat()
        except ValueError:
            fail(
                parser,
                f"--since takes a date such as 2025-06-01 or 2025-06-01T10:00:00+03:00, "
                f"not {args.since!r}",
            )
    entities = [EntityType.parse(args.entity)] if args.entity else list(EntityType)

    async def work(client: Bitrix24Client, redis: aioredis.Redis) -> int:
        keys = Keys(settings.redis_prefix)
        for entity in entities:
            result, _ = await scan(
                client,
                redis,
                keys,
                entity,
                since=since,
                only_unprocessed=False,
                debounce=0.0,
                progress=_enqueue_progress(entity),
            )
            if sys.stderr.isatty():
                sys.stderr.write("\n")
            print(f"{entity.lower()}: {result.seen} records, {result.enqueued} jobs enqueued")
        return 0

    return run_with_portal(parser, settings, work)


def _enqueue_progress(entity: str) -> Any:
    def show(result: ScanResult) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(
                f"\r{entity.lower():8} {result.seen:>8} records  {result.enqueued:>8} enqueued"
            )
            sys.stderr.flush()

    return show


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 (excluded) and 1")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def run_scan(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    if args.enqueue or args.since:
        flags = (("--dry-run", args.dry_run), ("--csv", args.csv))
        conflicting = ", ".join(flag for flag, on in flags if on)
        if conflicting:
            fail(parser, f"{conflicting}: only for the backfill, not with --enqueue or --since")
        return run_enqueue(parser, args, settings)
    if args.concurrency < 1:
        fail(parser, "--concurrency must be at least 1")
    return run_backfill(parser, args, settings)


def register(commands: Any) -> None:
    """Add ``scan`` to the ``b24-dedupe`` parser."""
    scan_parser = commands.add_parser(
        "scan",
        help="clean a whole existing portal (read once, group locally, merge duplicates)",
        description=(
            "Read every lead, contact and company once (2,500 a request), group the records "
            "that share phones or e-mails, and send each group through the same decision, "
            "merge and audit as a live event. Takes at most --share of the portal's requests "
            "and gives way to live events. A killed scan resumes from --state. With --enqueue "
            "(or --since), queue a live dedupe job for each record instead."
        ),
    )
    scan_parser.add_argument("--entity", choices=ENTITY_CHOICES, help="only this record type")
    scan_parser.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and write the CSV, merge nothing (also with MERGE_MODE=dry-run)",
    )
    scan_parser.add_argument(
        "--csv",
        help=f"every group's outcome (default {DEFAULT_CSV}; a dry run's {DEFAULT_DRY_RUN_CSV})",
    )
    scan_parser.add_argument(
        "--state", default=DEFAULT_STATE, help=f"the scan's state file (default {DEFAULT_STATE})"
    )
    scan_parser.add_argument(
        "--restart", action="store_true", help="start over instead of resuming the state file"
    )
    scan_parser.add_argument(
        "--share",
        type=_share,
        default=0.5,
        help="most of the portal's request rate the scan takes (default 0.5)",
    )
    scan_parser.add_argument(
        "--yield-queue",
        type=_count,
        default=20,
        help="give way while more live jobs than this are due (default 20)",
    )
    scan_parser.add_argument(
        "--concurrency", type=int, default=40, help="groups decided at once (default 40)"
    )
    scan_parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    scan_parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    scan_parser.add_argument(
        "--enqueue", action="store_true", help="queue a live dedupe job per record instead"
    )
    scan_parser.add_argument(
        "--since", help="with --enqueue: only records modified since this date (implies it)"
    )
    scan_parser.set_defaults(run=lambda a: run_scan(scan_parser, a))

"""A backfill's state on disk: the records read, the index of their values, the groups,
what was decided for each, and where to go on after a kill (SQLite, one file).

Why SQLite on disk: a million records must not need more than a few hundred MB
anywhere, and a killed scan must resume where it stopped. Redis would hold the index
in memory next to the service's queue; sorted runs would need their own merge code and
their own checkpoints. In SQLite each request's rows, their values and the new
checkpoint are one transaction, so the file is never ahead of or behind itself.

Per record type (tables named after the type):

- ``rows_T(id, row)``: the columns the decision needs, as read (compact JSON), of the
  records that have at least one phone or e-mail that can be evidence;
- ``vals_T(h, id)``: one row per (evidence value, record), ordered by value: ``h`` is
  a 64-bit hash of the normalised value (``PHONE:+79991234567``), 8 bytes instead of
  the text. Two different values with one hash would only make two records look
  related: the decision compares the values themselves, so a collision can cost a
  look, never a merge;
- ``shared_T(h)``: values held by ``SHARED_THRESHOLD`` or more records (a switchboard,
  a shared mailbox): not evidence, as in the live path;
- ``groups_T(gid, ids, done)``: connected components of records over shared values;
- ``outcomes(...)``: what was decided for each group, for the CSV and the summary.

``progress`` holds each type's phase (``read`` → ``group`` → ``decide`` → ``done``), the
last ID read, and the counts; ``meta`` what the file belongs to (portal, prefix, mode).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b24.crm import EntityType

SCHEMA_VERSION = "2"
READ, GROUP, DECIDE, DONE = "read", "group", "decide", "done"
PHASES = (READ, GROUP, DECIDE, DONE)
# SQLite's page cache: the most memory the index takes in this process (KiB).
CACHE_KIB = 32_768


class StateMismatch(Exception):
    """The state file belongs to another scan (portal, prefix or mode)."""


def value_hash(value: str) -> int:
    """A signed 64-bit hash of a normalised value (``PHONE:+79991234567``)."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big") - (
        1 << 63
    )


@dataclass
class TypeProgress:
    entity: EntityType
    phase: str = READ
    last_id: int = 0
    highest_id: int = 0
    read: int = 0  # records read
    stored: int = 0  # of them with evidence (in rows_T)
    shared_values: int = 0  # values left out as shared (switchboards, shared mailboxes)
    groups: int = 0  # connected components
    groups_done: int = 0


@dataclass
class Tally:
    """What the backfill did, for the progress line and the summary."""

    groups: int = 0
    decisions: int = 0
    merged: int = 0  # mergeBatch SUCCESS (or, in a dry run, merges proposed)
    review: int = 0  # groups a person should look at
    errors: int = 0
    refused_for_budget: int = 0  # merges refused by mergeBatch's operating limit, retried
    lock_waits: int = 0


@dataclass
class OutcomeRow:
    """One decision of the backfill about one group of records, as the CSV shows it."""

    entity: str
    action: str  # merged, would_merge, review, no_merge, error
    group: list[int]
    survivor: int | None
    reason: str
    evidence: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    audit_id: str = ""
    link: str = ""


CSV_COLUMNS = (
    "entity",
    "action",
    "group",
    "survivor",
    "reason",
    "evidence",
    "names",
    "audit_id",
    "link",
)


class ScanState:
    """The state file of one backfill (see the module's docstring)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    # -- opening -------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, owner: dict[str, str], restart: bool = False) -> ScanState:
        """Open (or create) the state at ``path`` for the scan ``owner`` describes
        (portal, prefix, mode). A finished scan's file, or any with ``restart``, starts
        over; an unfinished one of another owner raises :class:`StateMismatch`."""
        path = Path(path)
        if path.exists() and not restart:
            state = cls._connect(path)
            meta = state.meta()
            if meta and meta.get("schema") != SCHEMA_VERSION:
                state.close()
                raise StateMismatch(
                    f"the state file {path} was written by another version of the scan; "
                    "pass --restart to start over, or --state for another file"
                )
            if meta and meta.get("finished"):
                state.close()
                restart = True
            elif meta and any(meta.get(k) != v for k, v in owner.items()):
                state.close()
                theirs = ", ".join(f"{k} {meta.get(k)!r}" for k in owner if meta.get(k) != owner[k])
                raise StateMismatch(
                    f"the state file {path} belongs to an unfinished scan of another kind "
                    f"({theirs}); pass --restart to start over, or --state for another file"
                )
            else:
                state._create(owner)
                return state
        if restart:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = cls._connect(path)
        state._create(owner)
        return state

    @classmethod
    def _connect(cls, path: Path) -> ScanState:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        db.execute("PRAGMA temp_store=FILE")
        return cls(path, db)

    def _create(self, owner: dict[str, str]) -> None:
        db = self._db
        with self._transaction():
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS progress (entity TEXT PRIMARY KEY, phase TEXT, "
                "last_id INTEGER, highest_id INTEGER, read INTEGER, stored INTEGER, "
                "shared_values INTEGER, groups INTEGER, groups_done INTEGER)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS outcomes (entity TEXT, gid INTEGER, action TEXT, "
                "body TEXT)"
            )
            for entity in EntityType:
                t = entity.value
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS rows_{t} (id INTEGER PRIMARY KEY, row BLOB)"
                )
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS vals_{t} (h INTEGER, id INTEGER, "
                    "PRIMARY KEY (h, id)) WITHOUT ROWID"
                )
                db.execute(f"CREATE TABLE IF NOT EXISTS shared_{t} (h INTEGER PRIMARY KEY)")
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS groups_{t} (gid INTEGER PRIMARY KEY, ids TEXT, "
                    "done INTEGER DEFAULT 0)"
                )
            if not self.meta():
                meta = {**owner, "schema": SCHEMA_VERSION, "created": str(time.time())}
                db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def meta(self) -> dict[str, str]:
        try:
            return {k: v for k, v in self._db.execute("SELECT key, value FROM meta")}
        except sqlite3.OperationalError:
            return {}

    def finish(self) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('finished', ?)", (str(time.time()),)
            )

    # -- progress ----------------------------------------------------------------------
    def progress(self, entity: EntityType) -> TypeProgress:
        row = self._db.execute(
            "SELECT phase, last_id, highest_id, read, stored, shared_values, groups, "
            "groups_done FROM progress WHERE entity = ?",
            (entity.value,),
        ).fetchone()
        if row is None:
            return TypeProgress(entity)
        return TypeProgress(entity, *row)

    def save_progress(self, progress: TypeProgress) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO progress VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                progress.entity.value,
                progress.phase,
                progress.last_id,
                progress.highest_id,
                progress.read,
                progress.stored,
                progress.shared_values,
                progress.groups,
                progress.groups_done,
            ),
        )

    # -- reading ----------------------------------------------------------------------
    def store(
        self,
        progress: TypeProgress,
        records: Sequence[tuple[int, bytes, Iterable[int]]],
        *,
        read: int,
        last_id: int,
    ) -> None:
        """One request's records (ID, compact row, value hashes) and the checkpoint after
        them, in one transaction."""
        t = progress.entity.value
        with self._transaction():
            self._db.executemany(
                f"INSERT OR REPLACE INTO rows_{t} VALUES (?, ?)",
                [(rid, row) for rid, row, _ in records],
            )
            self._db.executemany(
                f"INSERT OR IGNORE INTO vals_{t} VALUES (?, ?)",
                [(h, rid) for rid, _, hashes in records for h in hashes],
            )
            progress.read += read
            progress.stored += len(records)
            progress.last_id = last_id
            self.save_progress(progress)

    # -- grouping ------------------------------------------------------------------------
    def build_groups(self, progress: TypeProgress, shared_threshold: int) -> None:
        """Connected components over the values held by 2 to ``shared_threshold - 1``
        records; values held by more are recorded as shared and link nothing."""
        t = progress.entity.value
        db = self._db
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            root = x
            while parent[root] != root:
                root = parent[root]
            while parent[x] != root:
                parent[x], x = root, parent[x]
            return root

        shared: list[int] = []

        def link(h: int | None, ids: list[int]) -> None:
            members = sorted(set(ids))
            if h is None or len(members) < 2:
                return
            if len(members) >= shared_threshold:
                shared.append(h)
                return
            for rid in members:
                parent.setdefault(rid, rid)
            root = find(members[0])
            for rid in members[1:]:
                other = find(rid)
                if other != root:
                    parent[other] = root

        current: int | None = None
        ids: list[int] = []
        for h, rid in db.execute(f"SELECT h, id FROM vals_{t} ORDER BY h"):
            if h != current:
                link(current, ids)
                current, ids = h, []
            ids.append(rid)
        link(current, ids)
        components: dict[int, list[int]] = {}
        for rid in parent:
            components.setdefault(find(rid), []).append(rid)
        ordered = sorted(sorted(members) for members in components.values())
        with self._transaction():
            db.execute(f"DELETE FROM groups_{t}")
            db.execute(f"DELETE FROM shared_{t}")
            db.executemany(f"INSERT INTO shared_{t} VALUES (?)", [(h,) for h in shared])
            db.executemany(
                f"INSERT INTO groups_{t} (gid, ids) VALUES (?, ?)",
                [(gid, json.dumps(members)) for gid, members in enumerate(ordered, 1)],
            )
            progress.groups = len(ordered)
            progress.shared_values = len(shared)
            progress.phase = DECIDE
            self.save_progress(progress)

    def shared_hashes(self, entity: EntityType) -> set[int]:
        return {h for (h,) in self._db.execute(f"SELECT h FROM shared_{entity.value}")}

    def pending_groups(self, entity: EntityType) -> Iterator[tuple[int, list[int]]]:
        """Groups not decided yet, in order (a fresh cursor: safe while others write)."""
        rows = self._db.execute(
            f"SELECT gid, ids FROM groups_{entity.value} WHERE done = 0 ORDER BY gid"
        ).fetchall()
        for gid, ids in rows:
            yield gid, json.loads(ids)

    def rows(self, entity: EntityType, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for rid, row in self._db.execute(
                f"SELECT id, row FROM rows_{entity.value} WHERE id IN ({marks})", chunk
            ):
                found[rid] = json.loads(row)
        return found

    def add_outcome(self, gid: int, outcome: OutcomeRow) -> None:
        """A decision about (part of) a group, kept as soon as its audit entry is."""
        self._insert_outcomes(gid, [outcome])

    def _insert_outcomes(self, gid: int, outcomes: Sequence[OutcomeRow]) -> None:
        self._db.executemany(
            "INSERT INTO outcomes VALUES (?, ?, ?, ?)",
            [(o.entity, gid, o.action, json.dumps(o.__dict__)) for o in outcomes],
        )

    def finish_group(
        self, progress: TypeProgress, gid: int, outcomes: Sequence[OutcomeRow]
    ) -> None:
        """A group's last outcomes and its done mark, in one transaction."""
        t = progress.entity.value
        with self._transaction():
            self._db.execute(f"UPDATE groups_{t} SET done = 1 WHERE gid = ?", (gid,))
            self._insert_outcomes(gid, outcomes)
            progress.groups_done += 1
            self.save_progress(progress)

    def outcomes(self) -> Iterator[OutcomeRow]:
        """Every decision of the scan, by type and group; a decision a resumed scan made
        again (the same action on the same records) only once."""
        seen: set[tuple[str, str, str]] = set()
        for (body,) in self._db.execute("SELECT body FROM outcomes ORDER BY entity, gid, rowid"):
            outcome = OutcomeRow(**json.loads(body))
            key = (outcome.entity, outcome.action, json.dumps(outcome.group))
            if key not in seen:
                seen.add(key)
                yield outcome

    def tally(self, entity: EntityType) -> Tally:
        """What the scan has done so far for ``entity`` (a resumed scan starts from it)."""
        counts = dict(
            self._db.execute(
                "SELECT action, COUNT(*) FROM outcomes WHERE entity = ? GROUP BY action",
                (entity.value,),
            ).fetchall()
        )
        return Tally(
            groups=self.progress(entity).groups,
            merged=counts.get("merged", 0) + counts.get("would_merge", 0),
            review=counts.get("review", 0),
            errors=counts.get("error", 0),
        )

    def size_bytes(self) -> int:
        """The state's size on disk (the database and its write-ahead log)."""
        return sum(
            p.stat().st_size for p in (self.path, Path(str(self.path) + "-wal")) if p.exists()
        )


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")

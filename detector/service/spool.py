"""The durable alert spool: SQLite in WAL mode, one cursor per output.

Alerts get increasing ids and are only ever removed from the front (oldest first): either
once every output's cursor has passed them, or when the spool is over its bound and sheds
the oldest.  So the rows present are always one contiguous id range, and an output's backlog
is ``max_id - cursor`` without counting rows.

Durability: each ``append`` and ``ack`` is one transaction.  In WAL mode with
``synchronous=NORMAL`` a committed transaction survives the process being killed (``kill -9``);
``synchronous=FULL`` also survives power loss, at the cost of an fsync per commit.
All methods run on the event-loop thread; commits are short (no fsync with NORMAL).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from detector.service.errors import SpoolError

log = logging.getLogger("detector.service")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ns INTEGER NOT NULL,
    rule TEXT NOT NULL,
    priority TEXT NOT NULL,
    source TEXT NOT NULL,
    json BLOB NOT NULL,
    text BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors(output TEXT PRIMARY KEY, acked INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints(key TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to spool: both renderings plus what metrics and gRPC need without parsing."""

    received_ns: int
    rule: str
    priority: str
    source: str
    json: bytes
    text: bytes


@dataclass(frozen=True, slots=True)
class SpooledAlert:
    id: int
    received_ns: int
    rule: str
    priority: str
    source: str
    json: bytes
    text: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Position in a followed file: the byte after the last line fully processed."""

    key: str
    inode: int
    offset: int


@dataclass(frozen=True, slots=True)
class ShedReport:
    shed: int
    dropped_per_output: tuple[tuple[str, int], ...]


class Spool:
    """One SQLite database file.  Not thread-safe: use it from one thread (the event loop)."""

    def __init__(self, path: str, *, max_alerts: int, synchronous: str = "normal") -> None:
        self.path = path
        self.max_alerts = max_alerts
        self._db = self._open(path, synchronous)
        self.instance_id = self._instance_id()
        self._cursors: dict[str, int] = dict(self._db.execute("SELECT output, acked FROM cursors").fetchall())
        row = self._db.execute("SELECT MIN(id), MAX(id) FROM alerts").fetchone()
        seq = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='alerts'").fetchone()
        self._max_id: int = int(row[1]) if row[1] is not None else (int(seq[0]) if seq else 0)
        self._min_id: int = int(row[0]) if row[0] is not None else self._max_id + 1

    # -- opening -------------------------------------------------------------------------------

    def _open(self, path: str, synchronous: str) -> sqlite3.Connection:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        except OSError as exc:
            raise SpoolError(f"cannot create the spool directory: {exc.strerror}", path) from None
        try:
            return self._connect(path, synchronous)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise SpoolError(f"spool is in use by another process: {exc}", path) from None
            if not os.path.exists(path):
                raise SpoolError(f"cannot open the spool: {exc}", path) from None
            # A corrupt spool must not keep the sidecar down: set it aside and start a new one.
            aside = f"{path}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}"
            log.error("spool %s is unreadable (%s); moved aside to %s, starting empty", path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.replace(path + suffix, aside + suffix)
            try:
                return self._connect(path, synchronous)
            except sqlite3.DatabaseError as again:
                raise SpoolError(f"cannot open the spool: {again}", path) from None

    @staticmethod
    def _connect(path: str, synchronous: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, timeout=1.0)
        try:
            os.chmod(path, 0o640)
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch to WAL mode (got {mode})")
            db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
            # Only this process may use the spool: a second sidecar on the same file would double-deliver.
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.executescript(_SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            db.execute("COMMIT")
            db.execute("PRAGMA quick_check").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _instance_id(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key='instance'").fetchone()
        if row is not None:
            return str(row[0])
        value = uuid.uuid4().hex
        self._db.execute("INSERT INTO meta(key, value) VALUES('instance', ?)", (value,))
        return value

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass

    # -- outputs -------------------------------------------------------------------------------

    def register_outputs(self, names: Iterable[str]) -> None:
        """Make the cursor set match the configured outputs.

        A new output starts after the newest spooled alert; an output no longer configured
        loses its cursor so it stops holding alerts in the spool.
        """
        wanted = set(names)
        with self._transaction():
            for name in wanted - self._cursors.keys():
                self._db.execute("INSERT INTO cursors(output, acked) VALUES(?, ?)", (name, self._max_id))
                self._cursors[name] = self._max_id
            for name in set(self._cursors) - wanted:
                self._db.execute("DELETE FROM cursors WHERE output=?", (name,))
                del self._cursors[name]
            self._prune()

    def cursor(self, output: str) -> int:
        return self._cursors[output]

    def queued(self, output: str) -> int:
        return self._max_id - self._cursors[output]

    @property
    def size(self) -> int:
        return max(0, self._max_id - self._min_id + 1)

    @property
    def max_id(self) -> int:
        return self._max_id

    # -- writing -------------------------------------------------------------------------------

    def append(self, alerts: Sequence[NewAlert], checkpoints: Iterable[Checkpoint] = ()) -> ShedReport:
        """Spool ``alerts`` and record ``checkpoints`` in one transaction; shed the oldest past the bound."""
        try:
            with self._transaction():
                if alerts:
                    self._db.executemany(
                        "INSERT INTO alerts(received_ns, rule, priority, source, json, text) VALUES(?,?,?,?,?,?)",
                        [(a.received_ns, a.rule, a.priority, a.source, a.json, a.text) for a in alerts],
                    )
                    self._max_id = int(self._db.execute("SELECT MAX(id) FROM alerts").fetchone()[0])
                    if self._min_id > self._max_id - len(alerts) + 1:
                        self._min_id = self._max_id - len(alerts) + 1
                for cp in checkpoints:
                    self._db.execute(
                        "INSERT INTO checkpoints(key, inode, offset) VALUES(?,?,?) "
                        "ON CONFLICT(key) DO UPDATE SET inode=excluded.inode, offset=excluded.offset",
                        (cp.key, cp.inode, cp.offset),
                    )
                return self._shed()
        except sqlite3.Error as exc:
            self._reload_bounds()
            raise SpoolError(f"cannot write to the spool: {exc}", self.path) from None

    def _shed(self) -> ShedReport:
        excess = self.size - self.max_alerts
        if excess <= 0:
            return ShedReport(0, ())
        upto = self._min_id + excess - 1
        dropped: list[tuple[str, int]] = []
        for name, acked in self._cursors.items():
            if acked < upto:
                dropped.append((name, upto - max(acked, self._min_id - 1)))
                self._db.execute("UPDATE cursors SET acked=? WHERE output=?", (upto, name))
                self._cursors[name] = upto
        self._db.execute("DELETE FROM alerts WHERE id <= ?", (upto,))
        self._min_id = upto + 1
        return ShedReport(excess, tuple(dropped))

    def ack(self, output: str, upto: int) -> None:
        """``output`` has every alert with id <= ``upto``."""
        if upto <= self._cursors[output]:
            return
        try:
            with self._transaction():
                self._db.execute("UPDATE cursors SET acked=? WHERE output=?", (upto, output))
                self._cursors[output] = upto
                self._prune()
        except sqlite3.Error as exc:
            self._reload_bounds()
            raise SpoolError(f"cannot update the spool: {exc}", self.path) from None

    def _prune(self) -> None:
        floor = min(self._cursors.values(), default=self._max_id)
        if floor >= self._min_id:
            self._db.execute("DELETE FROM alerts WHERE id <= ?", (floor,))
            self._min_id = floor + 1

    def _reload_bounds(self) -> None:
        self._cursors = dict(self._db.execute("SELECT output, acked FROM cursors").fetchall())
        row = self._db.execute("SELECT MIN(id), MAX(id) FROM alerts").fetchone()
        if row[1] is not None:
            self._min_id, self._max_id = int(row[0]), int(row[1])
        else:
            self._min_id = self._max_id + 1

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # -- reading -------------------------------------------------------------------------------

    def fetch(self, after: int, limit: int) -> list[SpooledAlert]:
        rows = self._db.execute(
            "SELECT id, received_ns, rule, priority, source, json, text FROM alerts WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        ).fetchall()
        return [SpooledAlert(int(r[0]), int(r[1]), r[2], r[3], r[4], bytes(r[5]), bytes(r[6])) for r in rows]

    def checkpoint(self, key: str) -> Checkpoint | None:
        row = self._db.execute("SELECT inode, offset FROM checkpoints WHERE key=?", (key,)).fetchone()
        return Checkpoint(key, int(row[0]), int(row[1])) if row else None


class _Transaction:
    __slots__ = ("_db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")

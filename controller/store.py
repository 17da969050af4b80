"""The controller's one repository: every table, behind one class.

SQLite by default (WAL, ``synchronous=FULL``, a busy timeout so several
controller processes can share one file). Schema changes are numbered
migrations applied at open, each in its own transaction. Every sqlite3 error
becomes :class:`controller.errors.StoreError` here; nothing above this module
writes SQL, so a PostgreSQL repository can replace this one for replicated
controllers.

Packets are stored exactly as received (still sealed) with index columns
beside them; plaintext biometrics never reach this database.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from controller.errors import StoreError, UnknownStation

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE stations (
        station_id      TEXT PRIMARY KEY,
        signing_key     BLOB NOT NULL,
        key_id          TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'active',
        revoked_reason  TEXT,
        registered_at   REAL NOT NULL,
        revoked_at      REAL,
        online          INTEGER NOT NULL DEFAULT 0,
        connection      INTEGER NOT NULL DEFAULT 0,
        version         TEXT,
        drivers         TEXT,
        state_at        REAL,
        last_seen       REAL,
        last_telemetry  TEXT,
        telemetry_at    REAL
    );
    CREATE TABLE telemetry (
        id              INTEGER PRIMARY KEY,
        station_id      TEXT NOT NULL,
        at              REAL NOT NULL,
        received_at     REAL NOT NULL,
        body            TEXT NOT NULL
    );
    CREATE INDEX telemetry_station_at ON telemetry(station_id, at);
    CREATE TABLE packets (
        packet_id       TEXT PRIMARY KEY,
        station_id      TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        nik             TEXT NOT NULL,
        kelurahan_code  TEXT NOT NULL,
        assignment_id   TEXT,
        operator_id     TEXT,
        captured_at     REAL NOT NULL,
        sealed_at       REAL NOT NULL,
        received_at     REAL NOT NULL,
        status          TEXT NOT NULL DEFAULT 'stored',
        size            INTEGER NOT NULL,
        envelope        BLOB NOT NULL,
        stored_by       TEXT
    );
    CREATE INDEX packets_nik ON packets(nik);
    CREATE INDEX packets_kelurahan ON packets(kelurahan_code);
    CREATE INDEX packets_station_seq ON packets(station_id, seq);
    CREATE TABLE duplicate_enrollments (
        nik             TEXT NOT NULL,
        packet_id       TEXT NOT NULL,
        other_packet_id TEXT NOT NULL,
        flagged_at      REAL NOT NULL,
        resolved        TEXT,
        PRIMARY KEY (packet_id, other_packet_id)
    );
    CREATE TABLE quarantine (
        id              INTEGER PRIMARY KEY,
        packet_id       TEXT,
        station_id      TEXT,
        topic           TEXT NOT NULL,
        received_at     REAL NOT NULL,
        reason_id       TEXT NOT NULL,
        reason          TEXT NOT NULL,
        size            INTEGER NOT NULL,
        payload         BLOB,
        payload_kept    INTEGER NOT NULL
    );
    CREATE INDEX quarantine_station ON quarantine(station_id);
    CREATE TABLE counters (
        name            TEXT PRIMARY KEY,
        value           INTEGER NOT NULL
    );
    CREATE TABLE kelurahan (
        code            TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        kecamatan_code  TEXT NOT NULL,
        kecamatan       TEXT NOT NULL,
        wajib_ktp       INTEGER NOT NULL,
        recorded_before INTEGER NOT NULL
    );
    CREATE TABLE plans (
        plan_id         TEXT PRIMARY KEY,
        planner         TEXT NOT NULL,
        params          TEXT NOT NULL,
        created_at      REAL NOT NULL,
        active          INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE assignments (
        assignment_id   TEXT PRIMARY KEY,
        plan_id         TEXT NOT NULL REFERENCES plans(plan_id),
        station_id      TEXT NOT NULL,
        date            TEXT NOT NULL,
        start           TEXT NOT NULL,
        end_            TEXT NOT NULL,
        kelurahan_code  TEXT NOT NULL,
        venue           TEXT
    );
    CREATE INDEX assignments_plan_station_date ON assignments(plan_id, station_id, date);
    CREATE TABLE alarms (
        id              INTEGER PRIMARY KEY,
        station_id      TEXT NOT NULL,
        kind            TEXT NOT NULL,
        message         TEXT NOT NULL,
        raised_at       REAL NOT NULL,
        cleared_at      REAL
    );
    CREATE UNIQUE INDEX alarms_open ON alarms(station_id, kind) WHERE cleared_at IS NULL;
    """,
    # 2: outreach events (schools, markets, hospitals, home visits, meetings) as venues
    """
    CREATE TABLE venues (
        venue_id        TEXT PRIMARY KEY,
        kind            TEXT NOT NULL,
        name            TEXT NOT NULL,
        address         TEXT NOT NULL,
        kelurahan_code  TEXT NOT NULL,
        date            TEXT NOT NULL,
        expected_people INTEGER NOT NULL,
        stations        INTEGER,
        added_at        REAL NOT NULL
    );
    CREATE INDEX venues_date ON venues(date);
    """,
]

#: Quarantined payloads kept per station; beyond it only the reason is kept (flood guard).
QUARANTINE_PAYLOADS_PER_STATION = 1000
#: Largest quarantined payload kept whole; bigger ones keep their first bytes.
QUARANTINE_PAYLOAD_MAX = 16 * 1024 * 1024


@dataclass(frozen=True)
class Station:
    station_id: str
    signing_key: bytes  # PEM
    key_id: str
    status: str  # active | revoked
    revoked_reason: str | None
    registered_at: float
    online: bool
    connection: int
    version: str | None
    drivers: dict[str, str]
    state_at: float | None
    last_seen: float | None
    last_telemetry: dict[str, Any] | None
    telemetry_at: float | None

    @property
    def revoked(self) -> bool:
        return self.status == "revoked"


@dataclass(frozen=True)
class PacketIndex:
    """What the controller may know about a packet without opening it again."""

    packet_id: str
    station_id: str
    seq: int
    nik: str = field(repr=False)
    kelurahan_code: str
    assignment_id: str | None
    operator_id: str
    captured_at: float
    sealed_at: float


@dataclass(frozen=True)
class StoreOutcome:
    packet_id: str
    duplicate: bool  # the packet id was already stored
    #: Other packets with the same NIK (a second enrollment, flagged for review).
    same_nik: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    packet_id: str | None
    station_id: str | None
    topic: str
    received_at: float
    reason_id: str
    reason: str
    size: int
    payload_kept: bool


@dataclass(frozen=True)
class Alarm:
    id: int
    station_id: str
    kind: str
    message: str
    raised_at: float
    cleared_at: float | None


@dataclass(frozen=True)
class KelurahanProgress:
    code: str
    name: str
    kecamatan_code: str
    kecamatan: str
    wajib_ktp: int
    recorded_before: int
    recorded_here: int  # distinct NIKs stored by this controller

    @property
    def recorded(self) -> int:
        return self.recorded_before + self.recorded_here

    @property
    def remaining(self) -> int:
        return max(0, self.wajib_ktp - self.recorded)


@dataclass(frozen=True)
class AssignmentRow:
    assignment_id: str
    plan_id: str
    station_id: str
    date: str
    start: str
    end: str
    kelurahan_code: str
    venue: dict[str, Any] | None


class Store:
    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time, busy_timeout_s: float = 30.0):
        self.path = Path(path)
        self._clock = clock
        self._busy = busy_timeout_s
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._depth = 0

    # -- lifecycle ---------------------------------------------------------
    def open(self) -> "Store":
        with self._lock:
            if self._db is not None:
                return self
            db = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=self._busy)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA foreign_keys=ON")
                # Packets are ~300 KB: checkpoint every 64 MB of WAL rather than every 4 MB.
                db.execute("PRAGMA wal_autocheckpoint=16384")
                self._db = db
                self._migrate()
            except (sqlite3.Error, StoreError) as exc:
                self._db = None
                if db is not None:
                    db.close()
                raise StoreError(f"cannot open controller store {self.path}: {exc}") from exc
            except OSError as exc:
                raise StoreError(f"cannot create {self.path.parent}: {exc}") from exc
        return self

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    def __enter__(self) -> "Store":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._tx() as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        assert self._db is not None
        for version, script in enumerate(MIGRATIONS, start=1):
            with self._tx() as db:
                current = db.execute("PRAGMA user_version").fetchone()[0]
                if current >= version:
                    continue
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version}")

    def transaction(self):
        """Group several repository calls into one transaction (one fsync)."""
        return self._tx()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE ... COMMIT; nested calls join the outer one.

        Nesting is counted here, not read from ``in_transaction``: after a failed
        COMMIT the connection may still be inside a transaction, and every later
        call would then believe itself nested and never commit. A failed COMMIT
        is rolled back, so the caller's StoreError means "nothing was stored".
        """
        with self._lock:
            db = self._db
            if db is None:
                raise StoreError("controller store is not open")
            if self._depth:
                self._depth += 1
                try:
                    yield db
                finally:
                    self._depth -= 1
                return
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")  # left over from a failure: never build on it
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"controller store {self.path} is unavailable: {exc}") from exc
            self._depth = 1
            try:
                yield db
                db.execute("COMMIT")
            except BaseException as exc:
                _rollback(db)
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"controller store {self.path} failed: {exc}") from exc
                raise
            finally:
                self._depth = 0

    # -- stations ------------------------------------------------------------
    def add_station(self, station_id: str, signing_key_pem: bytes, key_id: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT status FROM stations WHERE station_id = ?", (station_id,)).fetchone()
            if row is not None:
                raise StoreError(f"station {station_id} is already registered (status {row[0]})")
            db.execute(
                "INSERT INTO stations(station_id, signing_key, key_id, registered_at) VALUES (?, ?, ?, ?)",
                (station_id, signing_key_pem, key_id, self._clock()),
            )

    def revoke_station(self, station_id: str, reason: str) -> None:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE stations SET status = 'revoked', revoked_reason = ?, revoked_at = ? WHERE station_id = ?",
                (reason, self._clock(), station_id),
            )
            if cur.rowcount == 0:
                raise UnknownStation(f"no station {station_id} is registered")

    def station(self, station_id: str) -> Station | None:
        with self._tx() as db:
            row = db.execute(f"SELECT {_STATION_COLS} FROM stations WHERE station_id = ?", (station_id,)).fetchone()
        return _station(row) if row else None

    def stations(self) -> list[Station]:
        with self._tx() as db:
            rows = db.execute(f"SELECT {_STATION_COLS} FROM stations ORDER BY station_id").fetchall()
        return [_station(r) for r in rows]

    def record_state(self, station_id: str, online: bool, connection: int, version: str,
                     drivers: dict[str, str], at: float) -> bool:
        """Apply a state message; False when it belongs to an older connection (a late will)."""
        with self._tx() as db:
            row = db.execute("SELECT connection FROM stations WHERE station_id = ?", (station_id,)).fetchone()
            if row is None:
                return False
            if connection < row[0]:
                return False
            db.execute(
                "UPDATE stations SET online = ?, connection = ?, version = ?, drivers = ?, state_at = ?, "
                "last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE station_id = ?",
                (int(online), connection, version, json.dumps(drivers), at, at, station_id),
            )
            return True

    def record_telemetry(self, station_id: str, at: float, body: dict[str, Any], keep_days: float = 30,
                         received_at: float | None = None) -> None:
        now = self._clock() if received_at is None else received_at
        with self._tx() as db:
            db.execute("INSERT INTO telemetry(station_id, at, received_at, body) VALUES (?, ?, ?, ?)",
                       (station_id, at, now, json.dumps(body)))
            db.execute("UPDATE stations SET last_telemetry = ?, telemetry_at = ?, "
                       "last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE station_id = ?",
                       (json.dumps(body), at, now, station_id))
            db.execute("DELETE FROM telemetry WHERE station_id = ? AND received_at < ?",
                       (station_id, now - keep_days * 86400))

    def telemetry_history(self, station_id: str, limit: int = 100) -> list[dict[str, Any]]:
        with self._tx() as db:
            rows = db.execute("SELECT body FROM telemetry WHERE station_id = ? ORDER BY at DESC LIMIT ?",
                              (station_id, limit)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def touch(self, station_id: str, at: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE stations SET last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE station_id = ?",
                       (at, station_id))

    # -- packets ---------------------------------------------------------------
    def has_packet(self, packet_id: str) -> bool:
        with self._tx() as db:
            return db.execute("SELECT 1 FROM packets WHERE packet_id = ?", (packet_id,)).fetchone() is not None

    def store_packets(self, batch: list[tuple[PacketIndex, bytes]], stored_by: str = "") -> list[StoreOutcome]:
        """Store a batch in one transaction (one fsync); idempotent by packet id."""
        now = self._clock()
        outcomes = []
        with self._tx() as db:
            for index, envelope in batch:
                cur = db.execute(
                    "INSERT OR IGNORE INTO packets(packet_id, station_id, seq, nik, kelurahan_code, assignment_id, "
                    "operator_id, captured_at, sealed_at, received_at, size, envelope, stored_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (index.packet_id, index.station_id, index.seq, index.nik, index.kelurahan_code,
                     index.assignment_id, index.operator_id, index.captured_at, index.sealed_at, now,
                     len(envelope), envelope, stored_by),
                )
                if cur.rowcount == 0:
                    outcomes.append(StoreOutcome(index.packet_id, duplicate=True))
                    continue
                others = tuple(r[0] for r in db.execute(
                    "SELECT packet_id FROM packets WHERE nik = ? AND packet_id != ? ORDER BY received_at",
                    (index.nik, index.packet_id)))
                for other in others:
                    db.execute(
                        "INSERT OR IGNORE INTO duplicate_enrollments(nik, packet_id, other_packet_id, flagged_at) "
                        "VALUES (?, ?, ?, ?)", (index.nik, index.packet_id, other, now))
                outcomes.append(StoreOutcome(index.packet_id, duplicate=False, same_nik=others))
        return outcomes

    def packet_count(self, station_id: str | None = None) -> int:
        with self._tx() as db:
            if station_id is None:
                return db.execute("SELECT COUNT(*) FROM packets").fetchone()[0]
            return db.execute("SELECT COUNT(*) FROM packets WHERE station_id = ?", (station_id,)).fetchone()[0]

    def packet_ids(self, station_id: str | None = None) -> list[str]:
        with self._tx() as db:
            q = "SELECT packet_id FROM packets" + (" WHERE station_id = ?" if station_id else "") + " ORDER BY packet_id"
            return [r[0] for r in db.execute(q, (station_id,) if station_id else ())]

    def packet_envelope(self, packet_id: str) -> bytes | None:
        with self._tx() as db:
            row = db.execute("SELECT envelope FROM packets WHERE packet_id = ?", (packet_id,)).fetchone()
        return bytes(row[0]) if row else None

    def packets_by_nik(self, nik: str) -> list[str]:
        with self._tx() as db:
            return [r[0] for r in db.execute("SELECT packet_id FROM packets WHERE nik = ? ORDER BY received_at", (nik,))]

    def duplicate_enrollments(self, unresolved_only: bool = True) -> list[tuple[str, str, str]]:
        """(NIK, packet, earlier packet) pairs waiting for review."""
        with self._tx() as db:
            q = "SELECT nik, packet_id, other_packet_id FROM duplicate_enrollments"
            if unresolved_only:
                q += " WHERE resolved IS NULL"
            return [tuple(r) for r in db.execute(q + " ORDER BY flagged_at")]

    # -- quarantine and counters -------------------------------------------------
    def quarantine(self, *, topic: str, reason_id: str, reason: str, payload: bytes,
                   packet_id: str | None = None, station_id: str | None = None) -> int:
        now = self._clock()
        with self._tx() as db:
            kept_so_far = db.execute(
                "SELECT COUNT(*) FROM quarantine WHERE station_id IS ? AND payload_kept = 1", (station_id,)
            ).fetchone()[0]
            keep = kept_so_far < QUARANTINE_PAYLOADS_PER_STATION
            stored = payload[:QUARANTINE_PAYLOAD_MAX] if keep else None
            cur = db.execute(
                "INSERT INTO quarantine(packet_id, station_id, topic, received_at, reason_id, reason, size, payload, "
                "payload_kept) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (packet_id, station_id, topic, now, reason_id, reason, len(payload), stored, int(keep)),
            )
            self._count(db, f"refused.{reason_id}")
            return cur.lastrowid

    def quarantined(self, station_id: str | None = None, limit: int = 1000) -> list[QuarantineEntry]:
        with self._tx() as db:
            q = ("SELECT id, packet_id, station_id, topic, received_at, reason_id, reason, size, payload_kept "
                 "FROM quarantine")
            args: tuple = ()
            if station_id is not None:
                q += " WHERE station_id = ?"
                args = (station_id,)
            rows = db.execute(q + " ORDER BY id LIMIT ?", (*args, limit)).fetchall()
        return [QuarantineEntry(*r[:8], payload_kept=bool(r[8])) for r in rows]

    def quarantined_payload(self, entry_id: int) -> bytes | None:
        with self._tx() as db:
            row = db.execute("SELECT payload FROM quarantine WHERE id = ?", (entry_id,)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def count(self, name: str, by: int = 1) -> None:
        with self._tx() as db:
            self._count(db, name, by)

    @staticmethod
    def _count(db: sqlite3.Connection, name: str, by: int = 1) -> None:
        db.execute("INSERT INTO counters(name, value) VALUES (?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, by))

    def counters(self, prefix: str = "") -> dict[str, int]:
        with self._tx() as db:
            return dict(db.execute("SELECT name, value FROM counters WHERE name LIKE ? ORDER BY name",
                                   (prefix + "%",)).fetchall())

    # -- kelurahan and progress -----------------------------------------------------
    def upsert_kelurahan(self, rows: list[tuple[str, str, str, str, int, int]]) -> None:
        """(code, name, kecamatan_code, kecamatan, wajib_ktp, recorded_before) per kelurahan."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO kelurahan(code, name, kecamatan_code, kecamatan, wajib_ktp, recorded_before) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE SET name = excluded.name, "
                "kecamatan_code = excluded.kecamatan_code, kecamatan = excluded.kecamatan, "
                "wajib_ktp = excluded.wajib_ktp, recorded_before = excluded.recorded_before", rows)

    def progress(self) -> list[KelurahanProgress]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT k.code, k.name, k.kecamatan_code, k.kecamatan, k.wajib_ktp, k.recorded_before, "
                "(SELECT COUNT(DISTINCT p.nik) FROM packets p WHERE p.kelurahan_code = k.code) "
                "FROM kelurahan k ORDER BY k.code").fetchall()
        return [KelurahanProgress(*r) for r in rows]

    def recorded_by_kelurahan(self) -> dict[str, int]:
        with self._tx() as db:
            return dict(db.execute(
                "SELECT kelurahan_code, COUNT(DISTINCT nik) FROM packets GROUP BY kelurahan_code").fetchall())

    # -- plans and assignments ---------------------------------------------------------
    def save_plan(self, plan_id: str, planner: str, params: dict[str, Any],
                  assignments: list[AssignmentRow], *, activate: bool = True) -> None:
        with self._tx() as db:
            if activate:
                db.execute("UPDATE plans SET active = 0")
            db.execute("INSERT INTO plans(plan_id, planner, params, created_at, active) VALUES (?, ?, ?, ?, ?)",
                       (plan_id, planner, json.dumps(params), self._clock(), int(activate)))
            db.executemany(
                "INSERT INTO assignments(assignment_id, plan_id, station_id, date, start, end_, kelurahan_code, venue) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(a.assignment_id, plan_id, a.station_id, a.date, a.start, a.end, a.kelurahan_code,
                  json.dumps(a.venue) if a.venue else None) for a in assignments])

    def active_plan(self) -> tuple[str, str, dict[str, Any]] | None:
        with self._tx() as db:
            row = db.execute("SELECT plan_id, planner, params FROM plans WHERE active = 1").fetchone()
        return (row[0], row[1], json.loads(row[2])) if row else None

    def assignments(self, plan_id: str, *, station_id: str | None = None,
                    from_date: str | None = None) -> list[AssignmentRow]:
        q = ("SELECT assignment_id, plan_id, station_id, date, start, end_, kelurahan_code, venue "
             "FROM assignments WHERE plan_id = ?")
        args: list[Any] = [plan_id]
        if station_id is not None:
            q += " AND station_id = ?"
            args.append(station_id)
        if from_date is not None:
            q += " AND date >= ?"
            args.append(from_date)
        with self._tx() as db:
            rows = db.execute(q + " ORDER BY date, station_id", args).fetchall()
        return [AssignmentRow(*r[:7], venue=json.loads(r[7]) if r[7] else None) for r in rows]

    # -- venues ---------------------------------------------------------------------------
    def add_venue(self, venue: dict[str, Any]) -> None:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM venues WHERE venue_id = ?", (venue["venue_id"],)).fetchone():
                raise StoreError(f"venue {venue['venue_id']} already exists")
            db.execute(
                "INSERT INTO venues(venue_id, kind, name, address, kelurahan_code, date, expected_people, stations, "
                "added_at) VALUES (:venue_id, :kind, :name, :address, :kelurahan_code, :date, :expected_people, "
                ":stations, :added_at)", {**venue, "added_at": self._clock()})

    def remove_venue(self, venue_id: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM venues WHERE venue_id = ?", (venue_id,)).rowcount == 1

    def venues(self, from_date: str | None = None) -> list[dict[str, Any]]:
        cols = ("venue_id", "kind", "name", "address", "kelurahan_code", "date", "expected_people", "stations")
        q = f"SELECT {', '.join(cols)} FROM venues" + (" WHERE date >= ?" if from_date else "") + " ORDER BY date"
        with self._tx() as db:
            return [dict(zip(cols, r)) for r in db.execute(q, (from_date,) if from_date else ())]

    # -- alarms ---------------------------------------------------------------------------
    def raise_alarm(self, station_id: str, kind: str, message: str) -> bool:
        """True if this opened a new alarm (an open one of the same kind is kept as is)."""
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO alarms(station_id, kind, message, raised_at) VALUES (?, ?, ?, ?)",
                             (station_id, kind, message, self._clock()))
            return cur.rowcount == 1

    def clear_alarm(self, station_id: str, kind: str) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE alarms SET cleared_at = ? WHERE station_id = ? AND kind = ? AND cleared_at IS NULL",
                             (self._clock(), station_id, kind))
            return cur.rowcount == 1

    def open_alarms(self, station_id: str | None = None) -> list[Alarm]:
        q = "SELECT id, station_id, kind, message, raised_at, cleared_at FROM alarms WHERE cleared_at IS NULL"
        args: tuple = ()
        if station_id is not None:
            q += " AND station_id = ?"
            args = (station_id,)
        with self._tx() as db:
            return [Alarm(*r) for r in db.execute(q + " ORDER BY raised_at", args)]


_STATION_COLS = ("station_id, signing_key, key_id, status, revoked_reason, registered_at, online, connection, "
                 "version, drivers, state_at, last_seen, last_telemetry, telemetry_at")


def _station(row: tuple) -> Station:
    return Station(
        station_id=row[0], signing_key=bytes(row[1]), key_id=row[2], status=row[3], revoked_reason=row[4],
        registered_at=row[5], online=bool(row[6]), connection=row[7], version=row[8],
        drivers=json.loads(row[9]) if row[9] else {}, state_at=row[10], last_seen=row[11],
        last_telemetry=json.loads(row[12]) if row[12] else None, telemetry_at=row[13],
    )


def _rollback(db: sqlite3.Connection) -> None:
    try:
        if db.in_transaction:
            db.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # the connection is beyond saving; the next _tx starts clean or reports it


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]

"""Which NIKs this station has already sealed a record for, without keeping the NIKs.

A resident who comes twice (a second queue, another day of the same
kelurahan) should be flagged before the capture starts, not discovered at
the controller. The station must not keep a readable list of NIKs, so each
is kept as scrypt(NIK, station salt): slow enough (16 MiB, ~40 ms) that
walking the NIK space of a kecamatan for a stolen station takes days per
core, and every entry is dropped after ``keep_days``. The salt is random per
station, mode 0600, beside the database.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Callable

from adapters.files import write_atomic
from adapters.sqlite import Database, Migration
from station.errors import OutboxError

MIGRATIONS = (Migration("0001_seen", """
CREATE TABLE IF NOT EXISTS seen (
    digest    BLOB PRIMARY KEY,
    sealed_at REAL NOT NULL
);
"""),)


class SeenNIKs:
    def __init__(self, data_dir: Path, *, keep_days: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(data_dir) / "seen.db"
        self._salt_path = Path(data_dir) / "keys" / "seen.salt"
        self.keep_s = keep_days * 86400
        self._clock = clock
        self._db = Database(self.path, error=OutboxError, what="seen NIKs", migrations=MIGRATIONS)
        self._salt = b""

    def open(self) -> "SeenNIKs":
        if self._db.is_open:
            return self
        try:
            self._salt = self._salt_path.read_bytes()
        except FileNotFoundError:
            self._salt = os.urandom(32)
            write_atomic(self._salt_path, self._salt, 0o600)
        self._db.open()
        with self._db.transaction() as db:
            db.execute("DELETE FROM seen WHERE sealed_at < ?", (self._clock() - self.keep_s,))
        return self

    def close(self) -> None:
        self._db.close()

    def _digest(self, nik: str) -> bytes:
        return hashlib.scrypt(nik.encode(), salt=self._salt, n=2**14, r=8, p=1, dklen=32)

    def add(self, nik: str) -> None:
        with self._db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO seen(digest, sealed_at) VALUES (?, ?)", (self._digest(nik), self._clock()))

    def __contains__(self, nik: str) -> bool:
        with self._db.transaction() as db:
            return db.execute("SELECT 1 FROM seen WHERE digest = ? AND sealed_at >= ?",
                              (self._digest(nik), self._clock() - self.keep_s)).fetchone() is not None

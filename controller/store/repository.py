"""The controller's one repository: every table, behind one class.

SQLite by default (WAL, ``synchronous=FULL``, a busy timeout so several
controller processes can share one file), opened through
:mod:`adapters.sqlite`, which maps every sqlite3 error into
:class:`controller.errors.StoreError`. The schema is the numbered SQL files in
``controller/store/migrations``. Nothing above this package writes SQL, so a
PostgreSQL repository can replace this one for replicated controllers.

The methods live in one module per area (stations, packets, planning, alarms)
and are mixed in here. Packets are stored still sealed with index columns
beside them; plaintext biometrics never reach this database.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Callable, ContextManager

from adapters.sqlite import Database, migrations_in
from controller.errors import StoreError
from controller.store.alarm_book import AlarmBook
from controller.store.alarms import AlarmTables
from controller.store.commands import CommandTables
from controller.store.dashboard import DashboardTables
from controller.store.handoff import HandOffTables
from controller.store.lookup import PacketLookup
from controller.store.packets import PacketTables
from controller.store.planning import PlanTables
from controller.store.quarantine import QuarantineBudget, QuarantineTables
from controller.store.stations import StationTables
from controller.store.users import UserTables


class Store(StationTables, PacketTables, QuarantineTables, PlanTables, AlarmTables, HandOffTables,
            AlarmBook, UserTables, CommandTables, PacketLookup, DashboardTables):  # the dashboard's areas
    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time, busy_timeout_s: float = 30.0,
                 connect: Callable[..., sqlite3.Connection] = sqlite3.connect,
                 quarantine_budget: QuarantineBudget | None = None):
        self.path = Path(path)
        self._clock = clock
        self.quarantine_budget = quarantine_budget or QuarantineBudget()
        # Packets are ~300 KB: checkpoint every 64 MB of WAL rather than every 4 MB.
        self._db = Database(self.path, error=StoreError, what="controller store",
                            migrations=migrations_in("controller.store.migrations"),
                            busy_timeout_s=busy_timeout_s, pragmas=("wal_autocheckpoint=16384",),
                            connect=connect)

    def open(self) -> "Store":
        self._db.open()
        return self

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self) -> ContextManager[sqlite3.Connection]:
        """Group several repository calls into one transaction (one fsync)."""
        return self._db.transaction()

    def savepoint(self) -> ContextManager[sqlite3.Connection]:
        """Inside a transaction: a part that fails alone (one station's report among many)."""
        return self._db.savepoint()

    @property
    def migrations(self) -> list[str]:
        return self._db.applied_migrations()

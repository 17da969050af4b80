"""Everything a view may use, in one object: :class:`Dashboard`.

Built once per controller process (see :mod:`controller.web.wiring`) and
kept on the Starlette app's state. Views read through the store and act
through the command tracker and the ingest; nothing here opens a sealed
packet.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from controller.accounts import Authenticator
from controller.commands import CommandTracker
from controller.config import ControllerConfig
from controller.ingest import IngestResult
from controller.metrics import ControllerMetrics
from controller.scheduler import Plan
from controller.scheduler.codec import plan_from_json
from controller.store import Store
from controller.web.live import LiveHub
from protocol import regions, wib


@functools.lru_cache(maxsize=4096)
def kelurahan_name(code: str) -> str:
    try:
        return regions.kelurahan(code).name
    except regions.RegionError:
        return code


@functools.lru_cache(maxsize=512)
def kecamatan_name(code: str) -> str:
    try:
        return regions.region(code).name
    except regions.RegionError:
        return code


@dataclass
class Dashboard:
    store: Store
    config: ControllerConfig
    tracker: CommandTracker
    metrics: ControllerMetrics
    hub: LiveHub
    auth: Authenticator
    #: Re-run ingest on a kept quarantined payload (the controller's own Ingest), or None.
    reingest: Callable[[str, bytes], list[IngestResult]] | None = None
    clock: Callable[[], float] = time.time
    #: The schedule's today (WIB; the demo runs its own calendar).
    today: Callable[[], dt.date] = wib.today
    #: Station id -> when its outbox was last seen going from empty to not empty (this process's view).
    outbox_nonempty_since: dict[str, float] = field(default_factory=dict)
    _plan: tuple[str, Plan] | None = None
    _plan_lock: threading.Lock = field(default_factory=threading.Lock)
    _today_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _places: dict[str, str | None] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return self.config.web.language

    def active_plan(self) -> tuple[str, Plan] | None:
        row = self.store.active_plan()
        if row is None:
            return None
        with self._plan_lock:
            if self._plan is None or self._plan[0] != row[0]:
                self._plan = (row[0], plan_from_json(row[2]))
            return self._plan

    def assignments_on(self, date: str) -> dict[str, Any]:
        """Station id -> its assignment row on ``date`` under the active plan (cached a few seconds)."""
        row = self.store.active_plan()
        if row is None:
            return {}
        key = (row[0], date)
        now = time.monotonic()
        hit = self._today_cache.get(key)
        if hit and now - hit[0] < 5:
            return hit[1]
        rows = {a.station_id: a for a in self.store.assignments_on(row[0], date)}
        self._today_cache.clear()
        self._today_cache[key] = (now, rows)
        return rows

    def places(self, assignment_ids: set[str]) -> dict[str, str | None]:
        """Assignment id -> its kelurahan code (ids never change meaning, so they are cached)."""
        missing = [a for a in assignment_ids if a not in self._places]
        if missing:
            self._places.update(self.store.assignment_places(missing))
            for a in missing:
                self._places.setdefault(a, None)
        return {a: self._places.get(a) for a in assignment_ids}

    def on_telemetry(self, station_id: str, leaf: str, telemetry: Any) -> None:
        """Fleet listener: track since when each outbox has been not empty."""
        if leaf != "telemetry" or telemetry is None:
            return
        if telemetry.outbox_depth == 0:
            self.outbox_nonempty_since.pop(station_id, None)
        else:
            self.outbox_nonempty_since.setdefault(station_id, telemetry.at)

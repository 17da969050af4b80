"""The fleet: who is online, what they report, and what needs an operator's eye.

State comes from the retained state topic and the last will. A will carries
the connection number it was set for, so one from an older connection (the
broker may deliver it after the station is back) is ignored. Telemetry is
kept as history. Alarms are evaluated on a timer and after each report, are
raised once and cleared when the cause goes away:

* ``offline`` — offline (or "online" but silent: no state or telemetry for
  ``silent_after_s``) longer than the threshold while assigned today;
* ``outbox_backlog`` — the station's outbox deeper than the threshold;
* ``driver_failing`` — a device reported unhealthy;
* ``disk_low`` — free disk under the threshold.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

import msgspec

from controller.config import FleetSettings
from controller.store import Alarm, Store
from protocol import messages
from protocol.messages import State, Telemetry

log = logging.getLogger(__name__)

ALARM_KINDS = ("offline", "outbox_backlog", "driver_failing", "disk_low")


@dataclass(frozen=True)
class FleetRow:
    station_id: str
    status: str  # active | revoked
    online: bool
    last_seen: float | None
    assignment: str | None
    outbox_depth: int | None
    drivers: str
    alarms: tuple[str, ...]


@dataclass(frozen=True)
class AlarmChange:
    station_id: str
    kind: str
    raised: bool  # False: cleared
    message: str


class Fleet:
    def __init__(self, store: Store, settings: FleetSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock

    def on_state(self, station_id: str, payload: bytes, received_at: float | None = None) -> bool:
        """Apply a state message; False if ignored (bad, unknown station, or from an older connection)."""
        if not payload:
            return False  # a cleared retained topic
        try:
            state = messages.decode(State, payload)
        except messages.MessageError as exc:
            log.warning("ignoring bad state from %s: %s", station_id, exc)
            return False
        if state.station_id != station_id:
            log.warning("state on %s's topic claims station %s; ignored", station_id, state.station_id)
            return False
        if self._revoked(station_id):
            return False
        applied = self.store.record_state(station_id, state.online, state.connection, state.version,
                                          state.drivers, received_at if received_at is not None else self._clock())
        if not applied:
            log.info("ignored %s state of %s from connection %d (unknown station, or older than the current "
                     "connection)", "online" if state.online else "offline", station_id, state.connection)
        return applied

    def on_telemetry(self, station_id: str, payload: bytes, received_at: float | None = None) -> Telemetry | None:
        try:
            t = messages.decode(Telemetry, payload)
        except messages.MessageError as exc:
            log.warning("ignoring bad telemetry from %s: %s", station_id, exc)
            return None
        if t.station_id != station_id or self._revoked(station_id) is not False:
            return None
        body = msgspec.to_builtins(t)
        self.store.record_telemetry(station_id, t.at, body, received_at=received_at)
        return t

    def _revoked(self, station_id: str) -> bool | None:
        """True for a revoked station (whose reports are ignored), None for an unknown one."""
        st = self.store.station(station_id)
        return None if st is None else st.revoked

    def check_alarms(self, assigned_today: set[str]) -> list[AlarmChange]:
        now = self._clock()
        s = self.settings
        changes: list[AlarmChange] = []
        for st in self.store.stations():
            if st.revoked:
                continue
            t = st.last_telemetry or {}
            conditions: dict[str, str | None] = {}
            silent = st.online and st.last_seen is not None and now - st.last_seen > s.silent_after_s
            if not st.online:
                offline_since = st.state_at or st.registered_at
            elif silent:
                offline_since = st.last_seen  # said online, then went quiet: a lost will, a hung uplink
            else:
                offline_since = None
            offline_for = now - offline_since if offline_since is not None else 0.0
            conditions["offline"] = (
                f"{'silent' if silent else 'offline'} for {offline_for / 60:.0f} min during its assignment"
                if st.station_id in assigned_today and offline_since is not None and offline_for > s.offline_alarm_s
                else None)
            depth = t.get("outbox_depth")
            conditions["outbox_backlog"] = (
                f"outbox holds {depth} packets" if isinstance(depth, int) and depth > s.outbox_alarm_depth else None)
            failing = [f"{kind}: {h.get('reason') or 'failing'}" for kind, h in (t.get("drivers") or {}).items()
                       if isinstance(h, dict) and not h.get("ok", True)]
            conditions["driver_failing"] = "; ".join(failing) if failing else None
            free = t.get("disk_free_bytes")
            conditions["disk_low"] = (
                f"{free // 2**20} MiB free" if isinstance(free, int) and free < s.disk_low_bytes else None)
            for kind, message in conditions.items():
                if message is not None:
                    if self.store.raise_alarm(st.station_id, kind, message):
                        log.warning("alarm %s on %s: %s", kind, st.station_id, message)
                        changes.append(AlarmChange(st.station_id, kind, True, message))
                elif self.store.clear_alarm(st.station_id, kind):
                    changes.append(AlarmChange(st.station_id, kind, False, ""))
        return changes

    def table(self) -> list[FleetRow]:
        alarms: dict[str, list[Alarm]] = {}
        for a in self.store.open_alarms():
            alarms.setdefault(a.station_id, []).append(a)
        rows = []
        for st in self.store.stations():
            t = st.last_telemetry or {}
            drivers = t.get("drivers") or {}
            health = ", ".join(
                f"{k}:{h.get('driver', '?')}{'' if h.get('ok', True) else '!'}" for k, h in sorted(drivers.items())
            ) or ", ".join(f"{k}:{v}" for k, v in sorted(st.drivers.items()))
            rows.append(FleetRow(
                station_id=st.station_id, status=st.status, online=st.online, last_seen=st.last_seen,
                assignment=t.get("assignment_id"), outbox_depth=t.get("outbox_depth"), drivers=health,
                alarms=tuple(a.kind for a in alarms.get(st.station_id, [])),
            ))
        return rows


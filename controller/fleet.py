"""The fleet: who is online, what they report, and what needs an operator's eye.

State comes from the retained state topic and the last will. A will carries
the connection number it was set for, so one from an older connection (the
broker may deliver it after the station is back) is ignored. Telemetry is
kept as history. Alarms are evaluated on a timer by the rules of
:mod:`controller.alarms` (offline during an assignment, no contact for hours,
outbox backing up, failing device, low disk, packets quarantined), are raised
once and cleared when the cause goes away; whoever listens (the dashboard's
live channel, the webhook notifier) hears of every change after it is stored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

import msgspec

from controller import alarms as rules
from controller.alarms import ALARM_KINDS
from controller.config import FleetSettings
from controller.store import Alarm, Store
from protocol import messages
from protocol.messages import State, Telemetry

log = logging.getLogger(__name__)

__all__ = ["ALARM_KINDS", "AlarmChange", "Fleet", "FleetRow"]


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
    alarm_id: int = 0
    severity: str = ""


class Fleet:
    def __init__(self, store: Store, settings: FleetSettings, *, clock: Callable[[], float] = time.time,
                 notify: bool = False) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock
        #: Queue a webhook notification with every raise and clear (one per alarm and event).
        self.notify = notify
        #: Called with each non-empty list of alarm changes, after they are stored; must not block.
        self.listeners: list[Callable[[list[AlarmChange]], None]] = []

    def on_state(self, station_id: str, payload: bytes, received_at: float | None = None) -> bool:
        """Apply a state message; False if ignored (bad, unknown station, or from an older connection)."""
        if not payload:
            return False  # a cleared retained topic
        if not self.accepts(station_id):  # before a byte is decoded: only a registered, active station counts
            return False
        try:
            state = messages.decode(State, payload)
        except messages.MessageError as exc:
            log.warning("ignoring bad state from %s: %s", station_id, exc)
            return False
        if state.station_id != station_id:
            log.warning("state on %s's topic claims station %s; ignored", station_id, state.station_id)
            return False
        applied = self.store.record_state(station_id, state.online, state.connection, state.version,
                                          state.drivers, received_at if received_at is not None else self._clock())
        if not applied:
            log.info("ignored %s state of %s from connection %d (unknown station, or older than the current "
                     "connection)", "online" if state.online else "offline", station_id, state.connection)
        return applied

    def on_telemetry(self, station_id: str, payload: bytes, received_at: float | None = None) -> Telemetry | None:
        if not self.accepts(station_id):
            return None
        try:
            t = messages.decode(Telemetry, payload)
        except messages.MessageError as exc:
            log.warning("ignoring bad telemetry from %s: %s", station_id, exc)
            return None
        if t.station_id != station_id:
            return None
        body = msgspec.to_builtins(t)
        self.store.record_telemetry(station_id, t.at, body, received_at=received_at)
        return t

    def accepts(self, station_id: str) -> bool:
        """A registered station that is not revoked: the only kind whose reports count."""
        return self._revoked(station_id) is False

    def _revoked(self, station_id: str) -> bool | None:
        """True for a revoked station (whose reports are ignored), None for an unknown one."""
        st = self.store.station(station_id)
        return None if st is None else st.revoked

    def check_alarms(self, assigned_today: set[str]) -> list[AlarmChange]:
        """Open and close alarms to match the rules, in one transaction; the changes made."""
        now = self._clock()
        changes: list[AlarmChange] = []
        with self.store.transaction():
            open_now = self.store.open_alarm_keys()
            held = self.store.quarantined_by_station()
            for st in self.store.stations():
                if st.revoked:
                    continue
                wanted = {c.kind: c for c in rules.conditions(
                    st, now, self.settings, assigned_today=st.station_id in assigned_today,
                    quarantined_here=held.get(st.station_id, 0))}
                for kind, c in wanted.items():
                    if (st.station_id, kind) in open_now:
                        continue
                    message = rules.text(kind, c.params, st.station_id, "en")
                    alarm_id = self.store.open_alarm_full(st.station_id, kind, c.severity, dict(c.params), message,
                                                          notify=self.notify)
                    if alarm_id is not None:
                        log.warning("alarm %s on %s: %s", kind, st.station_id, message)
                        changes.append(AlarmChange(st.station_id, kind, True, message, alarm_id, c.severity))
                for kind in ALARM_KINDS:
                    alarm_id = open_now.get((st.station_id, kind))
                    if alarm_id is not None and kind not in wanted and self.store.close_alarm(alarm_id,
                                                                                                notify=self.notify):
                        log.info("alarm %s on %s cleared", kind, st.station_id)
                        changes.append(AlarmChange(st.station_id, kind, False, "", alarm_id, rules.SEVERITY[kind]))
        if changes:
            for listener in list(self.listeners):
                try:
                    listener(changes)
                except Exception:  # a listener's bug must not stop the alarms
                    log.exception("alarm listener failed")
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


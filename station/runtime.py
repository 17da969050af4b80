"""The station program: devices, outbox, uplink, and enrollments, in one process.

One station runs one of these (a lock file in the data directory refuses a
second, which would fight the first over the serial ports and the MQTT
client id). It keeps the latest assignment on disk so a restart in the field
knows where it is, answers the controller's commands, reports telemetry, and
hands out :class:`station.workflow.Enrollment` objects bound to the current
assignment.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable

from adapters.files import write_atomic
from adapters.version import VERSION
from drivers.errors import DeviceError
from drivers.registry import DriverContext
from drivers.types import DeviceKind
from protocol import messages, regions, wib
from protocol.messages import (
    AssignmentUpdate,
    Command,
    CommandName,
    CommandReply,
    Telemetry,
)
from station import config as config_mod
from station import keyfiles
from station.central_status import CentralStatusBook
from station.config import StationConfig
from station.certificate import install_renewal
from station.devices import Devices
from station.errors import ConfigError, StationError
from station.operators import OperatorStore
from station.outbox import Outbox
from station.quality import QualityThresholds
from station.sealer import Sealer
from station.seen import SeenNIKs
from station.uplink import Uplink
from station.workflow import Enrollment, Operator

log = logging.getLogger(__name__)



class StationRuntime:
    def __init__(self, config: StationConfig, *, context: DriverContext | None = None,
                 clock: Callable[[], float] = time.time,
                 today: Callable[[], dt.date] | None = None) -> None:
        self.config = config
        self.context = context or DriverContext()
        self._clock = clock
        self._today = today or (lambda: wib.today(self._clock()))
        self.outbox = Outbox(config.outbox_path, clock=clock)
        self.central_statuses = CentralStatusBook(config.data_dir / "central_status.db", clock=clock)
        self.devices = Devices(config.devices, self.context)
        self.thresholds: QualityThresholds = config.quality
        #: Who may log in (the kiosk and the console) and confirm face exceptions.
        self.operators = OperatorStore(config.data_dir / "operators.db", clock=clock,
                                       max_failures=config.kiosk.max_failures, lockout_s=config.kiosk.lockout_s)
        self.seen = SeenNIKs(config.data_dir, clock=clock)
        self.uplink: Uplink | None = None
        self.sealer: Sealer | None = None
        self._assignment: AssignmentUpdate | None = None
        self._assignment_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._started = False

    # -- lifecycle --------------------------------------------------------------
    def start(self, *, connect: bool = True) -> "StationRuntime":
        if self._started:
            return self
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            signing = keyfiles.load_signing_key(self.config.signing_key)
            controller = keyfiles.load_controller_public(self.config.controller_public_key).for_suite(self.config.suite)
            self.outbox.open()
            self.operators.open()
            self.seen.open()
            self.central_statuses.open()
            self._assignment = self._load_assignment()
            self.devices.open_all()
            self.sealer = Sealer(self.config.station_id, self.outbox, controller, signing,
                                 min_free_bytes=self.config.min_free_bytes, on_sealed=self._sealed)
            if connect:
                self.set_online(True)
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def set_online(self, online: bool, *, abrupt: bool = False) -> None:
        """Connect or disconnect the uplink; enrollment goes on either way (store and forward).

        ``abrupt`` drops the connection as a lost network would (the broker then
        publishes the station's last will)."""
        if online and self.uplink is None:
            self.uplink = Uplink(
                self.config.station_id, self.config.mqtt, self.outbox, version=VERSION,
                drivers=self.devices.driver_names, telemetry=self.telemetry,
                on_assignment=self._on_assignment, on_command=self.handle_command,
                on_certificate=self._on_certificate, on_status=self.central_statuses.apply,
                clock=self._clock).start()
        elif not online and self.uplink is not None:
            uplink, self.uplink = self.uplink, None
            uplink.stop(abrupt=abrupt)

    @property
    def online(self) -> bool:
        return self.uplink is not None and self.uplink.status.connected

    def stop(self) -> None:
        self.set_online(False)
        self.devices.close_all()
        self.outbox.close()
        self.operators.close()
        self.seen.close()
        self.central_statuses.close()
        self._release_lock()
        self._started = False

    def __enter__(self) -> "StationRuntime":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _take_lock(self) -> None:
        path = self.config.data_dir / "station.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StationError(f"station {self.config.station_id} is already running (pid {other}); "
                               "stop that one first (systemctl stop rekam-station)") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    # -- enrollment -----------------------------------------------------------------
    def enrollment(self, operator: Operator, operator_id: str, *, kelurahan_code: str | None = None,
                   **options: Any) -> Enrollment:
        """An enrollment bound to the current assignment (or an explicit kelurahan)."""
        if self.sealer is None:
            raise StationError("station is not started")
        current = self.current_assignment()
        code = kelurahan_code or (current.kelurahan_code if current else None)
        if code is None:
            raise StationError("no assignment from the controller yet and no kelurahan given (--kelurahan CODE)")
        try:
            code = regions.kelurahan(code).code
        except regions.RegionError as exc:
            raise ConfigError(f"kelurahan {code!r}: {exc}") from None
        return Enrollment(
            devices=self.devices, thresholds=self.thresholds, operator=operator, sealer=self.sealer,
            station_id=self.config.station_id, operator_id=operator_id, kelurahan_code=code,
            assignment_id=current.assignment_id if current and current.kelurahan_code == code else None,
            retries=self.config.retries, clock=self._clock, supervisors=self.operators.supervisor_check,
            seen=self.seen, **options,
        )

    def today(self) -> dt.date:
        """The station's date (WIB; the demo's accelerated one in demos)."""
        return self._today()

    def enrollments_today(self) -> int:
        return self.outbox.counter(f"enrolled:{self._today().isoformat()}")

    def _sealed(self) -> None:
        # The packet is already safe in the outbox: a failing counter must not make the
        # operator believe the enrollment failed (and record the resident twice).
        try:
            self.outbox.bump_counter(f"enrolled:{self._today().isoformat()}")
        except Exception:
            log.exception("could not count today's enrollment")
        uplink = self.uplink
        if uplink is not None:
            uplink.wake()

    # -- certificate renewal ---------------------------------------------------------------
    def _on_certificate(self, update: messages.CertificateUpdate) -> None:
        if install_renewal(update, self.config):
            # The TLS context holds the old certificate until a new uplink makes a new one;
            # not from the uplink's own thread, which stopping it would wait for.
            threading.Thread(target=self._reconnect, name="station-reconnect", daemon=True).start()

    def _reconnect(self) -> None:
        self.set_online(False)
        self.set_online(True)

    # -- assignment --------------------------------------------------------------------
    def current_assignment(self) -> messages.Assignment | None:
        with self._assignment_lock:
            update = self._assignment
        if update is None:
            return None
        today = self._today().isoformat()
        if update.current is not None and update.current.date == today:
            return update.current
        return next((a for a in update.upcoming if a.date == today), None)

    def _on_assignment(self, update: AssignmentUpdate) -> None:
        if update.station_id != self.config.station_id:
            log.warning("ignoring assignment addressed to %s", update.station_id)
            return
        with self._assignment_lock:
            self._assignment = update
        write_atomic(self.config.data_dir / "assignment.json", messages.encode(update), 0o644)
        cur = update.current
        log.info("assignment from plan %s: %s", update.plan_id,
                 f"{cur.date} {cur.kelurahan_code} {cur.start}-{cur.end}" if cur else "none today")

    def _load_assignment(self) -> AssignmentUpdate | None:
        path = self.config.data_dir / "assignment.json"
        try:
            return messages.decode(AssignmentUpdate, path.read_bytes())
        except FileNotFoundError:
            return None
        except messages.MessageError as exc:
            log.warning("ignoring saved assignment %s: %s", path, exc)
            return None

    # -- telemetry and commands -----------------------------------------------------------
    def telemetry(self, connection: int) -> Telemetry:
        s = self.outbox.stats()
        current = self.current_assignment()
        return Telemetry(
            station_id=self.config.station_id, at=self._clock(), connection=connection,
            outbox_depth=s.depth, outbox_bytes=s.bytes, quarantined=s.quarantined,
            disk_free_bytes=shutil.disk_usage(self.config.outbox_path.parent).free,
            enrollments_today=self.outbox.counter(f"enrolled:{self._today().isoformat()}"),
            temperature_c=_cpu_temperature(), drivers=self.devices.health(),
            assignment_id=current.assignment_id if current else None,
            outbox_oldest_at=s.oldest_sealed_at if s.depth else None,
        )

    def handle_command(self, cmd: Command) -> CommandReply:
        sid = self.config.station_id
        try:
            if cmd.name is CommandName.SELF_TEST:
                rows = self.devices.check()
                result = {r.kind.value: {"ok": r.ok, "detail": r.detail, "seconds": round(r.seconds, 3)} for r in rows}
                return CommandReply(cmd.command_id, sid, all(r.ok for r in rows), result)
            if cmd.name is CommandName.DRIVER_SWAP:
                kind = DeviceKind(cmd.args["kind"])
                res = self.devices.swap(kind, str(cmd.args["driver"]), dict(cmd.args.get("options") or {}))
                return CommandReply(cmd.command_id, sid, True, {"identity": res.identity.describe(),
                                                                "detail": res.detail})
            if cmd.name is CommandName.CONFIG_RELOAD:
                return CommandReply(cmd.command_id, sid, True, self.reload_config())
            if cmd.name is CommandName.REQUEUE_QUARANTINE:
                target = cmd.args.get("packet_id")
                n = self.outbox.requeue_quarantined(None if target in (None, "all") else str(target))
                if self.uplink:
                    self.uplink.wake()
                return CommandReply(cmd.command_id, sid, True, {"requeued": n})
        except (DeviceError, StationError, KeyError, ValueError) as exc:
            return CommandReply(cmd.command_id, sid, False, error=f"{exc.__class__.__name__}: {exc}")
        return CommandReply(cmd.command_id, sid, False, error=f"unknown command {cmd.name.value}")

    def reload_config(self) -> dict[str, Any]:
        """Apply what can change without a restart: devices and quality thresholds."""
        if self.config.source is None:
            raise ConfigError("this station was not started from a config file")
        new = config_mod.load(self.config.source)
        changed = []
        for kind, dc in new.devices.items():
            if self.config.devices.get(kind) != dc:
                self.devices.swap(kind, dc.driver, dc.options)
                changed.append(kind.value)
        self.thresholds = new.quality
        needs_restart = [name for name in ("mqtt", "station_id", "data_dir", "outbox_path", "signing_key",
                                           "controller_public_key", "suite", "min_free_bytes", "language")
                         if getattr(new, name) != getattr(self.config, name)]
        self.config = new
        return {"devices_changed": changed, "needs_restart": needs_restart}


def _cpu_temperature() -> float | None:
    try:
        return int(Path("/sys/class/thermal/thermal_zone0/temp").read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


def dump_json(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)

"""The kiosk's state beside a running station: who is logged in, the enrollment, the live status.

One :class:`Kiosk` per station process. It owns the glue the screens share:
the live channel's :class:`~station.kiosk.live.Hub`, the single operator
session, the current :class:`~station.kiosk.enrollment.EnrollmentSession`,
the preview pump, the trainer (emulated stations only), the screen language,
and a ticker thread that pushes the station's status every second (online,
time since the last contact, outbox) and logs an idle operator out.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass
from typing import Callable

from drivers.errors import DeviceError
from drivers.types import DeviceKind
from protocol import regions
from protocol.nik import NIK
from station import i18n
from station.kiosk.enrollment import EnrollmentSession
from station.kiosk.live import Hub
from station.kiosk.preview import PreviewPump, grabber
from station.kiosk.session import Sessions
from station.operators import Account
from station.runtime import StationRuntime
from station.trainer import Trainer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    online: bool
    last_contact_s: float | None  # seconds since the controller was last reachable; None: never since start
    outbox_depth: int
    quarantined: int
    disk_free_mb: int
    devices_failing: tuple[str, ...]
    enrolled_today: int

    def public(self) -> dict:
        return {"online": self.online, "last_contact_s": self.last_contact_s, "outbox": self.outbox_depth,
                "quarantined": self.quarantined, "disk_free_mb": self.disk_free_mb,
                "failing": list(self.devices_failing), "today": self.enrolled_today}


class Kiosk:
    def __init__(self, runtime: StationRuntime, *, trainer: Trainer | None = None,
                 central_status: Callable[[str], str | None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.runtime = runtime
        self.settings = runtime.config.kiosk
        self.trainer = trainer
        #: Where the central statuses (BIO_CAPTURED, PRINT_READY_RECORD...) of a packet come from,
        #: once the controller relays them; None until then (the outbox screen shows a dash).
        self.central_status = central_status
        self.language = runtime.config.language
        self.hub = Hub()
        self.sessions = Sessions(self.settings.idle_logout_s, clock=clock)
        self.enrollment: EnrollmentSession | None = None
        self.preview = PreviewPump(grabber(lambda: runtime.devices.camera), self.hub, self.settings.preview_fps)
        self._last_contact: float | None = None
        self._status: Status | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> "Kiosk":
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="kiosk-status", daemon=True)
            self._ticker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.cancel_enrollment()
        self.preview.stop()
        if self.trainer is not None:
            self.trainer.close()
        if self._ticker is not None:
            self._ticker.join(timeout=3)

    def t(self, msg_id: str, **params: object) -> str:
        return i18n.t(self.language, msg_id, **params)

    # -- status ---------------------------------------------------------------------------
    def status(self) -> Status:
        rt = self.runtime
        online = rt.online
        now = time.time()
        if online:
            self._last_contact = now
        stats = rt.outbox.stats()
        health = rt.devices.health()
        return Status(
            online=online,
            last_contact_s=None if self._last_contact is None else max(0.0, now - self._last_contact),
            outbox_depth=stats.depth, quarantined=stats.quarantined,
            disk_free_mb=shutil.disk_usage(rt.config.outbox_path.parent).free // 2**20,
            devices_failing=tuple(k for k, h in health.items() if not h.ok and k != DeviceKind.INDICATORS.value),
            enrolled_today=rt.enrollments_today(),
        )

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            try:
                status = self.status()
                if status != self._status:
                    self._status = status
                    self.hub.publish("status", **status.public(), text=self.status_text(status))
                if self.sessions.idle_expired():
                    log.info("kiosk: idle logout")
                    self.cancel_enrollment()
                    self.hub.publish("logout")
            except Exception:  # the ticker must outlive a disk hiccup
                log.exception("kiosk status tick failed")

    def central_text(self, code: str | None) -> str | None:
        """A central status in the operator's words (the code itself if it is a new one)."""
        if not code:
            return None
        if code.startswith("ENROLL_FAILURE_"):
            return self.t("central.ENROLL_FAILURE", reason=code.removeprefix("ENROLL_FAILURE_").lower())
        text = self.t(f"central.{code}")
        return code if text == f"central.{code}" else text

    def status_text(self, s: Status) -> str:
        if s.online:
            return self.t("k.online")
        if s.last_contact_s is None:
            return self.t("k.offline_never")
        return self.t("k.offline_since", ago=_ago(s.last_contact_s, self.language))

    # -- enrollment ------------------------------------------------------------------------
    def kelurahan(self) -> tuple[str | None, str]:
        """(code, name) to record for: today's assignment, else ``[kiosk] kelurahan``."""
        a = self.runtime.current_assignment()
        if a is not None:
            return a.kelurahan_code, a.kelurahan_name or a.kelurahan_code
        code = self.settings.kelurahan
        if code is None:
            return None, ""
        try:
            return code, regions.kelurahan(code).name
        except regions.RegionError:
            return code, code

    def start_enrollment(self, account: Account) -> EnrollmentSession:
        with self._lock:
            if self.enrollment is not None and self.enrollment.running:
                return self.enrollment
            code, _ = self.kelurahan()
            session = EnrollmentSession(language=lambda: self.language, changed=self._changed,
                                        preview=(self.preview.start, self.preview.stop),
                                        on_resident=self._new_resident, on_stroke=self._stroke)
            s = self.settings
            session.start(lambda op: self.runtime.enrollment(
                op, account.operator_id, kelurahan_code=code, pen_listener=session,
                finger_timeout_s=s.finger_timeout_s, signature_timeout_s=s.signature_timeout_s,
                signature_idle_s=s.signature_idle_s))
            self.enrollment = session
            return session

    def cancel_enrollment(self) -> None:
        e = self.enrollment
        if e is not None and e.running:
            e.cancel()
            e.join(timeout=15)

    def _changed(self) -> None:
        e = self.enrollment
        self.hub.publish("screen", version=e.version if e else 0)

    def _stroke(self, points: list[tuple[float, float, bool]]) -> None:
        self.hub.publish("stroke", points=points)

    def _new_resident(self, nik: NIK) -> None:
        if self.trainer is not None:
            self.trainer.new_resident(nik)

    # -- technician --------------------------------------------------------------------------
    def self_test(self) -> list:
        if self.enrollment is not None and self.enrollment.running:
            raise DeviceError("an enrollment is running; finish it before testing the devices")
        return self.runtime.devices.check()


def _ago(seconds: float, language: str) -> str:
    if seconds < 90:
        return i18n.t(language, "k.ago_s", n=int(seconds))
    if seconds < 5400:
        return i18n.t(language, "k.ago_min", n=int(seconds // 60))
    return i18n.t(language, "k.ago_h", n=round(seconds / 3600, 1))

"""One enrollment: NIK -> face -> ten fingers -> signature -> review -> seal.

The workflow drives the devices and asks an :class:`Operator` (the terminal
console, or a script in demos and tests) for everything a person decides.
Rules it keeps:

* Disk space is checked before anything is captured.
* Each capture passes its quality gate within ``retries`` attempts; after
  that the best attempt is kept and marked forced, never silently accepted,
  unless its problem is one that may never be forced
  (:data:`station.quality.UNFORCEABLE`): a photo with no face is never
  sealed. The operator then tries again or records a face exception with a
  reason, which a supervisor (not the operator) confirms with their PIN.
* A finger that cannot be captured is recorded as an exception with the
  operator's reason; no position is ever skipped.
* A device fault tells the operator its fix at once and counts toward a
  bounded number of tries (``retries`` in a row, then the operator decides;
  ``3 x retries`` in one step end the enrollment). A signature pen that stays
  down without writing is caught within seconds (:mod:`station.pen`).
* Captures stay in memory; the record is hash-chained, sealed and committed
  in one step, and nothing readable is written anywhere.
* Lights and buzzer say what is going on; their failure never stops an
  enrollment.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from drivers.errors import DeviceError, DeviceNotConnected, NoFinger
from drivers.types import (
    BeepPattern,
    DeviceKind,
    FingerCapture,
    ImageFormat,
    SignatureCapture,
    StatusLight,
)
from protocol import nik as nik_mod
from protocol.record import (
    ChainBuilder,
    DeviceInfo,
    EnrollmentRecord,
    FaceEntry,
    FingerEntry,
    FingerException,
    Quality,
    SignatureEntry,
    pack_samples,
)
from station.devices import Devices
from station.errors import EnrollmentAborted
from station.imaging import gray_png
from station.pen import PenListener, PenWatch, SignatureCleared
from station.questions import (
    FaceExceptionRequest,
    Operator,
    Outcome,
    Review,
    ReviewAction,
    ReviewDecision,
    Step,
    StepKind,
    SupervisorCheck,
)
from station.quality import (
    GateResult,
    QualityThresholds,
    check_face,
    check_finger,
    check_signature,
    expected_background,
)
from station.sealer import Sealer
from station.seen import SeenNIKs

log = logging.getLogger(__name__)

POSITIONS = tuple(range(1, 11))

__all__ = ["Enrollment", "FaceExceptionRequest", "Operator", "Outcome", "POSITIONS", "Review", "ReviewAction",
           "ReviewDecision", "Step", "StepKind", "SupervisorCheck"]


@dataclass
class _Attempt:
    result: GateResult
    payload: object
    captured_at: float
    tries: int = 1


@dataclass
class Enrollment:
    devices: Devices
    thresholds: QualityThresholds
    operator: Operator
    sealer: Sealer
    station_id: str
    operator_id: str
    kelurahan_code: str
    assignment_id: str | None = None
    retries: int = 3
    finger_timeout_s: float = 10.0
    signature_timeout_s: float = 60.0
    signature_idle_s: float = 2.0
    clock: Callable[[], float] = time.time
    #: Confirms a face exception; without it no face exception can be taken.
    supervisors: SupervisorCheck | None = None
    #: Sees the signature being written and may clear it or end it (the kiosk).
    pen_listener: PenListener | None = None
    pen_stuck_s: float = 3.0
    #: NIKs this station already sealed a record for (flagged before capture starts).
    seen: SeenNIKs | None = None
    _attempts: int = field(default=0, init=False)

    # -- the whole thing ------------------------------------------------------
    def run(self, nik_text: str | None = None) -> Outcome | None:
        """One resident; None when the operator cancels (nothing is stored then)."""
        self.sealer.check_space()
        text = nik_text if nik_text is not None else self.operator.ask_nik()
        if not text:
            return None
        try:
            nik = nik_mod.parse(text)
        except nik_mod.NIKError as exc:
            self.operator.notify("nik_invalid", reason_id=f"nik.{exc.reason_id}", reason=str(exc))
            return None
        enrolled_here = self.seen is not None and nik.value in self.seen
        if not self.operator.confirm_resident(nik, enrolled_here=enrolled_here):
            self.operator.notify("cancelled")
            return None
        t0 = time.monotonic()
        self._attempts = 0
        started = self.clock()
        background = expected_background(nik.birth_date.year)
        try:
            face = self._face(background)
            fingers = {p: self._finger(p) for p in POSITIONS}
            signature = self._signature()
            while True:
                decision = self.operator.review(Review(
                    face=face.quality,
                    fingers={p: (f.exception if f.exception else f.quality) for p, f in fingers.items()},
                    signature=signature.quality, face_exception=face.exception))
                if decision.action is ReviewAction.ACCEPT:
                    break
                if decision.action is ReviewAction.CANCEL:
                    self.operator.notify("cancelled")
                    self._light(StatusLight.READY)
                    return None
                if decision.action is ReviewAction.RETAKE_FACE:
                    face = self._face(background)
                elif decision.action is ReviewAction.RETAKE_FINGER and decision.position in POSITIONS:
                    fingers[decision.position] = self._finger(decision.position)
                elif decision.action is ReviewAction.RETAKE_SIGNATURE:
                    signature = self._signature()
        except EnrollmentAborted:
            self.operator.notify("cancelled")
            self._light(StatusLight.READY)
            return None
        face_exception = face.exception
        record = self._record(nik.value, started, face, fingers, signature)
        envelope = self.sealer.seal(record)
        forced = tuple(
            ["face"] * bool(face.quality.forced)
            + [f"finger {p}" for p, f in fingers.items() if f.quality is not None and f.quality.forced]
            + ["signature"] * signature.quality.forced)
        exceptions = {p: f.exception for p, f in fingers.items() if f.exception is not None}
        del record, face, fingers, signature
        if self.seen is not None:
            try:
                self.seen.add(nik.value)
            except Exception:  # the packet is sealed and stored: never make that look failed
                log.exception("could not remember the sealed NIK for the duplicate flag")
        self._beep(BeepPattern.DONE)
        self._light(StatusLight.READY)
        stats = self.sealer.outbox.stats()
        self.operator.notify("sealed", packet=envelope.packet_id[:8], pending=stats.pending + stats.sent)
        return Outcome(packet_id=envelope.packet_id, nik_masked=nik.masked(), forced=forced, exceptions=exceptions,
                       attempts=self._attempts, seconds=time.monotonic() - t0, face_exception=face_exception)

    # -- captures ------------------------------------------------------------------
    def _face(self, background: str) -> FaceEntry:
        def capture():
            image = self.devices.camera.capture()
            result = check_face(image, self.thresholds.face, expected_background=background)
            return result, image

        def camera_gave_up(step: Step, exc: DeviceError) -> bool:
            entry = self._face_exception(step, None)
            if entry is not None:
                raise _FaceExcepted(entry)
            return True

        while True:
            try:
                best = self._attempts_loop(StepKind.FACE, None, capture, background=background,
                                           gave_up=camera_gave_up)
            except _FaceExcepted as fx:
                return fx.entry
            if best.result.passed or best.result.forceable:
                img = best.payload
                return FaceEntry(image=img.data, width=img.width, height=img.height, captured_at=best.captured_at,
                                 quality=self._quality(best))
            # A photo with no face (or an unreadable one) is never sealed.
            step = Step(StepKind.FACE, best.tries, self.retries, None, best.result.problems, background)
            entry = self._face_exception(step, best)
            if entry is not None:
                return entry

    def _face_exception(self, step: Step, best: "_Attempt | None") -> FaceEntry | None:
        """Ask for a supervisor-confirmed face exception; None when the operator tries again."""
        result = best.result if best is not None else None
        while True:
            request = self.operator.face_unusable(step, result)
            if request is None:
                return None
            if self.supervisors is None:
                self.operator.notify("face_exception_unavailable")
                continue
            if request.supervisor_id == self.operator_id:
                self.operator.notify("supervisor_not_self")
                continue
            if not self.supervisors(request.supervisor_id, request.pin):
                self.operator.notify("supervisor_refused")
                continue
            log.info("face exception %s confirmed by supervisor %s", request.reason.value, request.supervisor_id)
            quality = Quality(passed=False, forced=False, attempts=best.tries if best else step.attempt,
                              measures={k: float(v) for k, v in result.measures.items()} if result else {},
                              problems=tuple(result.problems) if result else ())
            return FaceEntry(image=None, width=0, height=0, captured_at=self.clock(), quality=quality,
                             exception=request.reason, exception_note=request.note[:500],
                             confirmed_by=request.supervisor_id)

    def _finger(self, position: int) -> FingerEntry:
        def capture():
            cap: FingerCapture = self.devices.scanner.capture(self.finger_timeout_s)
            return check_finger(cap, self.thresholds.finger), cap

        def scanner_gave_up(step: Step, exc: DeviceError) -> bool:
            exception = self.operator.finger_unavailable(position, exc)
            if exception is not None:
                raise _Unavailable(exception, exc.reason_id)
            return True

        try:
            while True:
                best = self._attempts_loop(StepKind.FINGER, position, capture, gave_up=scanner_gave_up)
                if best.result.passed or best.result.forceable:
                    break
                # Empty glass every time is not a fingerprint: an exception, or another round.
                scanner_gave_up(Step(StepKind.FINGER, best.tries, self.retries, position, best.result.problems),
                                NoFinger("no finger was seen in any attempt"))
        except _Unavailable as u:
            return FingerEntry(position=position, captured_at=self.clock(), exception=u.exception,
                               exception_note=u.note)
        cap = best.payload
        img = cap.image
        return FingerEntry(position=position, captured_at=best.captured_at, image=_png(img), width=img.width,
                           height=img.height, dpi=int(img.metadata.get("dpi", 500)), template=cap.template,
                           template_format=cap.template_format, quality=self._quality(best))

    def _signature(self) -> SignatureEntry:
        def capture():
            watch = PenWatch(self.pen_listener, stuck_s=self.pen_stuck_s)
            cap: SignatureCapture = watch.capture(self.devices.pad, self.signature_timeout_s, self.signature_idle_s)
            return check_signature(cap, self.thresholds.signature), cap

        def pad_gave_up(step: Step, exc: DeviceError) -> bool:
            if not self.operator.device_failed(step, exc):
                raise EnrollmentAborted(f"signature: the operator stopped after: {exc}")
            return True

        # Clear stray pen reports before the resident is asked to sign, not after.
        best = self._attempts_loop(StepKind.SIGNATURE, None, capture, prepare=lambda: self.devices.pad.clear(),
                                   gave_up=pad_gave_up)
        cap = best.payload
        samples = pack_samples((s.t_ms, s.x, s.y, s.pressure, s.pen_down) for s in cap.samples)
        return SignatureEntry(image=cap.image.data, samples=samples, extent=tuple(cap.extent),
                              captured_at=best.captured_at, quality=self._quality(best))

    def _attempts_loop(self, kind: StepKind, position: int | None, capture, *, background: str = "",
                       prepare: Callable[[], None] | None = None,
                       gave_up: Callable[[Step, DeviceError], bool] | None = None) -> _Attempt:
        """Up to ``retries`` gated attempts; the passing one, else the best (the caller
        decides whether that may be forced: see :data:`station.quality.UNFORCEABLE`)."""
        attempts: list[_Attempt] = []
        problems: tuple[str, ...] = ()
        failures = 0  # device faults in a row
        total_failures = 0
        while len(attempts) < self.retries:
            step = Step(kind, len(attempts) + 1, self.retries, position, problems, background)
            self._light(StatusLight.ATTENTION)
            if prepare is not None:
                try:
                    prepare()
                except DeviceError as exc:
                    self._device_failed(kind, exc)
            declared = self.operator.before_capture(step)
            if declared is not None and kind is StepKind.FINGER:
                raise _Unavailable(declared, "declared by operator")
            self._light(StatusLight.WORKING)
            self._attempts += 1
            try:
                result, payload = capture()
            except SignatureCleared:
                self._light(StatusLight.ATTENTION)
                continue  # the operator cleared the pad: the same attempt again
            except NoFinger as exc:
                self._beep(BeepPattern.ERROR)
                exception = self.operator.finger_unavailable(position or 0, exc)
                if exception is not None:
                    raise _Unavailable(exception, "") from None
                continue
            except DeviceError as exc:
                failures += 1
                total_failures += 1
                self._device_failed(kind, exc)
                if total_failures >= self.retries * 3:
                    raise EnrollmentAborted(f"{kind.value} keeps failing: {exc}") from exc
                if failures >= self.retries and gave_up is not None and gave_up(step, exc):
                    failures = 0
                continue
            attempts.append(_Attempt(result, payload, self.clock()))
            image = payload.data if kind is StepKind.FACE else None
            self.operator.after_capture(step, result, image)
            if result.passed:
                self._beep(BeepPattern.OK)
                attempts[-1].tries = len(attempts)
                return attempts[-1]
            self._beep(BeepPattern.RETRY)
            problems = result.problems
        best = max(attempts, key=lambda a: a.result.score)
        best.tries = len(attempts)
        if best.result.forceable:
            self.operator.notify("capture_forced")
        return best

    @staticmethod
    def _quality(attempt: _Attempt) -> Quality:
        r = attempt.result
        return Quality(passed=r.passed, forced=not r.passed, attempts=attempt.tries,
                       measures={k: float(v) for k, v in r.measures.items()}, problems=tuple(r.problems))

    # -- the record ------------------------------------------------------------------
    def _record(self, nik: str, started: float, face: FaceEntry, fingers: dict[int, FingerEntry],
                signature: SignatureEntry) -> EnrollmentRecord:
        chain = ChainBuilder(nik, self.station_id, started)
        face = chain.add(face)
        linked = tuple(chain.add(fingers[p]) for p in POSITIONS)
        signature = chain.add(signature)
        devices = tuple(DeviceInfo(i.kind.value, i.driver, i.make, i.model, i.serial, i.firmware)
                        for i in self.devices.identities())
        return EnrollmentRecord(
            nik=nik, kelurahan_code=self.kelurahan_code, station_id=self.station_id, operator_id=self.operator_id,
            assignment_id=self.assignment_id, started_at=started, finished_at=self.clock(), face=face,
            fingers=linked, signature=signature, devices=devices,
        )

    # -- lights and sounds ---------------------------------------------------------------
    def _light(self, light: StatusLight) -> None:
        ind = self.devices.indicators
        if ind is None:
            return
        try:
            ind.show(light)
        except DeviceError as exc:
            log.warning("indicators: %s", exc)

    def _beep(self, pattern: BeepPattern) -> None:
        ind = self.devices.indicators
        if ind is None:
            return
        try:
            ind.beep(pattern)
        except DeviceError as exc:
            log.warning("buzzer: %s", exc)

    def _device_failed(self, kind: StepKind, exc: DeviceError) -> None:
        dk = {StepKind.FACE: DeviceKind.CAMERA, StepKind.FINGER: DeviceKind.FINGERPRINT,
              StepKind.SIGNATURE: DeviceKind.SIGNATURE}[kind]
        self.devices.mark_failed(dk, exc)
        if isinstance(exc, DeviceNotConnected):  # unplugged: plugged back in yet?
            try:
                self.devices.reopen(dk)
            except DeviceError:
                pass
        self._beep(BeepPattern.ERROR)
        self._light(StatusLight.ERROR)
        self.operator.notify(f"e.{exc.reason_id}", device=dk.value)
        log.warning("%s capture failed: %s", kind.value, exc)


class _FaceExcepted(Exception):
    def __init__(self, entry: FaceEntry) -> None:
        self.entry = entry


class _Unavailable(Exception):
    def __init__(self, exception: FingerException, note: str) -> None:
        self.exception, self.note = exception, note


def _png(image) -> bytes:
    """Finger images travel as lossless greyscale PNG."""
    if image.format is ImageFormat.PNG:
        return image.data
    if image.format is not ImageFormat.GRAY8:
        raise DeviceError(f"fingerprint image format {image.format.value} is not supported")
    return gray_png(image.data, image.width, image.height)

"""One enrollment: NIK -> face -> ten fingers -> signature -> review -> seal.

The workflow drives the devices and asks an :class:`Operator` (the terminal
console, or a script in demos and tests) for everything a person decides.
Rules it keeps:

* Disk space is checked before anything is captured.
* Each capture passes its quality gate within ``retries`` attempts; after
  that the best attempt is kept and marked forced, never silently accepted.
* A finger that cannot be captured is recorded as an exception with the
  operator's reason; no position is ever skipped.
* Captures stay in memory; the record is hash-chained, sealed and committed
  in one step, and nothing readable is written anywhere.
* Lights and buzzer say what is going on; their failure never stops an
  enrollment.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Protocol

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
from station.quality import (
    GateResult,
    QualityThresholds,
    check_face,
    check_finger,
    check_signature,
    expected_background,
)
from station.sealer import Sealer

log = logging.getLogger(__name__)

POSITIONS = tuple(range(1, 11))


class StepKind(str, Enum):
    FACE = "face"
    FINGER = "finger"
    SIGNATURE = "signature"


@dataclass(frozen=True)
class Step:
    kind: StepKind
    attempt: int
    retries: int
    position: int | None = None
    #: Problems found in the previous attempt, for the operator to explain.
    problems: tuple[str, ...] = ()
    #: For the face: the backdrop the birth year requires ("red"/"blue").
    background: str = ""


class ReviewAction(str, Enum):
    ACCEPT = "accept"
    RETAKE_FACE = "retake_face"
    RETAKE_FINGER = "retake_finger"
    RETAKE_SIGNATURE = "retake_signature"
    CANCEL = "cancel"


@dataclass(frozen=True)
class ReviewDecision:
    action: ReviewAction
    position: int | None = None


@dataclass(frozen=True)
class Review:
    face: Quality
    fingers: dict[int, Quality | FingerException]
    signature: Quality


class Operator(Protocol):
    """Whoever sits at the station: answers questions, guides the resident."""

    language: str

    def ask_nik(self) -> str | None: ...

    def confirm_resident(self, nik: nik_mod.NIK) -> bool: ...

    def before_capture(self, step: Step) -> FingerException | None:
        """Guide the resident and return when ready; for a finger the operator may
        instead record why it cannot be taken (an amputation is seen, not scanned)."""

    def after_capture(self, step: Step, result: GateResult) -> None: ...

    def finger_unavailable(self, position: int, error: DeviceError) -> FingerException | None: ...

    def review(self, review: Review) -> ReviewDecision: ...

    def notify(self, msg_id: str, **params: object) -> None: ...


@dataclass(frozen=True)
class Outcome:
    packet_id: str
    nik_masked: str
    forced: tuple[str, ...]  # "face", "finger 3", "signature"
    exceptions: dict[int, FingerException]
    attempts: int
    seconds: float


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
        if not self.operator.confirm_resident(nik):
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
                    signature=signature.quality))
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
        record = self._record(nik.value, started, face, fingers, signature)
        envelope = self.sealer.seal(record)
        forced = tuple(
            ["face"] * face.quality.forced
            + [f"finger {p}" for p, f in fingers.items() if f.quality is not None and f.quality.forced]
            + ["signature"] * signature.quality.forced)
        exceptions = {p: f.exception for p, f in fingers.items() if f.exception is not None}
        del record, face, fingers, signature
        self._beep(BeepPattern.DONE)
        self._light(StatusLight.READY)
        stats = self.sealer.outbox.stats()
        self.operator.notify("sealed", packet=envelope.packet_id[:8], pending=stats.pending + stats.sent)
        return Outcome(packet_id=envelope.packet_id, nik_masked=nik.masked(), forced=forced, exceptions=exceptions,
                       attempts=self._attempts, seconds=time.monotonic() - t0)

    # -- captures ------------------------------------------------------------------
    def _face(self, background: str) -> FaceEntry:
        def capture():
            image = self.devices.camera.capture()
            result = check_face(image, self.thresholds.face, expected_background=background)
            return result, image

        best = self._attempts_loop(StepKind.FACE, None, capture, background=background)
        img = best.payload
        return FaceEntry(image=img.data, width=img.width, height=img.height, captured_at=best.captured_at,
                         quality=self._quality(best))

    def _finger(self, position: int) -> FingerEntry:
        def capture():
            cap: FingerCapture = self.devices.scanner.capture(self.finger_timeout_s)
            return check_finger(cap, self.thresholds.finger), cap

        try:
            best = self._attempts_loop(StepKind.FINGER, position, capture)
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
            cap: SignatureCapture = self.devices.pad.capture(self.signature_timeout_s, idle_end=self.signature_idle_s)
            return check_signature(cap, self.thresholds.signature), cap

        # Clear stray pen reports before the resident is asked to sign, not after.
        best = self._attempts_loop(StepKind.SIGNATURE, None, capture, prepare=lambda: self.devices.pad.clear())
        cap = best.payload
        samples = pack_samples((s.t_ms, s.x, s.y, s.pressure, s.pen_down) for s in cap.samples)
        return SignatureEntry(image=cap.image.data, samples=samples, extent=tuple(cap.extent),
                              captured_at=best.captured_at, quality=self._quality(best))

    def _attempts_loop(self, kind: StepKind, position: int | None, capture, *, background: str = "",
                       prepare: Callable[[], None] | None = None) -> _Attempt:
        attempts: list[_Attempt] = []
        problems: tuple[str, ...] = ()
        failures = 0
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
            except NoFinger as exc:
                self._beep(BeepPattern.ERROR)
                exception = self.operator.finger_unavailable(position or 0, exc)
                if exception is not None:
                    raise _Unavailable(exception, "") from None
                continue
            except DeviceError as exc:
                failures += 1
                self._device_failed(kind, exc)
                if kind is StepKind.FINGER and failures >= self.retries:
                    exception = self.operator.finger_unavailable(position or 0, exc)
                    if exception is not None:
                        raise _Unavailable(exception, exc.reason_id) from None
                    failures = 0
                if failures >= self.retries * 3:
                    raise EnrollmentAborted(f"{kind.value} keeps failing: {exc}") from exc
                continue
            attempts.append(_Attempt(result, payload, self.clock()))
            self.operator.after_capture(step, result)
            if result.passed:
                self._beep(BeepPattern.OK)
                attempts[-1].tries = len(attempts)
                return attempts[-1]
            self._beep(BeepPattern.RETRY)
            problems = result.problems
        best = max(attempts, key=lambda a: a.result.score)
        best.tries = len(attempts)
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

"""The kiosk as the workflow's operator: one enrollment on its own thread, questions to the browser.

:class:`EnrollmentSession` runs :meth:`station.workflow.Enrollment.run` on a
thread. :class:`KioskOperator` implements the workflow's
:class:`~station.workflow.Operator`: each question becomes the current
:class:`Question` (what the enrollment screen shows), the live channel tells
the page to fetch it, and the workflow thread waits until the page answers.
Rules:

* An answer names the question's serial; a late or doubled tap meant for an
  earlier question is ignored, never applied to the next one.
* Cancelling (the operator's button, logout, idle logout, shutdown) makes the
  waiting question and every later one raise
  :class:`~station.errors.EnrollmentAborted`, so the workflow stores nothing.
* The face photo, preview frames and pen samples are kept in memory only,
  for this enrollment, and dropped when it ends.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from drivers.errors import DeviceError
from drivers.types import PenSample
from protocol.nik import NIK
from protocol.record import FingerException
from station.errors import EnrollmentAborted, StationError
from station.quality import GateResult
from station.workflow import (
    FaceExceptionRequest,
    Outcome,
    Review,
    ReviewDecision,
    Step,
    StepKind,
)

log = logging.getLogger(__name__)


@dataclass
class Question:
    kind: str  # nik, confirm, face, finger, finger_fault, face_exception, device_fault, signature, review, ...
    data: dict[str, Any]
    serial: int
    blocking: bool = True


@dataclass
class EnrollView:
    """Everything the enrollment screens show, owned by one enrollment."""

    question: Question | None = None
    notices: list[tuple[str, dict]] = field(default_factory=list)
    photo: bytes | None = None
    face_result: GateResult | None = None
    fingers: dict[int, GateResult | FingerException] = field(default_factory=dict)
    signature_result: GateResult | None = None
    strokes: list[tuple[float, float, bool]] = field(default_factory=list)
    outcome: Outcome | None = None
    error: tuple[str, dict] | None = None
    nik: NIK | None = None
    finished: bool = False


class KioskOperator:
    """The workflow's operator; every method runs on the enrollment thread."""

    def __init__(self, session: "EnrollmentSession") -> None:
        self.s = session

    @property
    def language(self) -> str:
        return self.s.language()

    def ask_nik(self) -> str | None:
        answer = self.s.ask("nik", {})
        return answer or None

    def confirm_resident(self, nik: NIK, *, enrolled_here: bool = False) -> bool:
        self.s.view.nik = nik
        ok = bool(self.s.ask("confirm", {"nik": nik, "enrolled_here": enrolled_here}))
        if ok and self.s.on_resident is not None:
            self.s.on_resident(nik)
        return ok

    def before_capture(self, step: Step) -> FingerException | None:
        if step.kind is StepKind.FACE:
            self.s.ask("face", {"step": step}, on_show=self.s.preview_on, on_hide=self.s.preview_off)
            return None
        if step.kind is StepKind.FINGER:
            answer = self.s.ask("finger", {"step": step})
            return FingerException(answer) if answer and answer != "scan" else None
        self.s.view.strokes.clear()
        self.s.show("signature", {"step": step})  # the pad waits for the pen; the screen shows it writing
        return None

    def after_capture(self, step: Step, result: GateResult, image: bytes | None = None) -> None:
        v = self.s.view
        if step.kind is StepKind.FACE:
            v.face_result, v.photo = result, image
        elif step.kind is StepKind.FINGER:
            v.fingers[step.position or 0] = result
        else:
            v.signature_result = result
        self.s.changed()

    def finger_unavailable(self, position: int, error: DeviceError) -> FingerException | None:
        answer = self.s.ask("finger_fault", {"position": position, "reason_id": error.reason_id})
        if answer and answer != "retry":
            self.s.view.fingers[position] = FingerException(answer)
            return FingerException(answer)
        return None

    def face_unusable(self, step: Step, result: GateResult | None) -> FaceExceptionRequest | None:
        answer = self.s.ask("face_exception", {"step": step, "result": result})
        return answer if isinstance(answer, FaceExceptionRequest) else None

    def device_failed(self, step: Step, error: DeviceError) -> bool:
        return self.s.ask("device_fault", {"step": step, "reason_id": error.reason_id}) == "retry"

    def review(self, review: Review) -> ReviewDecision:
        return self.s.ask("review", {"review": review})

    def notify(self, msg_id: str, **params: object) -> None:
        if msg_id in ("sealed", "cancelled"):
            return  # the receipt screen and the home screen say these
        self.s.view.notices.append((msg_id, dict(params)))
        self.s.changed()


class EnrollmentSession:
    """One resident's enrollment at the kiosk, from NIK to receipt."""

    def __init__(self, *, language: Callable[[], str], changed: Callable[[], None],
                 preview: tuple[Callable[[], None], Callable[[], None]] = (lambda: None, lambda: None),
                 on_resident: Callable[[NIK], None] | None = None,
                 on_stroke: Callable[[list[tuple[float, float, bool]]], None] | None = None) -> None:
        self.language = language
        self._changed = changed
        self.preview_on, self.preview_off = preview
        self.on_resident = on_resident
        self._on_stroke = on_stroke
        self.view = EnrollView()
        self.operator = KioskOperator(self)
        self._cv = threading.Condition()
        self._serial = 0
        self._answer: tuple[int, Any] | None = None
        self._cancelled = False
        self._pen_command: str | None = None
        self._thread: threading.Thread | None = None
        self.version = 0

    # -- the enrollment thread ------------------------------------------------------
    def start(self, make_enrollment: Callable[[KioskOperator], Any]) -> "EnrollmentSession":
        def run() -> None:
            try:
                enrollment = make_enrollment(self.operator)
                self.view.outcome = enrollment.run()
            except EnrollmentAborted:
                self.view.outcome = None
            except (StationError, DeviceError) as exc:
                params = dict(getattr(exc, "params", {}) or {})
                if isinstance(exc, DeviceError):
                    params = {"device": (exc.device or "").split(" ")[0] or "device"}
                params.setdefault("detail", "")
                self.view.error = (f"e.{exc.reason_id}", params)
                log.error("kiosk enrollment stopped: %s", exc)
            except Exception:  # never let one resident take the kiosk down
                log.exception("kiosk enrollment failed")
                self.view.error = ("e.enrollment_aborted", {})
            finally:
                self.preview_off()
                with self._cv:
                    self.view.question = None
                    self.view.finished = True
                    # sealed (or abandoned): the resident's face and signature leave memory now,
                    # before a next operator could be shown them
                    self.view.photo = None
                    self.view.strokes.clear()
                    self._cv.notify_all()
                self.changed()

        self._thread = threading.Thread(target=run, name="kiosk-enrollment", daemon=True)
        self._thread.start()
        return self

    def ask(self, kind: str, data: dict[str, Any], *, on_show: Callable[[], None] | None = None,
            on_hide: Callable[[], None] | None = None) -> Any:
        serial = self.show(kind, data)
        if on_show is not None:
            on_show()
        try:
            with self._cv:
                self._cv.wait_for(lambda: self._cancelled or (self._answer is not None and self._answer[0] == serial))
                if self._cancelled:
                    raise EnrollmentAborted("cancelled at the kiosk")
                _, value = self._answer  # type: ignore[misc]
                self._answer = None
                self.view.notices.clear()
                self._serial += 1
                # While the device works, the trainer panel still plays the step just answered.
                self.view.question = Question("working", {**data, "after": kind}, self._serial, blocking=False)
        finally:
            if on_hide is not None:
                on_hide()
        self.changed()
        return value

    def show(self, kind: str, data: dict[str, Any]) -> int:
        with self._cv:
            if self._cancelled:
                raise EnrollmentAborted("cancelled at the kiosk")
            self._serial += 1
            self.view.question = Question(kind, data, self._serial)
            self._cv.notify_all()
        self.changed()
        return self._serial

    def changed(self) -> None:
        self.version += 1
        self._changed()

    # -- the browser's side ------------------------------------------------------------
    def answer(self, serial: int, value: Any) -> bool:
        with self._cv:
            q = self.view.question
            if q is None or q.serial != serial or not q.blocking:
                return False
            self._answer = (serial, value)
            self._cv.notify_all()
            return True

    def cancel(self) -> None:
        with self._cv:
            self._cancelled = True
            self._pen_command = "cancel"
            self._cv.notify_all()

    def wait_question(self, after_serial: int, timeout: float) -> None:
        """Let an answer's response show the next question when it comes quickly."""
        with self._cv:
            self._cv.wait_for(lambda: self.view.finished or (
                self.view.question is not None and self.view.question.serial > after_serial
                and self.view.question.kind != "working"), timeout)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the pen (PenListener) -----------------------------------------------------------
    def pen_sample(self, sample: PenSample) -> None:
        point = (round(sample.x, 1), round(sample.y, 1), sample.pen_down)
        self.view.strokes.append(point)
        if self._on_stroke is not None:
            self._on_stroke([point])

    def pen_command(self) -> str | None:
        with self._cv:
            command, self._pen_command = self._pen_command, None
        if command == "cancel":
            raise EnrollmentAborted("cancelled at the kiosk")
        if command == "clear":
            self.view.strokes.clear()
            self.changed()
        return command

    def pen(self, command: str) -> None:
        if command in ("clear", "done"):
            with self._cv:
                self._pen_command = command

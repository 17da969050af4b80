"""The enrollment console: the workflow's operator at a text terminal.

Prompts in Bahasa Indonesia by default (English with ``--lang en``). Reads
from any text stream so it can be driven by a pty in tests; end of input
means "cancel", never a crash. Shows no biometric data: quality summaries,
reason words and masked NIKs only.
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from drivers.errors import DeviceError
from protocol.nik import NIK
from protocol.record import FaceException, FingerException, Quality
from station import i18n
from station.errors import EnrollmentAborted
from station.quality import GateResult
from station.workflow import FaceExceptionRequest, Review, ReviewAction, ReviewDecision, Step, StepKind

_EXCEPTIONS = list(FingerException)
_FACE_EXCEPTIONS = list(FaceException)


class ConsoleOperator:
    def __init__(self, language: str = i18n.DEFAULT_LANGUAGE, *, stdin: TextIO | None = None,
                 stdout: TextIO | None = None) -> None:
        self.language = language
        #: The id given on the command line; the PIN is still asked.
        self.default_id: str | None = None
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout

    # -- plumbing --------------------------------------------------------------
    def _t(self, msg_id: str, **params: object) -> str:
        return i18n.t(self.language, msg_id, **params)

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def _ask(self, text: str) -> str | None:
        print(text + " > ", end="", file=self._out, flush=True)
        line = self._in.readline()
        if not line:  # end of input: treat as cancel
            return None
        return line.strip()

    def _secret(self, text: str) -> str | None:
        """A PIN: not echoed at a real terminal."""
        if self._in is sys.stdin and sys.stdin.isatty():
            try:
                return getpass.getpass(text + " > ", stream=self._out)
            except EOFError:
                return None
        return self._ask(text)

    def credentials(self, operator_id: str | None = None) -> tuple[str, str] | None:
        """Ask for an id (unless given) and a PIN; None when input ends."""
        oid = operator_id or self._ask(self._t("ask_operator_id"))
        if not oid:
            return None
        pin = self._secret(self._t("ask_pin", who=oid))
        return (oid, pin) if pin else None

    # -- the Operator protocol -----------------------------------------------------
    def ask_nik(self) -> str | None:
        return self._ask(self._t("ask_nik")) or None

    def confirm_resident(self, nik: NIK, *, enrolled_here: bool = False) -> bool:
        self._say(self._t("nik_decoded", nik=nik.masked(), sex=self._t(f"sex_{nik.sex}"),
                          birth=nik.birth_date.isoformat(), kecamatan=nik.kecamatan, city=nik.city))
        if enrolled_here:
            self._say(self._t("nik_enrolled_here"))
        answer = self._ask(self._t("confirm_resident"))
        return answer is not None and answer.lower() in ("y", "ya", "yes")

    def before_capture(self, step: Step) -> FingerException | None:
        attempt = self._t("attempt", attempt=step.attempt, retries=step.retries)
        if step.problems:
            self._say(self._t("capture_retry", problems=i18n.problems(self.language, step.problems)))
        if step.kind is StepKind.FACE:
            text = self._t("prompt_face", background=self._t(f"background_{step.background or 'blue'}"))
        elif step.kind is StepKind.FINGER:
            text = self._t("prompt_finger", finger=i18n.finger_name(self.language, step.position or 0))
            choices = self._exception_choices()
            answer = self._ask(f"{text} ({attempt}) [Enter / {choices}]")
            if answer is None:
                raise EnrollmentAborted("operator input ended")
            return self._exception_from(answer)
        else:
            text = self._t("prompt_signature")
        if self._ask(f"{text} ({attempt}) [Enter]") is None:
            raise EnrollmentAborted("operator input ended")
        return None

    def after_capture(self, step: Step, result: GateResult, image: bytes | None = None) -> None:
        what = (self._t(f"step.{step.kind.value}") if step.position is None
                else i18n.finger_name(self.language, step.position))
        if result.passed:
            self._say(self._t("capture_ok", what=what))
        else:
            self._say(self._t("capture_retry", problems=i18n.problems(self.language, result.problems)))

    def finger_unavailable(self, position: int, error: DeviceError) -> FingerException | None:
        finger = i18n.finger_name(self.language, position)
        self._say(self._t(f"e.{error.reason_id}", device=self._t("device.fingerprint")))
        answer = self._ask(self._t("finger_missing_ask", finger=finger, choices=self._exception_choices()))
        if answer is None:
            return FingerException.DEVICE_FAILURE
        exception = self._exception_from(answer)
        if exception is not None:
            self._say(self._t("finger_excepted", finger=finger, reason=self._t(f"x.{exception.value}")))
        return exception

    def face_unusable(self, step: Step, result: GateResult | None) -> FaceExceptionRequest | None:
        if result is not None:
            self._say(self._t("face_unusable", problems=i18n.problems(self.language, result.problems)))
        else:
            self._say(self._t("face_camera_failed"))
        choices = ", ".join(f"{i + 1}={self._t(f'fx.{e.value}')}" for i, e in enumerate(_FACE_EXCEPTIONS))
        answer = self._ask(self._t("face_exception_ask", choices=choices))
        if answer is None:
            raise EnrollmentAborted("operator input ended")
        if not (answer.isdigit() and 1 <= int(answer) <= len(_FACE_EXCEPTIONS)):
            return None  # anything else: try the photo again
        reason = _FACE_EXCEPTIONS[int(answer) - 1]
        note = self._ask(self._t("face_exception_note")) or ""
        self._say(self._t("supervisor_confirm"))
        creds = self.credentials()
        if creds is None:
            return None
        return FaceExceptionRequest(reason, creds[0], creds[1], note)

    def device_failed(self, step: Step, error: DeviceError) -> bool:
        device = self._t(f"device.{ {StepKind.FACE: 'camera', StepKind.FINGER: 'fingerprint'}.get(step.kind, 'signature')}")
        self._say(self._t(f"e.{error.reason_id}", device=device))
        answer = self._ask(self._t("device_retry_ask"))
        return answer is not None and answer.lower() in ("y", "ya", "yes", "")

    def review(self, review: Review) -> ReviewDecision:
        fingers = " ".join(f"{p}:{self._mark(q)}" for p, q in sorted(review.fingers.items()))
        face = (self._mark(review.face_exception) if review.face_exception is not None else self._mark(review.face))
        self._say(self._t("review", face=face, fingers=fingers,
                          signature=self._mark(review.signature)))
        while True:
            answer = self._ask(self._t("review_ask"))
            if answer is None:
                return ReviewDecision(ReviewAction.CANCEL)
            a = answer.lower().split()
            if not a:
                continue
            if a[0] in ("y", "ya", "yes"):
                return ReviewDecision(ReviewAction.ACCEPT)
            if a[0] in ("b", "c", "batal", "cancel"):
                return ReviewDecision(ReviewAction.CANCEL)
            if a[0] == "f":
                return ReviewDecision(ReviewAction.RETAKE_FACE)
            if a[0] == "s":
                return ReviewDecision(ReviewAction.RETAKE_SIGNATURE)
            if a[0] == "j" and len(a) == 2 and a[1].isdigit() and 1 <= int(a[1]) <= 10:
                return ReviewDecision(ReviewAction.RETAKE_FINGER, int(a[1]))

    def notify(self, msg_id: str, **params: object) -> None:
        if "device" in params and isinstance(params["device"], str):
            params["device"] = self._t(f"device.{params['device']}")
        if "reason_id" in params:  # a reason with its own translation replaces the English detail
            params["reason"] = self._t(str(params.pop("reason_id")))
        params.setdefault("detail", "")
        self._say(self._t(msg_id, **params))

    # -- helpers -------------------------------------------------------------------------
    def _exception_choices(self) -> str:
        return ", ".join(f"x{i + 1}={self._t(f'x.{e.value}')}" for i, e in enumerate(_EXCEPTIONS))

    @staticmethod
    def _exception_from(answer: str) -> FingerException | None:
        a = answer.strip().lower()
        if a.startswith("x") and a[1:].isdigit() and 1 <= int(a[1:]) <= len(_EXCEPTIONS):
            return _EXCEPTIONS[int(a[1:]) - 1]
        return None

    def _mark(self, q: Quality | FingerException | FaceException) -> str:
        if isinstance(q, FingerException):
            return "x(" + self._t(f"x.{q.value}") + ")"
        if isinstance(q, FaceException):
            return "x(" + self._t(f"fx.{q.value}") + ")"
        return self._t("ok") if q.passed else self._t("forced")

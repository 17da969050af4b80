"""Simulated residents and the operator who guides them, for demos and tests.

A :class:`ScriptedOperator` answers the enrollment workflow the way an
operator would, and acts out the resident in front of the emulated devices
by changing the :class:`~drivers.scene.Scene`: standing before the camera,
placing finger N on the glass (smudged on the first try, say), signing.
It never tells the workflow how good a capture is; the quality gates have
to find that in what the simulators render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from drivers.errors import DeviceError
from drivers.scene import FaceCondition, FingerCondition, Person, Scene, SignatureCondition
from protocol.nik import NIK
from protocol.record import FingerException
from station.errors import EnrollmentAborted
from station.quality import GateResult
from station.workflow import FaceExceptionRequest, Review, ReviewAction, ReviewDecision, Step, StepKind


@dataclass(frozen=True)
class ResidentScript:
    """How one resident's captures go, attempt by attempt (the last entry repeats)."""

    person: Person
    nik: str
    face: tuple[FaceCondition, ...] = (FaceCondition.GOOD,)
    fingers: Mapping[int, tuple[FingerCondition, ...]] = field(default_factory=dict)
    #: Fingers the resident cannot present, with the reason the operator records.
    missing: Mapping[int, FingerException] = field(default_factory=dict)
    signature: tuple[SignatureCondition, ...] = (SignatureCondition.GOOD,)
    #: Review decisions in order before accepting (e.g. retake finger 3 once).
    reviews: tuple[ReviewDecision, ...] = ()
    #: What the operator and supervisor record when no photo can be kept; None: the resident gives up.
    face_exception: FaceExceptionRequest | None = None
    #: Times the operator tries a failing device again before stopping the enrollment.
    device_retries: int = 1

    def __repr__(self) -> str:
        return f"ResidentScript({self.person!r})"


def _pick(seq: tuple, attempt: int):
    return seq[min(attempt, len(seq)) - 1] if seq else None


class ScriptedOperator:
    language = "en"

    def __init__(self, scene: Scene, script: ResidentScript) -> None:
        self.scene = scene
        self.script = script
        self.notes: list[tuple[str, dict]] = []
        self.steps: list[tuple[Step, GateResult]] = []
        self._reviews = list(script.reviews)
        self._unavailable: dict[int, int] = {}
        self.enrolled_here = False
        self.face_unusable_asked = 0
        self.device_failures = 0

    def ask_nik(self) -> str | None:
        return self.script.nik

    def confirm_resident(self, nik: NIK, *, enrolled_here: bool = False) -> bool:
        self.enrolled_here = enrolled_here
        return nik.sex == self.script.person.sex

    def before_capture(self, step: Step) -> FingerException | None:
        p = self.script.person
        if step.kind is StepKind.FACE:
            self.scene.stand(p, _pick(self.script.face, step.attempt) or FaceCondition.GOOD)
        elif step.kind is StepKind.FINGER:
            pos = step.position or 0
            if pos in self.script.missing:
                return self.script.missing[pos]  # the operator sees it; nothing to scan
            cond = _pick(tuple(self.script.fingers.get(pos, ())), step.attempt) or FingerCondition.GOOD
            self.scene.place_finger(p, pos, cond)
        else:
            self.scene.sign(p, _pick(self.script.signature, step.attempt) or SignatureCondition.GOOD)
        return None

    def after_capture(self, step: Step, result: GateResult, image: bytes | None = None) -> None:
        self.steps.append((step, result))
        if step.kind is StepKind.FINGER:
            self.scene.lift_finger()
        elif step.kind is StepKind.FACE and result.passed:
            self.scene.leave_camera()

    def finger_unavailable(self, position: int, error: DeviceError) -> FingerException | None:
        self.scene.lift_finger()
        n = self._unavailable[position] = self._unavailable.get(position, 0) + 1
        if position in self.script.missing:
            return self.script.missing[position]
        return FingerException.DEVICE_FAILURE if n >= 2 else None

    def face_unusable(self, step: Step, result: GateResult | None) -> FaceExceptionRequest | None:
        self.face_unusable_asked += 1
        if self.script.face_exception is None:
            raise EnrollmentAborted("the resident left without a usable photo")
        if self.face_unusable_asked > 3:
            raise EnrollmentAborted("the supervisor did not confirm the face exception")
        return self.script.face_exception

    def device_failed(self, step: Step, error: DeviceError) -> bool:
        self.device_failures += 1
        return self.device_failures <= self.script.device_retries

    def review(self, review: Review) -> ReviewDecision:
        if self._reviews:
            return self._reviews.pop(0)
        return ReviewDecision(ReviewAction.ACCEPT)

    def notify(self, msg_id: str, **params: object) -> None:
        self.notes.append((msg_id, params))

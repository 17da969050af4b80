"""What the enrollment workflow asks of whoever sits at the station, and what it hands back.

The :class:`Operator` protocol is the one seam between the workflow and its
front ends: the terminal console, the touchscreen kiosk and the scripted
operator of demos and tests each implement it. The plain data here travels
across it: which step is next, what a review shows, what the operator
decided. None of it carries an image except ``after_capture``'s face photo,
which stays in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Protocol

from drivers.errors import DeviceError
from protocol import nik as nik_mod
from protocol.record import FaceException, FingerException, Quality
from station.quality import GateResult


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
class FaceExceptionRequest:
    """Passing the face step without a portrait: the reason, and the supervisor who confirms it."""

    reason: FaceException
    supervisor_id: str
    pin: str = field(repr=False)
    note: str = ""


#: Checks a supervisor's id and PIN (and their role); True when they may confirm.
SupervisorCheck = Callable[[str, str], bool]


@dataclass(frozen=True)
class Review:
    face: Quality
    fingers: dict[int, Quality | FingerException]
    signature: Quality
    #: Set when the face step ended in a supervisor-confirmed exception (no photo).
    face_exception: FaceException | None = None


class Operator(Protocol):
    """Whoever sits at the station: answers questions, guides the resident."""

    language: str

    def ask_nik(self) -> str | None: ...

    def confirm_resident(self, nik: nik_mod.NIK, *, enrolled_here: bool = False) -> bool:
        """Show what the NIK says; ``enrolled_here``: this station already sealed a record for it."""

    def before_capture(self, step: Step) -> FingerException | None:
        """Guide the resident and return when ready; for a finger the operator may
        instead record why it cannot be taken (an amputation is seen, not scanned)."""

    def after_capture(self, step: Step, result: GateResult, image: bytes | None = None) -> None:
        """The gate's verdict; ``image`` is the face photo (JPEG, in memory only) for the operator to see."""

    def finger_unavailable(self, position: int, error: DeviceError) -> FingerException | None: ...

    def face_unusable(self, step: Step, result: GateResult | None) -> FaceExceptionRequest | None:
        """No keepable photo after the retries (``result`` None: the camera kept failing).
        Return the exception with the supervisor's id and PIN, or None to try again."""

    def device_failed(self, step: Step, error: DeviceError) -> bool:
        """A device failed ``retries`` times in a row: True to try again, False to stop the enrollment."""

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
    face_exception: FaceException | None = None

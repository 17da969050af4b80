"""The emulated world in front of a station's devices.

Simulators never get told "this capture is bad"; they read the scene (who is
in front of the camera, whose finger is on the glass and how it is pressed,
who is signing and how steadily) and render pixels and pen samples from it.
Whatever checks quality then has to find the problem in what was rendered.

A scene is shared between the test or demo that plays the resident and the
simulators that play the devices, on different threads, so every change goes
through one lock and wakes anyone waiting on :meth:`Scene.wait_change`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum


class FaceCondition(str, Enum):
    GOOD = "good"
    BLURRED = "blurred"  # moved, or focus missed
    UNDEREXPOSED = "underexposed"
    OVEREXPOSED = "overexposed"
    OFF_CENTRE = "off_centre"
    TOO_FAR = "too_far"  # face too small in the frame
    NO_FACE = "no_face"  # nobody in front of the camera
    TWO_FACES = "two_faces"  # someone behind the resident
    WRONG_BACKDROP = "wrong_backdrop"  # red/blue cloth swapped


class FingerCondition(str, Enum):
    GOOD = "good"
    SMUDGED = "smudged"  # wet or smeared: ridges run together
    PARTIAL = "partial"  # only the tip or one side touches
    DRY = "dry"  # faint, broken ridges, low contrast


class SignatureCondition(str, Enum):
    GOOD = "good"
    SHAKY = "shaky"  # tremor: jittered trajectory
    TOO_SHORT = "too_short"  # a dot or a tick, not a signature


class Backdrop(str, Enum):
    """e-KTP photo background: red for odd birth years, blue for even."""

    RED = "red"
    BLUE = "blue"

    @classmethod
    def for_birth_year(cls, year: int) -> "Backdrop":
        return cls.RED if year % 2 else cls.BLUE


@dataclass(frozen=True)
class Person:
    """A synthetic resident. Everything biometric derives from ``person_id``."""

    person_id: str
    sex: str = "M"  # "M" or "F"
    birth_year: int = 1990
    #: Finger positions (1-10) this person cannot present (amputation...).
    missing_fingers: frozenset[int] = frozenset()

    def __repr__(self) -> str:  # a demo person's id is a NIK: keep it out of logs
        return f"Person({self.person_id[:4]}..., {self.sex}, {self.birth_year})"


@dataclass(frozen=True)
class FaceView:
    person: Person | None
    condition: FaceCondition
    backdrop: Backdrop


@dataclass(frozen=True)
class FingerView:
    person: Person
    position: int
    condition: FingerCondition


@dataclass(frozen=True)
class SigningView:
    person: Person
    condition: SignatureCondition
    #: Bumped for each new signing so a pad never replays the same one twice.
    serial: int


@dataclass
class Scene:
    """Thread-safe holder of what the devices would see right now."""

    #: Multiplier on human-scale delays (pen strokes); 0 means instantaneous.
    time_scale: float = 1.0
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _face: FaceView | None = field(default=None, repr=False)
    _finger: FingerView | None = field(default=None, repr=False)
    _signing: SigningView | None = field(default=None, repr=False)
    _version: int = field(default=0, repr=False)
    _serial: int = field(default=0, repr=False)

    # -- what the resident does ---------------------------------------------
    def stand(
        self,
        person: Person | None,
        condition: FaceCondition = FaceCondition.GOOD,
        backdrop: Backdrop | None = None,
    ) -> None:
        """Put ``person`` in front of the camera (None with NO_FACE for nobody)."""
        if backdrop is None:
            backdrop = Backdrop.for_birth_year(person.birth_year) if person else Backdrop.BLUE
        self._set(face=FaceView(person, condition, backdrop))

    def leave_camera(self) -> None:
        self._set(face=None)

    def place_finger(
        self, person: Person, position: int, condition: FingerCondition = FingerCondition.GOOD
    ) -> None:
        if not 1 <= position <= 10:
            raise ValueError(f"finger position must be 1..10, got {position}")
        if position in person.missing_fingers:
            raise ValueError(f"person {person.person_id} has no finger at position {position}")
        self._set(finger=FingerView(person, position, condition))

    def lift_finger(self) -> None:
        self._set(finger=None)

    def sign(self, person: Person, condition: SignatureCondition = SignatureCondition.GOOD) -> None:
        """Start a signing on the pad; the pad streams it and then forgets it."""
        with self._lock:
            self._serial += 1
            self._signing = SigningView(person, condition, self._serial)
            self._version += 1
            self._lock.notify_all()

    def finish_signing(self, serial: int) -> None:
        """Called by the pad once it has streamed signing ``serial``."""
        with self._lock:
            if self._signing is not None and self._signing.serial == serial:
                self._signing = None
                self._version += 1
                self._lock.notify_all()

    def clear(self) -> None:
        self._set(face=None, finger=None, signing=None)

    # -- what the devices see -----------------------------------------------
    @property
    def face(self) -> FaceView | None:
        with self._lock:
            return self._face

    @property
    def finger(self) -> FingerView | None:
        with self._lock:
            return self._finger

    @property
    def signing(self) -> SigningView | None:
        with self._lock:
            return self._signing

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def wait_change(self, since: int, timeout: float | None) -> int:
        """Block until the scene changes after ``since``; return the new version."""
        with self._lock:
            self._lock.wait_for(lambda: self._version != since, timeout)
            return self._version

    _UNSET = object()

    def _set(self, face=_UNSET, finger=_UNSET, signing=_UNSET) -> None:
        with self._lock:
            if face is not Scene._UNSET:
                self._face = face
            if finger is not Scene._UNSET:
                self._finger = finger
            if signing is not Scene._UNSET:
                self._signing = signing
            self._version += 1
            self._lock.notify_all()

"""One interface per device kind.

Every driver, real or emulated, built in or third-party, subclasses one of
these. The lifecycle is explicit (``UNOPENED -> OPEN -> CLOSED``): ``open()``
talks to the hardware and learns its identity, ``close()`` is idempotent, and a
closed device cannot be reopened (make a new one). Every method that talks to
hardware raises only :class:`drivers.errors.DeviceError` subclasses.
"""

from __future__ import annotations

import abc
import enum
from typing import Callable, ClassVar

from drivers.errors import DeviceError
from drivers.types import (
    BeepPattern,
    Button,
    DeviceIdentity,
    DeviceKind,
    FingerCapture,
    Image,
    PenSample,
    SelfTestResult,
    SignatureCapture,
    StatusLight,
)


class Lifecycle(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class Device(abc.ABC):
    """Lifecycle and identity common to all devices."""

    kind: ClassVar[DeviceKind]
    #: Registry name of the driver ("zhiantec", "emulated", ...).
    driver_name: ClassVar[str] = "?"

    def __init__(self) -> None:
        self._lifecycle = Lifecycle.UNOPENED
        self._identity: DeviceIdentity | None = None

    # -- lifecycle ---------------------------------------------------------
    def open(self) -> None:
        if self._lifecycle is Lifecycle.OPEN:
            return
        if self._lifecycle is Lifecycle.CLOSED:
            raise DeviceError(
                "cannot reopen a closed device; create a new driver instance",
                device=self.label,
            )
        try:
            self._identity = self._open()
        except BaseException:
            self._lifecycle = Lifecycle.CLOSED
            try:
                self._close()
            except DeviceError:
                pass
            raise
        self._lifecycle = Lifecycle.OPEN

    def close(self) -> None:
        if self._lifecycle is Lifecycle.CLOSED:
            return
        was_open = self._lifecycle is Lifecycle.OPEN
        self._lifecycle = Lifecycle.CLOSED
        if was_open:
            self._close()

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._lifecycle is Lifecycle.OPEN

    @property
    def identity(self) -> DeviceIdentity:
        self._require_open()
        assert self._identity is not None
        return self._identity

    @property
    def label(self) -> str:
        """How messages name this device: ``fingerprint zhiantec``."""
        return f"{self.kind.value} {self.driver_name}"

    def _require_open(self) -> None:
        if self._lifecycle is not Lifecycle.OPEN:
            state = "closed" if self._lifecycle is Lifecycle.CLOSED else "not opened yet"
            raise DeviceError(f"device is {state}", device=self.label)

    def self_test(self) -> SelfTestResult:
        """Exercise the device without a person; raise DeviceError if it fails."""
        self._require_open()
        return SelfTestResult(identity=self.identity, detail=self._self_test())

    # -- for subclasses ----------------------------------------------------
    @abc.abstractmethod
    def _open(self) -> DeviceIdentity:
        """Connect, handshake and return the device's identity."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release the hardware. Must not raise for an already-gone device."""

    @abc.abstractmethod
    def _self_test(self) -> str:
        """Run the device's own checks; return a one-line summary."""


class Camera(Device):
    kind = DeviceKind.CAMERA

    @abc.abstractmethod
    def capture(self) -> Image:
        """Take one still portrait and return it as JPEG."""


class FingerprintScanner(Device):
    kind = DeviceKind.FINGERPRINT

    @abc.abstractmethod
    def finger_present(self) -> bool:
        """Is a finger on the glass right now?"""

    @abc.abstractmethod
    def capture(self, timeout: float = 10.0) -> FingerCapture:
        """Wait up to ``timeout`` seconds for a finger, then image it.

        Raises :class:`~drivers.errors.NoFinger` if none arrives in time. The
        template is filled in where the module can make one.
        """

    def wait_removed(self, timeout: float = 10.0) -> bool:
        """Wait until the glass is clear, so one finger is not taken twice."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.finger_present():
                return True
            time.sleep(0.05)
        return False


class SignaturePad(Device):
    kind = DeviceKind.SIGNATURE

    @abc.abstractmethod
    def capture(
        self,
        timeout: float = 30.0,
        *,
        idle_end: float = 2.0,
        until: Callable[[], bool] | None = None,
        on_sample: Callable[[PenSample], None] | None = None,
    ) -> SignatureCapture:
        """Record one signature.

        Waits up to ``timeout`` for the pen to touch (DeviceTimeout if it never
        does), then records until the pen has been up for ``idle_end`` seconds
        or ``until()`` returns true (the operator pressed "next"). A driver that
        can calls ``on_sample`` with each sample as it arrives (live strokes on
        the station's screen); an exception it raises ends the capture. Callers
        pass ``on_sample`` only to drivers whose ``capture`` accepts it.
        """

    @abc.abstractmethod
    def clear(self) -> None:
        """Drop whatever the pad has buffered."""


class Indicators(Device):
    kind = DeviceKind.INDICATORS

    @abc.abstractmethod
    def show(self, light: StatusLight) -> None: ...

    @abc.abstractmethod
    def beep(self, pattern: BeepPattern) -> None: ...

    @abc.abstractmethod
    def when_pressed(self, button: Button, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (from a driver thread) each time ``button`` is pressed."""

    @abc.abstractmethod
    def wait_for_press(self, buttons: tuple[Button, ...], timeout: float | None) -> Button | None:
        """Block until one of ``buttons`` is pressed; None on timeout."""

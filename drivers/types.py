"""Plain data that drivers return.

Drivers hand back bytes and numbers, never device handles, so the station can
gate, seal and forget a capture without knowing which driver made it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

#: ISO/IEC 19794-4 / ANSI-NIST finger position codes.
FINGER_NAMES: Mapping[int, str] = {
    1: "right thumb",
    2: "right index",
    3: "right middle",
    4: "right ring",
    5: "right little",
    6: "left thumb",
    7: "left index",
    8: "left middle",
    9: "left ring",
    10: "left little",
}


class DeviceKind(str, Enum):
    CAMERA = "camera"
    FINGERPRINT = "fingerprint"
    SIGNATURE = "signature"
    INDICATORS = "indicators"


@dataclass(frozen=True)
class DeviceIdentity:
    """Who made the device and which one it is; goes into every sealed record."""

    kind: DeviceKind
    driver: str
    make: str
    model: str
    serial: str
    firmware: str

    def describe(self) -> str:
        return f"{self.make} {self.model} s/n {self.serial} fw {self.firmware}"


class ImageFormat(str, Enum):
    JPEG = "jpeg"
    PNG = "png"
    GRAY8 = "gray8"  # raw 8-bit greyscale, row-major, width*height bytes
    RGB8 = "rgb8"  # raw 8-bit RGB, row-major, width*height*3 bytes


@dataclass(frozen=True)
class Image:
    """An image as the device produced it, plus what the device knew about it."""

    data: bytes
    width: int
    height: int
    format: ImageFormat
    captured_at: float = field(default_factory=time.time)
    #: Device-specific facts: dpi, exposure_us, analogue_gain, lens_position...
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        expected = {ImageFormat.GRAY8: 1, ImageFormat.RGB8: 3}.get(self.format)
        if expected is not None and len(self.data) != self.width * self.height * expected:
            raise ValueError(
                f"{self.format.value} image of {self.width}x{self.height} needs "
                f"{self.width * self.height * expected} bytes, got {len(self.data)}"
            )

    def __repr__(self) -> str:  # never dump the pixels into a log line
        return f"Image({self.format.value} {self.width}x{self.height}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class FingerCapture:
    """One finger as a scanner captured it."""

    image: Image  # GRAY8, dark ridges on light background, at metadata["dpi"]
    #: The module's own template, where it makes one (opaque, device format).
    template: bytes | None = None
    template_format: str | None = None

    def __repr__(self) -> str:
        t = f", template {len(self.template)} bytes" if self.template else ""
        return f"FingerCapture({self.image!r}{t})"


@dataclass(frozen=True)
class PenSample:
    """One pad report, in logical coordinates after calibration."""

    t_ms: int
    x: float
    y: float
    pressure: float  # 0.0 .. 1.0; pads without pressure report 1.0 when down
    pen_down: bool

    def __repr__(self) -> str:  # pen trajectories are biometric: keep them out of logs
        return f"PenSample(t_ms={self.t_ms}, pen_down={self.pen_down})"


@dataclass(frozen=True)
class SignatureCapture:
    samples: tuple[PenSample, ...]
    strokes: tuple[tuple[PenSample, ...], ...]  # runs of pen-down samples
    image: Image  # PNG rendering of the strokes
    #: Logical coordinate space of x and y (width, height).
    extent: tuple[int, int] = (0, 0)

    def __repr__(self) -> str:
        return f"SignatureCapture({len(self.samples)} samples, {len(self.strokes)} strokes)"


class StatusLight(str, Enum):
    """What the station's LEDs say; the driver maps it to colours."""

    OFF = "off"
    READY = "ready"  # green steady
    WORKING = "working"  # amber steady
    ATTENTION = "attention"  # amber blinking: operator or resident must act
    ERROR = "error"  # red steady


class BeepPattern(str, Enum):
    OK = "ok"  # one short beep
    RETRY = "retry"  # two short beeps
    ERROR = "error"  # one long beep
    DONE = "done"  # rising triple


class Button(str, Enum):
    CAPTURE = "capture"
    NEXT = "next"


@dataclass(frozen=True)
class SelfTestResult:
    """What ``self_test`` found; raised DeviceErrors mean the test failed."""

    identity: DeviceIdentity
    detail: str  # one line for the technician: "template library 3/1000, LED ring ok"

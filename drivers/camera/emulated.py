"""The emulated camera: photographs the scene with synthetic portraits.

It owns turning "who stands in front of the camera right now"
(``context.scene.face``) into a JPEG :class:`~drivers.types.Image`, the way a
real camera would hand one back. Its rules:

* It reads the scene and nothing else; quality problems exist only in the
  rendered pixels. Metadata (exposure, gain, lens position) varies per capture
  but never with the face condition, so a gate cannot cheat by reading it.
* Every capture gets a fresh ``capture_seed``: the same resident photographed
  twice gives recognisably the same face, never the same bytes.
* Options are checked at construction with messages that name the option.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import secrets
import socket
import threading
import time
from typing import Annotated, Any, ClassVar, Mapping

import msgspec

from PIL import Image as PILImage

from drivers.errors import CaptureFailed, DriverConfigError
from drivers.interfaces import Camera
from drivers.registry import DriverContext, parse_options
from drivers.scene import Backdrop, FaceCondition, FaceView, Scene
from drivers.synthetic import portrait
from drivers.synthetic.seed import rng_for
from drivers.types import DeviceIdentity, DeviceKind, Image, ImageFormat

class EmulatedCameraOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[devices.camera] options`` for ``driver = "emulated"``."""

    width: Annotated[int, msgspec.Meta(ge=64, le=4096)] = 480
    height: Annotated[int, msgspec.Meta(ge=64, le=4096)] = 640
    jpeg_quality: Annotated[int, msgspec.Meta(ge=1, le=100)] = 90
    serial: str | None = None
    #: Seconds a capture takes, as a real sensor's exposure and readout would.
    delay_s: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.0
    seed: int | None = None
#: Longest simulated exposure we accept; longer would only stall a station.
_MAX_DELAY_S = 10.0


class EmulatedCamera(Camera):
    """A camera that renders the scene's face view as an e-KTP portrait."""

    driver_name: ClassVar[str] = "emulated"

    def __init__(
        self,
        scene: Scene,
        *,
        width: int = 480,
        height: int = 640,
        jpeg_quality: int = 90,
        serial: str | None = None,
        delay_s: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not 64 <= width <= 4096 or not 64 <= height <= 4096:
            raise DriverConfigError(f"image size {width}x{height} is outside 64..4096", device=self.label)
        if not 1 <= jpeg_quality <= 100:
            raise DriverConfigError(f"jpeg_quality must be 1..100, got {jpeg_quality}", device=self.label)
        if not 0.0 <= delay_s <= _MAX_DELAY_S:
            raise DriverConfigError(f"delay_s must be 0..{_MAX_DELAY_S:g} s, got {delay_s}", device=self.label)
        self._scene = scene
        self._width, self._height = width, height
        self._quality = jpeg_quality
        self._serial = serial or _derived_serial()
        self._delay_s = delay_s
        # Captures number on from a random start unless a seed pins them (tests, demos).
        self._seeds = itertools.count(secrets.randbits(32) if seed is None else seed)
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, options: Mapping[str, Any], context: DriverContext) -> "EmulatedCamera":
        o = parse_options(EmulatedCameraOptions, options, device=f"{DeviceKind.CAMERA.value} {cls.driver_name}")
        return cls(context.scene, width=o.width, height=o.height, jpeg_quality=o.jpeg_quality, serial=o.serial,
                   delay_s=o.delay_s, seed=o.seed)

    # -- Device --------------------------------------------------------------
    def _open(self) -> DeviceIdentity:
        return DeviceIdentity(
            kind=DeviceKind.CAMERA,
            driver=self.driver_name,
            make="rekam",
            model="emulated camera",
            serial=self._serial,
            firmware=portrait.RENDERER_VERSION,
        )

    def _close(self) -> None:
        pass  # nothing held

    def _self_test(self) -> str:
        image = self.capture()
        try:
            with PILImage.open(io.BytesIO(image.data)) as decoded:
                decoded.load()
                size = decoded.size
        except Exception as exc:
            raise CaptureFailed(f"self-test frame does not decode as JPEG ({type(exc).__name__})", device=self.label) from exc
        if size != (self._width, self._height):
            raise CaptureFailed(f"self-test frame is {size[0]}x{size[1]}, expected {self._width}x{self._height}",
                                device=self.label)
        return f"captured a {size[0]}x{size[1]} JPEG, {len(image.data) // 1024} KiB"

    # -- Camera --------------------------------------------------------------
    def capture(self) -> Image:
        self._require_open()
        with self._lock:
            capture_seed = next(self._seeds)
        view = self._scene.face
        if view is None:  # nobody in front of the camera
            view = FaceView(None, FaceCondition.NO_FACE, Backdrop.BLUE)
        started = time.monotonic()
        pixels = portrait.render(view, width=self._width, height=self._height, capture_seed=capture_seed)
        buf = io.BytesIO()
        PILImage.fromarray(pixels, "RGB").save(buf, format="JPEG", quality=self._quality)
        if self._delay_s:
            # Simulated exposure time: the capture takes at least delay_s.
            remaining = self._delay_s - (time.monotonic() - started)
            if remaining > 0:
                time.sleep(remaining)
        return Image(
            data=buf.getvalue(),
            width=self._width,
            height=self._height,
            format=ImageFormat.JPEG,
            metadata=self._metadata(capture_seed),
        )

    def _metadata(self, capture_seed: int) -> dict[str, Any]:
        """What a camera would report; depends on the capture, never on the face condition."""
        r = rng_for("emulated-camera", self._serial, capture_seed)
        return {
            "exposure_us": int(r.integers(8000, 12001)),
            "analogue_gain": round(float(r.uniform(1.0, 2.0)), 3),
            "lens_position": round(float(r.uniform(1.8, 2.4)), 3),
            "capture_seed": capture_seed,
            "jpeg_quality": self._quality,
        }


def _derived_serial() -> str:
    """A stable serial per host, so one emulated station keeps one camera identity."""
    digest = hashlib.sha256(f"rekam emulated camera {socket.gethostname()}".encode()).hexdigest()
    return f"EMU-{digest[:10].upper()}"

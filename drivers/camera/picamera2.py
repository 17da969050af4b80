"""The Raspberry Pi camera through picamera2 (libcamera).

This module owns talking to picamera2 and nothing else does. Its rules:

* ``picamera2`` (and ``libcamera``) are imported only here and only in
  :meth:`Picamera2Camera.open`: they come from Raspberry Pi OS apt
  (``python3-picamera2``), not pip, so importing this module on a PC works.
* Every exception picamera2/libcamera raises is translated once, in
  :meth:`Picamera2Camera._boundary`, into a :class:`~drivers.errors.DeviceError`
  an operator can act on; nothing from the library escapes.
* Every wait is bounded: picamera2 jobs are given a timeout in seconds
  (``wait=<s>``), and a job that times out is cancelled so the camera can be
  closed.
* A failed or timed-out autofocus cycle is not fatal: the still is taken
  anyway and ``metadata["autofocus"]`` says what happened; the quality gate
  judges sharpness from the pixels.
* The kiosk's live view comes from the small ``lores`` stream of the same
  configuration (:meth:`Picamera2Camera.preview`): no autofocus cycle and no
  full-resolution still per frame.
"""

from __future__ import annotations

import io
import logging
import threading
from contextlib import contextmanager
from importlib import metadata as importlib_metadata
from typing import Annotated, Any, ClassVar, Iterator, Literal, Mapping

import msgspec
from PIL import Image as PILImage

from drivers.errors import (
    CaptureFailed,
    DeviceBusy,
    DeviceError,
    DeviceNotConnected,
    DeviceTimeout,
    DeviceUnplugged,
    DriverConfigError,
    DriverNotFound,
)
from drivers.interfaces import Camera
from drivers.registry import DriverContext, parse_options
from drivers.types import DeviceIdentity, DeviceKind, Image, ImageFormat

log = logging.getLogger(__name__)
#: The live view's frame width (the lores stream keeps the still's aspect) and its JPEG quality.
PREVIEW_WIDTH = 320
PREVIEW_QUALITY = 70

_SIZE_FORM = "[width, height] in pixels, each 16-16384"
_NO_CAMERA_HINT = "check the ribbon cable and run `rpicam-hello --list-cameras`"

#: picamera2 request metadata -> our metadata keys.
_METADATA_KEYS: Mapping[str, str] = {
    "ExposureTime": "exposure_us",
    "AnalogueGain": "analogue_gain",
    "DigitalGain": "digital_gain",
    "LensPosition": "lens_position",
    "FocusFoM": "focus_fom",
    "AfState": "af_state",
    "ColourTemperature": "colour_temperature_k",
    "Lux": "lux",
    "SensorTimestamp": "sensor_timestamp_ns",
}


_Pixels = Annotated[int, msgspec.Meta(ge=16, le=16384)]
_Seconds = Annotated[float, msgspec.Meta(gt=0, le=60)]


class Picamera2Options(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[devices.camera] options`` of the ``picamera2`` driver."""

    camera_num: Annotated[int, msgspec.Meta(ge=0)] = 0
    #: The still's size; None: the sensor's full resolution.
    size: Annotated[tuple[_Pixels, _Pixels], msgspec.Meta(description=_SIZE_FORM)] | None = (1600, 1200)
    jpeg_quality: Annotated[int, msgspec.Meta(ge=1, le=100)] = 90
    autofocus: bool = True
    af_timeout_s: _Seconds = 3.0
    capture_timeout_s: _Seconds = 5.0
    rotation: Annotated[Literal[0, 180], msgspec.Meta(description="0 or 180 (libcamera flips only)")] = 0
    hflip: bool = False


class Picamera2Camera(Camera):
    """A CSI (or USB) camera driven by picamera2, taking JPEG stills."""

    driver_name: ClassVar[str] = "picamera2"

    def __init__(
        self,
        *,
        camera_num: int = 0,
        size: tuple[int, int] | None = (1600, 1200),
        jpeg_quality: int = 90,
        autofocus: bool = True,
        af_timeout_s: float = 3.0,
        capture_timeout_s: float = 5.0,
        rotation: int = 0,
        hflip: bool = False,
    ) -> None:
        super().__init__()
        self._num = camera_num
        if camera_num < 0:
            raise DriverConfigError(f"camera_num must be 0 or more, got {camera_num}", device=self.label)
        if size is not None and not all(16 <= v <= 16384 for v in size):
            raise DriverConfigError(f"size {size[0]}x{size[1]} is outside 16..16384", device=self.label)
        if not 1 <= jpeg_quality <= 100:
            raise DriverConfigError(f"jpeg_quality must be 1..100, got {jpeg_quality}", device=self.label)
        for name, value in (("af_timeout_s", af_timeout_s), ("capture_timeout_s", capture_timeout_s)):
            if not 0 < value <= 60:
                raise DriverConfigError(f"{name} must be more than 0 and at most 60 s, got {value}", device=self.label)
        if rotation not in (0, 180):
            raise DriverConfigError(
                f"rotation must be 0 or 180 (libcamera flips only), got {rotation}", device=self.label
            )
        self._size = size
        self._quality = jpeg_quality
        self._autofocus = autofocus
        self._af_timeout_s = af_timeout_s
        self._capture_timeout_s = capture_timeout_s
        self._rotation = rotation
        self._hflip = hflip
        self._cam: Any = None  # the Picamera2 object while open
        self._has_af = False
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return f"{self.kind.value} {self.driver_name} #{self._num}"

    @classmethod
    def from_config(cls, options: Mapping[str, Any], context: DriverContext) -> "Picamera2Camera":
        """Build from the station config's ``[devices.camera]`` options (:class:`Picamera2Options`)."""
        o = parse_options(Picamera2Options, options, device=f"{DeviceKind.CAMERA.value} {cls.driver_name}")
        return cls(
            camera_num=o.camera_num,
            size=o.size,
            jpeg_quality=o.jpeg_quality,
            autofocus=o.autofocus,
            af_timeout_s=o.af_timeout_s,
            capture_timeout_s=o.capture_timeout_s,
            rotation=o.rotation,
            hflip=o.hflip,
        )

    # -- the one place library errors become ours ----------------------------
    @contextmanager
    def _boundary(self, action: str, *, lost: type[DeviceError] = DeviceUnplugged) -> Iterator[None]:
        """Translate whatever picamera2/libcamera raise while doing ``action``.

        ``lost`` is what a RuntimeError/OSError means here: at open the camera
        was never reachable (DeviceNotConnected); once open it has vanished
        (DeviceUnplugged).
        """
        try:
            yield
        except DeviceError:
            raise
        except TimeoutError as exc:  # concurrent.futures.TimeoutError is this class
            self._cancel_jobs()
            raise DeviceTimeout(
                f"{action} did not finish in time; the camera stopped answering: {_NO_CAMERA_HINT}",
                device=self.label,
            ) from exc
        except (RuntimeError, OSError) as exc:
            raise lost(f"{action} failed ({_describe(exc)}): {_NO_CAMERA_HINT}", device=self.label) from exc
        except Exception as exc:  # anything else the library throws is still a device failure
            raise CaptureFailed(f"{action} failed ({_describe(exc)})", device=self.label) from exc

    def _cancel_jobs(self) -> None:
        """Drop a timed-out picamera2 job so the camera can still be stopped and closed."""
        cancel = getattr(self._cam, "cancel_all_and_flush", None)
        if cancel is None:
            return
        try:
            cancel()
        except Exception as exc:
            log.warning("%s: could not cancel pending camera jobs: %s", self.label, _describe(exc))

    # -- Device --------------------------------------------------------------
    def _open(self) -> DeviceIdentity:
        try:
            import picamera2  # noqa: PLC0415 - lazily, only on a Pi
        except ImportError as exc:
            raise DriverNotFound(
                "the picamera2 library is not installed: on Raspberry Pi OS run "
                "`apt install python3-picamera2` and create the venv with --system-site-packages",
                device=self.label,
            ) from exc
        Picamera2 = picamera2.Picamera2

        with self._boundary("listing cameras", lost=DeviceNotConnected):
            cameras = list(Picamera2.global_camera_info())
        if self._num >= len(cameras):
            found = f"{len(cameras)} camera(s) attached" if cameras else "no camera found"
            raise DeviceNotConnected(f"{found}, camera_num {self._num} is not one of them: {_NO_CAMERA_HINT}",
                                     device=self.label)
        info = dict(cameras[self._num])

        try:
            self._cam = Picamera2(self._num)
        except Exception as exc:
            # The camera is listed, so it is attached: failing to acquire it
            # almost always means another process holds it.
            raise DeviceBusy(
                f"camera {info.get('Model', '?')} is attached but could not be opened ({_describe(exc)}); "
                "is another program (rpicam-*, a second rekam) using it?",
                device=self.label,
            ) from exc

        cam = self._cam
        with self._boundary("configuring the camera", lost=DeviceNotConnected):
            kwargs: dict[str, Any] = {}
            if self._size is not None:
                kwargs["main"] = {"size": self._size}
            if self._rotation == 180 or self._hflip:
                import libcamera  # noqa: PLC0415 - comes with picamera2

                flip180 = self._rotation == 180
                kwargs["transform"] = libcamera.Transform(hflip=int(flip180 != self._hflip), vflip=int(flip180))
            main_w, main_h = self._size or tuple(cam.camera_properties.get("PixelArraySize") or (4608, 2592))
            kwargs["lores"] = {"size": (PREVIEW_WIDTH, max(2, round(PREVIEW_WIDTH * main_h / main_w / 2) * 2)),
                               "format": "YUV420"}
            config = cam.create_still_configuration(**kwargs)
            cam.configure(config)
            cam.options["quality"] = self._quality
            cam.start()
            properties = dict(cam.camera_properties)
            self._has_af = "AfMode" in cam.camera_controls

        cam_id = str(info.get("Id", ""))
        return DeviceIdentity(
            kind=DeviceKind.CAMERA,
            driver=self.driver_name,
            make="Raspberry Pi" if cam_id.startswith("/base/") else "libcamera",
            model=str(properties.get("Model") or info.get("Model") or "unknown"),
            serial=cam_id or f"camera {self._num}",
            firmware=_firmware(cam),
        )

    def _close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is None:
            return
        for step in ("stop", "close"):
            try:
                getattr(cam, step)()
            except Exception as exc:  # an unplugged camera may fail to stop; closing must not raise
                log.warning("%s: %s failed while closing: %s", self.label, step, _describe(exc))

    def _self_test(self) -> str:
        image = self.capture()
        return (
            f"captured a {image.width}x{image.height} JPEG, {len(image.data) // 1024} KiB, "
            f"autofocus {image.metadata['autofocus']}"
        )

    # -- Camera --------------------------------------------------------------
    def capture(self) -> Image:
        self._require_open()
        with self._lock:
            af = self._focus()
            buf = io.BytesIO()
            with self._boundary("capturing a still"):
                request_metadata = self._cam.capture_file(buf, format="jpeg", wait=self._capture_timeout_s)
        data = buf.getvalue()
        try:
            with PILImage.open(io.BytesIO(data)) as decoded:
                width, height = decoded.size
                fmt = decoded.format
        except Exception as exc:
            raise CaptureFailed(f"the camera returned {len(data)} bytes that are not an image", device=self.label) from exc
        if fmt != "JPEG":
            raise CaptureFailed(f"the camera returned {fmt} instead of JPEG", device=self.label)
        md = _map_metadata(request_metadata)
        md["autofocus"] = af
        md["jpeg_quality"] = self._quality
        return Image(data=data, width=width, height=height, format=ImageFormat.JPEG, metadata=md)

    def preview(self) -> Image:
        """A small frame for the live view: the lores stream as it runs, no focus cycle, no still."""
        self._require_open()
        import cv2  # noqa: PLC0415 - the station's image library; only the live view needs it here

        with self._lock:
            with self._boundary("grabbing a preview frame"):
                yuv = self._cam.capture_array("lores", wait=self._capture_timeout_s)
        try:
            bgr = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
            ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
        except cv2.error as exc:
            raise CaptureFailed(f"the preview frame could not be converted ({exc.__class__.__name__})",
                                device=self.label) from exc
        if not ok:
            raise CaptureFailed("the preview frame could not be encoded", device=self.label)
        return Image(data=jpeg.tobytes(), width=bgr.shape[1], height=bgr.shape[0], format=ImageFormat.JPEG,
                     metadata={"preview": True})

    def _focus(self) -> str:
        """Run one autofocus cycle where the camera has one; report, never raise."""
        if not self._autofocus:
            return "disabled"
        if not self._has_af:
            return "unavailable"  # fixed-focus module (Camera Module 2, HQ with manual lens...)
        try:
            focused = self._cam.autofocus_cycle(wait=self._af_timeout_s)
        except TimeoutError:
            self._cancel_jobs()
            log.warning("%s: autofocus did not finish within %g s", self.label, self._af_timeout_s)
            return "timeout"
        except Exception as exc:
            log.warning("%s: autofocus cycle failed: %s", self.label, _describe(exc))
            return "error"
        return "focused" if focused else "failed"


def _map_metadata(raw: Any) -> dict[str, Any]:
    """Keep the request metadata a station cares about, as plain numbers."""
    out: dict[str, Any] = {}
    if not isinstance(raw, Mapping):
        return out
    for key, name in _METADATA_KEYS.items():
        if key in raw:
            value = raw[key]
            # libcamera enums and the like become text so the record stays plain data.
            out[name] = value if isinstance(value, (int, float)) else str(value)
    return out


def _firmware(cam: Any) -> str:
    """libcamera's version where the bindings expose it, plus picamera2's."""
    parts = []
    try:
        version = getattr(getattr(cam, "camera_manager", None), "version", None)
    except Exception:
        version = None
    if isinstance(version, str) and version:
        parts.append(f"libcamera {version}")
    try:
        parts.append(f"picamera2 {importlib_metadata.version('picamera2')}")
    except importlib_metadata.PackageNotFoundError:
        pass
    return ", ".join(parts) or "unknown"


def _describe(exc: BaseException) -> str:
    """Type and message of a library exception, short enough for one log line."""
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name

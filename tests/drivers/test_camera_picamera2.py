"""The picamera2 driver against a fake picamera2 inserted at the import boundary.

Only ``picamera2`` and ``libcamera`` are faked (in ``sys.modules``); the driver
runs for real. The fake keeps the real library's shapes: ``Picamera2(num)``,
static ``global_camera_info()``, ``camera_properties``/``camera_controls``
dicts, the ``options`` dict, ``create_still_configuration(main=..., transform=...)``,
``autofocus_cycle(wait=<s>) -> bool`` and ``capture_file(file, format=..., wait=<s>)
-> metadata``, with ``TimeoutError`` for a job that overruns its wait.
"""

from __future__ import annotations

import io
import subprocess
import sys
import types
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import cv2  # noqa: F401 - loaded before the fixtures patch sys.modules: OpenCV cannot be loaded twice
import pytest
from PIL import Image as PILImage

from drivers import registry
from drivers.camera.picamera2 import Picamera2Camera
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
from drivers.types import DeviceKind, ImageFormat

CSI_ID = "/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a"


def small_jpeg(width: int = 64, height: int = 48, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", (width, height), (40, 90, 200)).save(buf, format=fmt)
    return buf.getvalue()


@dataclass
class Rig:
    """What the fake camera will do, and a log of what the driver asked of it."""

    cameras: list[dict[str, Any]] = field(default_factory=lambda: [{"Model": "imx708", "Id": CSI_ID, "Location": 2}])
    controls: dict[str, Any] = field(default_factory=lambda: {"AfMode": (0, 2, 0), "LensPosition": (0.0, 15.0, 1.0)})
    properties: dict[str, Any] = field(default_factory=lambda: {"Model": "imx708", "PixelArraySize": (4608, 2592)})
    jpeg: bytes = field(default_factory=lambda: small_jpeg(160, 120))
    request_metadata: dict[str, Any] = field(default_factory=lambda: {
        "ExposureTime": 16660, "AnalogueGain": 2.5, "DigitalGain": 1.01, "LensPosition": 2.2,
        "AfState": 2, "FocusFoM": 1234, "ColourTemperature": 4800, "Lux": 310.5,
        "SensorTimestamp": 123456789, "ScalerCrop": (0, 0, 4608, 2592),
    })
    af_result: Any = True  # bool, or an exception to raise
    init_error: BaseException | None = None
    configure_error: BaseException | None = None
    capture_error: BaseException | None = None
    stop_error: BaseException | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)
    transforms: list[dict[str, int]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def rig(mocker) -> Rig:
    rig = Rig()

    class FakePicamera2:
        @staticmethod
        def global_camera_info() -> list[dict[str, Any]]:
            rig.calls.append(("global_camera_info", None))
            return [dict(c) for c in rig.cameras]

        def __init__(self, camera_num: int = 0) -> None:
            rig.calls.append(("init", camera_num))
            if rig.init_error is not None:
                raise rig.init_error
            self.options: dict[str, Any] = {}
            self.camera_properties = dict(rig.properties)
            self.camera_controls = dict(rig.controls)
            self.camera_manager = types.SimpleNamespace(version="v0.5.0+rpt20250429")

        def create_still_configuration(self, main=None, transform=None, **kwargs):
            rig.calls.append(("create_still_configuration", {"main": main, "transform": transform, **kwargs}))
            return {"use_case": "still", "main": main or {"size": (4608, 2592)}, "transform": transform, **kwargs}

        def configure(self, config) -> None:
            rig.calls.append(("configure", config))
            self._config = config
            if rig.configure_error is not None:
                raise rig.configure_error

        def start(self) -> None:
            rig.calls.append(("start", dict(self.options)))

        def autofocus_cycle(self, wait=None, signal_function=None):
            rig.calls.append(("autofocus_cycle", wait))
            if isinstance(rig.af_result, BaseException):
                raise rig.af_result
            return rig.af_result

        def capture_file(self, file_output, name="main", format=None, wait=None, signal_function=None, exif_data=None):
            rig.calls.append(("capture_file", {"name": name, "format": format, "wait": wait,
                                               "to_memory": isinstance(file_output, io.BytesIO)}))
            if rig.capture_error is not None:
                raise rig.capture_error
            file_output.write(rig.jpeg)
            return dict(rig.request_metadata)

        def capture_array(self, name="main", wait=None, signal_function=None):
            """As the real one: a YUV420 stream comes as one plane of (height * 3/2, width) bytes."""
            import numpy as np

            rig.calls.append(("capture_array", {"name": name, "wait": wait}))
            if rig.capture_error is not None:
                raise rig.capture_error
            w, h = self._config[name]["size"]
            return np.full((h * 3 // 2, w), 128, dtype=np.uint8)

        def cancel_all_and_flush(self) -> None:
            rig.calls.append(("cancel_all_and_flush", None))

        def stop(self) -> None:
            rig.calls.append(("stop", None))
            if rig.stop_error is not None:
                raise rig.stop_error

        def close(self) -> None:
            rig.calls.append(("close", None))

    def transform(hflip: int = 0, vflip: int = 0):
        rig.transforms.append({"hflip": hflip, "vflip": vflip})
        return ("Transform", hflip, vflip)

    picamera2 = types.ModuleType("picamera2")
    picamera2.Picamera2 = FakePicamera2
    libcamera = types.ModuleType("libcamera")
    libcamera.Transform = transform
    mocker.patch.dict(sys.modules, {"picamera2": picamera2, "libcamera": libcamera})
    return rig


def make(**options) -> Picamera2Camera:
    camera = registry.create(DeviceKind.CAMERA, "picamera2", options)
    assert isinstance(camera, Picamera2Camera)
    return camera


def test_importing_the_driver_does_not_import_picamera2() -> None:
    code = "import sys, drivers.camera.picamera2; assert 'picamera2' not in sys.modules and 'libcamera' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_without_picamera2_open_says_how_to_install_it(mocker) -> None:
    mocker.patch.dict(sys.modules, {"picamera2": None})  # import fails as on a PC
    cam = make()
    with pytest.raises(DriverNotFound, match="apt install python3-picamera2") as caught:
        cam.open()
    assert str(caught.value).startswith("camera picamera2 #0: ")
    assert not cam.is_open


def test_open_configures_a_still_and_starts(rig: Rig) -> None:
    with make(size=[2028, 1520], jpeg_quality=85) as cam:
        assert rig.names() == ["global_camera_info", "init", "create_still_configuration", "configure", "start"]
        assert rig.calls[1] == ("init", 0)
        assert rig.calls[2][1]["main"] == {"size": (2028, 1520)}
        assert rig.calls[2][1]["transform"] is None and rig.transforms == []
        assert rig.calls[3][1]["use_case"] == "still"
        assert rig.calls[4] == ("start", {"quality": 85})  # JPEG quality set before the camera runs
        ident = cam.identity
        assert (ident.kind, ident.driver, ident.make, ident.model, ident.serial) == (
            DeviceKind.CAMERA, "picamera2", "Raspberry Pi", "imx708", CSI_ID)
        assert "libcamera v0.5.0" in ident.firmware


def test_capture_runs_autofocus_then_captures_jpeg_into_memory(rig: Rig) -> None:
    with make(af_timeout_s=2, capture_timeout_s=4) as cam:
        rig.calls.clear()
        image = cam.capture()
    assert rig.calls[:2] == [
        ("autofocus_cycle", 2.0),
        ("capture_file", {"name": "main", "format": "jpeg", "wait": 4.0, "to_memory": True}),
    ]
    assert image.data == rig.jpeg and image.format is ImageFormat.JPEG
    assert (image.width, image.height) == (160, 120)  # read from the JPEG, not assumed
    assert image.metadata == {
        "exposure_us": 16660, "analogue_gain": 2.5, "digital_gain": 1.01, "lens_position": 2.2,
        "af_state": 2, "focus_fom": 1234, "colour_temperature_k": 4800, "lux": 310.5,
        "sensor_timestamp_ns": 123456789, "autofocus": "focused", "jpeg_quality": 90,
    }


def test_the_live_view_comes_from_the_lores_stream_without_a_focus_cycle_or_a_still(rig: Rig) -> None:
    """Before, each preview frame was a full still after an autofocus cycle (far under 12 fps on a Pi)."""
    with make(size=[2028, 1520], capture_timeout_s=4) as cam:
        assert rig.calls[2][1]["lores"] == {"size": (320, 240), "format": "YUV420"}  # the still's aspect
        rig.calls.clear()
        frame = cam.preview()
    assert rig.calls[0] == ("capture_array", {"name": "lores", "wait": 4.0})
    assert "autofocus_cycle" not in rig.names() and "capture_file" not in rig.names()
    assert frame.format is ImageFormat.JPEG and (frame.width, frame.height) == (320, 240)
    with PILImage.open(io.BytesIO(frame.data)) as decoded:
        assert decoded.format == "JPEG" and decoded.size == (320, 240)


def test_a_preview_failure_is_a_device_error(rig: Rig) -> None:
    with make() as cam:
        rig.capture_error = RuntimeError("camera frontend has timed out!")
        with pytest.raises(DeviceError):
            cam.preview()


def test_camera_without_autofocus_skips_the_cycle(rig: Rig) -> None:
    del rig.controls["AfMode"]
    with make() as cam:
        image = cam.capture()
    assert "autofocus_cycle" not in rig.names() and "capture_file" in rig.names()
    assert image.metadata["autofocus"] == "unavailable"


def test_autofocus_can_be_turned_off(rig: Rig) -> None:
    with make(autofocus=False) as cam:
        assert cam.capture().metadata["autofocus"] == "disabled"
    assert "autofocus_cycle" not in rig.names()


@pytest.mark.parametrize(
    ("af_result", "recorded", "cancelled"),
    [
        (False, "failed", False),
        (TimeoutError(), "timeout", True),
        (FutureTimeout(), "timeout", True),
        (RuntimeError("AfState missing"), "error", False),
    ],
    ids=["not-focused", "timeout", "future-timeout", "error"],
)
def test_autofocus_trouble_is_recorded_not_fatal(rig: Rig, af_result, recorded, cancelled) -> None:
    rig.af_result = af_result
    with make() as cam:
        image = cam.capture()
    assert image.metadata["autofocus"] == recorded
    assert image.data == rig.jpeg  # the still was taken anyway
    assert ("cancel_all_and_flush" in rig.names()) is cancelled


def test_rotation_and_hflip_become_a_libcamera_transform(rig: Rig) -> None:
    with make(rotation=180):
        pass
    with make(hflip=True):
        pass
    with make(rotation=180, hflip=True):
        pass
    assert rig.transforms == [{"hflip": 1, "vflip": 1}, {"hflip": 1, "vflip": 0}, {"hflip": 0, "vflip": 1}]
    configs = [args for name, args in rig.calls if name == "create_still_configuration"]
    assert [c["transform"] for c in configs] == [("Transform", 1, 1), ("Transform", 1, 0), ("Transform", 0, 1)]


def test_no_camera_attached_is_not_connected_with_a_hint(rig: Rig) -> None:
    rig.cameras = []
    cam = make()
    with pytest.raises(DeviceNotConnected, match="no camera found.*rpicam-hello --list-cameras"):
        cam.open()
    assert "init" not in rig.names()  # never tried to grab a camera that is not there


def test_camera_num_beyond_the_attached_cameras_is_not_connected(rig: Rig) -> None:
    with pytest.raises(DeviceNotConnected, match="1 camera.*camera_num 1") as caught:
        make(camera_num=1).open()
    assert "camera picamera2 #1" in str(caught.value)


def test_camera_held_by_another_program_is_busy(rig: Rig) -> None:
    rig.init_error = RuntimeError("Camera __init__ sequence did not complete.")
    with pytest.raises(DeviceBusy, match="imx708 is attached but could not be opened"):
        make().open()


def test_failure_while_configuring_releases_the_camera(rig: Rig) -> None:
    rig.configure_error = RuntimeError("Failed to configure camera")
    cam = make()
    with pytest.raises(DeviceNotConnected, match="configuring the camera failed.*RuntimeError"):
        cam.open()
    assert rig.names()[-2:] == ["stop", "close"]
    assert not cam.is_open


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (RuntimeError("Camera frontend has timed out!"), DeviceUnplugged, "capturing a still failed"),
        (OSError(19, "No such device"), DeviceUnplugged, "No such device"),
        (TimeoutError(), DeviceTimeout, "did not finish in time"),
        (FutureTimeout(), DeviceTimeout, "did not finish in time"),
        (KeyError("main"), CaptureFailed, "KeyError"),
        (ValueError("bad stream"), CaptureFailed, "bad stream"),
    ],
    ids=["runtime", "oserror", "timeout", "future-timeout", "keyerror", "valueerror"],
)
def test_capture_errors_are_translated_once_at_the_boundary(rig: Rig, error, expected, message) -> None:
    rig.capture_error = error
    with make() as cam:
        with pytest.raises(expected, match=message) as caught:
            cam.capture()
    assert isinstance(caught.value, DeviceError)
    assert str(caught.value).startswith("camera picamera2 #0: ")
    assert caught.value.__cause__ is error
    assert ("cancel_all_and_flush" in rig.names()) is (expected is DeviceTimeout)


def test_capture_that_is_not_a_jpeg_fails(rig: Rig) -> None:
    rig.jpeg = small_jpeg(fmt="PNG")
    with make() as cam, pytest.raises(CaptureFailed, match="PNG instead of JPEG"):
        cam.capture()
    rig.jpeg = b"\x00garbage"
    with make() as cam, pytest.raises(CaptureFailed, match="not an image"):
        cam.capture()


def test_close_stops_and_closes_once_and_never_raises(rig: Rig) -> None:
    cam = make()
    cam.open()
    rig.stop_error = RuntimeError("camera vanished")
    cam.close()
    cam.close()
    assert rig.names().count("stop") == 1 and rig.names().count("close") == 1
    with pytest.raises(DeviceError, match="closed"):
        cam.capture()


def test_self_test_takes_a_frame(rig: Rig) -> None:
    with make() as cam:
        result = cam.self_test()
    assert result.detail.startswith("captured a 160x120 JPEG") and "autofocus focused" in result.detail
    assert "capture_file" in rig.names()


def test_usb_camera_identity(rig: Rig) -> None:
    rig.cameras = [{"Model": "HD USB Camera", "Id": "\\_SB_.PCI0-2:1.0-0c45:6366"}]
    rig.properties = {"Model": "HD USB Camera"}
    with make() as cam:
        assert (cam.identity.make, cam.identity.model) == ("libcamera", "HD USB Camera")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"camera": 0}, "unknown option 'camera'; known: af_timeout_s, autofocus, camera_num"),
        ({"size": [1600]}, "option 'size' must be \\[width, height\\] in pixels, each 16-16384, got \\[1600\\]"),
        ({"size": "1600x1200"}, "option 'size' must be \\[width, height\\] .*, got '1600x1200'"),
        ({"size": [1600, 8]}, "option 'size' must be \\[width, height\\] .*, got \\[1600, 8\\]"),
        ({"rotation": 90}, "option 'rotation' must be 0 or 180 \\(libcamera flips only\\), got 90"),
        ({"af_timeout_s": 0}, "option 'af_timeout_s' must be a number > 0 and <= 60, got 0"),
        ({"capture_timeout_s": 120}, "option 'capture_timeout_s' must be a number > 0 and <= 60, got 120"),
        ({"autofocus": "yes"}, "option 'autofocus' must be true or false, got 'yes'"),
        ({"camera_num": -1}, "option 'camera_num' must be an integer >= 0, got -1"),
        ({"jpeg_quality": 101}, "option 'jpeg_quality' must be an integer 1-100, got 101"),
    ],
)
def test_bad_options_name_the_option(options, message) -> None:
    with pytest.raises(DriverConfigError, match=message):
        make(**options)


def test_size_none_asks_for_the_sensor_resolution(rig: Rig) -> None:
    with make(size=None):
        pass
    config = next(args for name, args in rig.calls if name == "create_still_configuration")
    assert config["main"] is None

"""The emulated camera, driven the way a station drives it: registry + scene."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image as PILImage

from drivers import registry
from drivers.camera.emulated import EmulatedCamera
from drivers.errors import DeviceError, DriverConfigError
from drivers.registry import DriverContext
from drivers.scene import Backdrop, FaceCondition, Person, Scene
from drivers.types import DeviceKind, ImageFormat
from tests.drivers.test_synthetic_portrait import distance, measure

ANI = Person("3372015203900001", sex="F", birth_year=1990)  # even year: blue backdrop
BUDI = Person("3372011708850002", sex="M", birth_year=1985)  # odd year: red backdrop


@pytest.fixture
def scene() -> Scene:
    return Scene(time_scale=0)


def make(scene: Scene, **options) -> EmulatedCamera:
    camera = registry.create(DeviceKind.CAMERA, "emulated", {"seed": 1000, **options}, DriverContext(scene=scene))
    assert isinstance(camera, EmulatedCamera)
    return camera


@pytest.fixture
def camera(scene: Scene):
    with make(scene) as cam:
        yield cam


def pixels(image) -> np.ndarray:
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "JPEG"
        return np.asarray(decoded.convert("RGB"))


def test_registry_builds_the_emulated_camera_with_its_identity(scene: Scene) -> None:
    with make(scene, serial="EMU-TEST-7") as cam:
        ident = cam.identity
        assert (ident.kind, ident.driver, ident.make, ident.model, ident.serial) == (
            DeviceKind.CAMERA, "emulated", "rekam", "emulated camera", "EMU-TEST-7")
        assert ident.firmware.startswith("portrait/")
        assert cam.label == "camera emulated"


def test_derived_serial_is_stable_without_the_option(scene: Scene) -> None:
    with make(scene) as a, make(scene) as b:
        assert a.identity.serial == b.identity.serial
        assert a.identity.serial.startswith("EMU-") and len(a.identity.serial) > 8


def test_capture_returns_a_decodable_jpeg_of_the_configured_size(scene: Scene) -> None:
    scene.stand(ANI)
    with make(scene, width=360, height=480) as cam:
        image = cam.capture()
    assert image.format is ImageFormat.JPEG and (image.width, image.height) == (360, 480)
    assert pixels(image).shape == (480, 360, 3)
    assert set(image.metadata) >= {"exposure_us", "analogue_gain", "lens_position", "capture_seed"}
    assert "bytes" in repr(image) and "\\x" not in repr(image) and "data=" not in repr(image)


def test_the_resident_in_front_of_the_camera_is_photographed(camera: EmulatedCamera, scene: Scene) -> None:
    scene.stand(ANI)
    m = measure(pixels(camera.capture()))
    assert len(m.faces) == 1 and m.centred and m.large_enough and m.sharp
    assert m.backdrop is Backdrop.BLUE  # from Ani's birth year via the scene


def test_a_different_resident_gives_a_different_portrait(camera: EmulatedCamera, scene: Scene) -> None:
    scene.stand(ANI)
    ani = pixels(camera.capture())
    scene.stand(BUDI)
    budi = pixels(camera.capture())
    assert measure(budi).backdrop is Backdrop.RED
    scene.stand(BUDI, backdrop=Backdrop.BLUE)  # same cloth, so only the person differs
    budi_blue = pixels(camera.capture())
    assert distance(ani, budi_blue) > 15


def test_same_resident_twice_is_recognisable_but_never_byte_identical(camera: EmulatedCamera, scene: Scene) -> None:
    scene.stand(ANI)
    first, second = camera.capture(), camera.capture()
    assert first.data != second.data
    assert first.metadata["capture_seed"] != second.metadata["capture_seed"]
    scene.stand(BUDI, backdrop=Backdrop.BLUE)
    other = camera.capture()
    same = distance(pixels(first), pixels(second))
    assert same < 12 and same < 0.5 * distance(pixels(first), pixels(other))


def test_nobody_in_front_of_the_camera_gives_an_empty_frame(camera: EmulatedCamera, scene: Scene) -> None:
    scene.stand(ANI)
    assert measure(pixels(camera.capture())).faces
    scene.leave_camera()
    assert measure(pixels(camera.capture())).faces == ()


@pytest.mark.parametrize(
    ("condition", "flaw"),
    [
        (FaceCondition.BLURRED, lambda m: not m.sharp),
        (FaceCondition.UNDEREXPOSED, lambda m: m.underexposed),
        (FaceCondition.OVEREXPOSED, lambda m: m.overexposed),
        (FaceCondition.OFF_CENTRE, lambda m: not m.centred),
        (FaceCondition.TOO_FAR, lambda m: not m.large_enough),
        (FaceCondition.NO_FACE, lambda m: not m.faces),
        (FaceCondition.TWO_FACES, lambda m: len(m.faces) == 2),
        (FaceCondition.WRONG_BACKDROP, lambda m: m.backdrop is Backdrop.RED),
    ],
    ids=lambda v: getattr(v, "value", ""),
)
def test_scene_condition_shows_in_the_jpeg_pixels(camera: EmulatedCamera, scene: Scene, condition, flaw) -> None:
    scene.stand(ANI, condition)
    m = measure(pixels(camera.capture()))
    assert flaw(m), m


def test_condition_never_leaks_into_metadata(scene: Scene) -> None:
    """Same capture number, different condition: identical metadata, different pixels."""
    scene.stand(ANI, FaceCondition.GOOD)
    with make(scene, seed=5) as cam:
        good = cam.capture()
    scene.stand(ANI, FaceCondition.BLURRED)
    with make(scene, seed=5) as cam:
        blurred = cam.capture()
    assert good.metadata == blurred.metadata
    assert measure(pixels(good)).sharp and not measure(pixels(blurred)).sharp


def test_jpeg_quality_option_is_applied(scene: Scene) -> None:
    scene.stand(BUDI)
    with make(scene, jpeg_quality=30) as low, make(scene, jpeg_quality=95) as high:
        small, large = low.capture(), high.capture()
    assert len(small.data) * 2 < len(large.data)
    assert (small.metadata["jpeg_quality"], large.metadata["jpeg_quality"]) == (30, 95)


def test_delay_option_makes_the_capture_take_that_long(scene: Scene) -> None:
    scene.stand(ANI)
    with make(scene, delay_s=0.3) as cam:
        started = time.monotonic()
        cam.capture()
        took = time.monotonic() - started
    assert 0.3 <= took < 2.0


def test_self_test_captures_and_decodes_a_frame(camera: EmulatedCamera) -> None:
    result = camera.self_test()
    assert result.identity == camera.identity
    assert "480x640 JPEG" in result.detail


def test_lifecycle_capture_needs_open_and_close_is_final(scene: Scene) -> None:
    cam = make(scene)
    with pytest.raises(DeviceError, match="camera emulated: device is not opened yet"):
        cam.capture()
    cam.open()
    cam.close()
    cam.close()  # idempotent
    with pytest.raises(DeviceError, match="closed"):
        cam.capture()
    with pytest.raises(DeviceError, match="cannot reopen"):
        cam.open()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"jpeg_qualty": 80}, "unknown option.*'jpeg_qualty'"),
        ({"width": "480"}, "option 'width' must be an integer 64-4096, got '480'"),
        ({"width": 10}, "option 'width' must be an integer 64-4096, got 10"),
        ({"jpeg_quality": 0}, "option 'jpeg_quality' must be an integer 1-100, got 0"),
        ({"delay_s": -1}, "option 'delay_s' must be"),
        ({"delay_s": 60}, "option 'delay_s' must be"),
        ({"serial": 7}, "option 'serial' must be"),
    ],
)
def test_bad_options_name_the_option(scene: Scene, options, message) -> None:
    with pytest.raises(DriverConfigError, match=message) as caught:
        make(scene, **options)
    assert "camera emulated" in str(caught.value)

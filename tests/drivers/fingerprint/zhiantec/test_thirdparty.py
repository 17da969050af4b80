"""Open-source ZhianTec drivers, unmodified, against the simulator on a real pty.

pyfingerprint (PyPI) opens the port itself; adafruit-circuitpython-fingerprint
takes a pyserial Serial. Each is driven only through its own public API.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import serial
from PIL import Image as PILImage

from drivers.fingerprint.zhiantec.simulator import ZhianTecSimulator
from drivers.scene import Person, Scene
from drivers.synthetic import fingerprint as synth

adafruit_fingerprint = pytest.importorskip("adafruit_fingerprint")
pyfingerprint_mod = pytest.importorskip("pyfingerprint.pyfingerprint")
PyFingerprint = pyfingerprint_mod.PyFingerprint

pytestmark = pytest.mark.timeout(60)

DEWI, EKO = Person("dewi-5521"), Person("eko-7731")


@pytest.fixture
def scene() -> Scene:
    return Scene()


@pytest.fixture
def pyfp(scene: Scene):
    with ZhianTecSimulator(scene, model="R307") as sim:
        f = PyFingerprint(sim.port, 57600, 0xFFFFFFFF, 0x00000000)
        yield f, sim
        del f


def test_pyfingerprint_verifies_and_reads_parameters(pyfp) -> None:  # noqa: ANN001
    f, _ = pyfp
    assert f.verifyPassword() is True
    status, system_id, capacity, level, address, size_code, baud_n = f.getSystemParameters()
    assert (capacity, level, address, size_code, baud_n) == (1000, 3, 0xFFFFFFFF, 2, 6)
    assert f.getStorageCapacity() == 1000 and f.getMaxPacketSize() == 128 and f.getBaudRate() == 57600
    assert f.getTemplateCount() == 0


def test_pyfingerprint_reads_no_finger_then_the_image(pyfp, scene: Scene, tmp_path: Path) -> None:  # noqa: ANN001
    f, sim = pyfp
    assert f.verifyPassword()
    assert f.readImage() is False  # nobody on the glass
    scene.place_finger(DEWI, 2)
    assert f.readImage() is True
    out = tmp_path / "finger.png"
    f.downloadImage(str(out))
    got = np.asarray(PILImage.open(out))
    assert got.shape == (288, 256)
    assert np.array_equal(got, (sim.image_buffer >> 4) * 17)


def test_pyfingerprint_converts_stores_and_searches(pyfp, scene: Scene) -> None:  # noqa: ANN001
    f, _ = pyfp
    assert f.verifyPassword()
    scene.place_finger(DEWI, 2)
    assert f.readImage() and f.convertImage(1)
    assert f.storeTemplate() == 0  # first free slot, found through getTemplateIndex
    assert f.getTemplateCount() == 1 and f.getTemplateIndex(0)[0] is True
    assert f.readImage() and f.convertImage(1)
    position, score = f.searchTemplate()
    assert position == 0 and score >= synth.MATCH_THRESHOLD
    scene.place_finger(EKO, 2)
    assert f.readImage() and f.convertImage(1)
    assert f.searchTemplate() == (-1, -1)
    characteristics = f.downloadCharacteristics(1)
    assert len(characteristics) == 512
    assert f.deleteTemplate(0) is True and f.getTemplateCount() == 0


def test_pyfingerprint_compares_two_buffers_and_uploads_characteristics(pyfp, scene: Scene) -> None:  # noqa: ANN001
    f, _ = pyfp
    assert f.verifyPassword()
    scene.place_finger(DEWI, 4)
    assert f.readImage() and f.convertImage(1)
    assert f.readImage() and f.convertImage(2)
    assert f.compareCharacteristics() >= synth.MATCH_THRESHOLD
    assert f.createTemplate() is True
    template = f.downloadCharacteristics(1)
    assert f.uploadCharacteristics(2, template) is True  # DownChar, then reads it back
    assert f.clearDatabase() is True


def test_pyfingerprint_sees_a_wrong_password(scene: Scene) -> None:
    with ZhianTecSimulator(scene, password=0x0BADCAFE) as sim:
        f = PyFingerprint(sim.port, 57600, 0xFFFFFFFF, 0x00000000)
        assert f.verifyPassword() is False
        del f


@pytest.fixture(params=["R307", "R503"])
def ada(request: pytest.FixtureRequest, scene: Scene):
    with ZhianTecSimulator(scene, model=request.param) as sim:
        uart = serial.Serial(sim.port, 57600, timeout=1)
        try:
            yield adafruit_fingerprint.Adafruit_Fingerprint(uart), sim
        finally:
            uart.close()


def test_adafruit_reads_parameters_on_construction(ada) -> None:  # noqa: ANN001
    a, sim = ada
    assert a.library_size == sim.spec.capacity
    assert (a.data_packet_size, a.baudrate, a.security_level) == (2, 6, 3)
    assert a.device_address == b"\xff\xff\xff\xff"
    assert a.count_templates() == adafruit_fingerprint.OK and a.template_count == 0


def test_adafruit_images_converts_stores_and_searches(ada, scene: Scene) -> None:  # noqa: ANN001
    a, sim = ada
    assert a.get_image() == adafruit_fingerprint.NOFINGER
    scene.place_finger(DEWI, 7)
    assert a.get_image() == adafruit_fingerprint.OK
    pixels = a.get_fpdata("image")
    assert len(pixels) == sim.spec.width * sim.spec.height // 2
    assert a.image_2_tz(1) == adafruit_fingerprint.OK
    assert len(a.get_fpdata("char", 1)) == 512
    assert a.store_model(3, 1) == adafruit_fingerprint.OK
    assert a.read_templates() == adafruit_fingerprint.OK and a.templates == [3]
    assert a.get_image() == adafruit_fingerprint.OK and a.image_2_tz(1) == adafruit_fingerprint.OK
    assert a.finger_search() == adafruit_fingerprint.OK and a.finger_id == 3
    assert a.confidence >= synth.MATCH_THRESHOLD
    assert a.finger_fast_search() == adafruit_fingerprint.OK and a.finger_id == 3
    scene.place_finger(EKO, 7)
    assert a.get_image() == adafruit_fingerprint.OK and a.image_2_tz(1) == adafruit_fingerprint.OK
    assert a.finger_search() == adafruit_fingerprint.NOTFOUND
    assert a.delete_model(3) == adafruit_fingerprint.OK
    assert a.count_templates() == adafruit_fingerprint.OK and a.template_count == 0


def test_adafruit_enrolls_from_two_presses_and_sends_a_template_back(ada, scene: Scene) -> None:  # noqa: ANN001
    a, _ = ada
    scene.place_finger(DEWI, 1)
    for slot in (1, 2):
        assert a.get_image() == adafruit_fingerprint.OK
        assert a.image_2_tz(slot) == adafruit_fingerprint.OK
    assert a.create_model() == adafruit_fingerprint.OK
    model = a.get_fpdata("char", 1)
    assert a.send_fpdata(model, "char", 2) is True
    assert a.get_fpdata("char", 2) == model
    assert a.compare_templates() == adafruit_fingerprint.OK
    assert a.store_model(0, 1) == adafruit_fingerprint.OK
    assert a.empty_library() == adafruit_fingerprint.OK and a.count_templates() == 0 and a.template_count == 0


def test_adafruit_led_ring_on_the_r503_only(ada) -> None:  # noqa: ANN001
    a, sim = ada
    code = a.set_led(color=2, mode=1, speed=0x30, cycles=2)
    if sim.spec.led_ring:
        assert code == adafruit_fingerprint.OK
        assert (sim.led.color, sim.led.mode, sim.led.speed, sim.led.cycles) == (2, 1, 0x30, 2)
    else:
        assert code == sim.spec.unknown_code and sim.led is None

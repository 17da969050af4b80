"""The real GT-521 driver against the simulator over a real pty and real pyserial."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from drivers import registry
from drivers.errors import (
    BadChecksum,
    CaptureFailed,
    DeviceError,
    DeviceNotConnected,
    DeviceTimeout,
    DriverConfigError,
    NoFinger,
)
from drivers.fingerprint.gt521 import codec, codes
from drivers.fingerprint.gt521.driver import GT521Scanner
from drivers.fingerprint.gt521.simulator import GT521Simulator
from drivers.scene import FingerCondition, Person, Scene
from drivers.synthetic import fingerprint as synthetic
from drivers.types import DeviceKind, ImageFormat

ANI = Person("3372015508900001", sex="F")
BUDI = Person("3372010101850002")


@pytest.fixture
def scene() -> Scene:
    return Scene()


@pytest.fixture
def sim(scene: Scene) -> Iterator[GT521Simulator]:
    s = GT521Simulator(scene).start()
    try:
        yield s
    finally:
        s.stop()


def make_scanner(sim: GT521Simulator, **kw) -> GT521Scanner:
    kw.setdefault("fast_baud", 115200)
    kw.setdefault("timeout", 1.0)
    kw.setdefault("poll_interval", 0.01)
    return GT521Scanner(sim.port, **kw)


@pytest.fixture
def scanner(sim: GT521Simulator) -> Iterator[GT521Scanner]:
    sc = make_scanner(sim)
    sc.open()
    try:
        yield sc
    finally:
        sc.close()


# -- open, identity, baud ---------------------------------------------------------
def test_open_learns_identity_and_switches_to_the_fast_rate(sim: GT521Simulator, scanner: GT521Scanner) -> None:
    ident = scanner.identity
    assert (ident.kind, ident.driver, ident.make, ident.model) == (DeviceKind.FINGERPRINT, "gt521", "ADH-Tech", "GT-521F52")
    assert ident.serial == sim.serial_number.hex().upper()
    assert ident.firmware == "20120306"
    assert scanner.capacity == 3000
    assert sim.baud == 115200 and scanner.baud == 115200 and sim.driver_baud() == 115200
    assert sim.commands()[:3] == ["OPEN", "CHANGE_BAUD_RATE", "CHECK_ENROLLED"]


def test_f32_is_recognised_by_its_smaller_database(scene: Scene) -> None:
    with GT521Simulator(scene, model="GT-521F32") as sim, make_scanner(sim) as sc:
        assert sc.identity.model == "GT-521F32" and sc.capacity == 200


def test_configured_model_skips_the_probe(sim: GT521Simulator) -> None:
    with make_scanner(sim, model="GT-521F52") as sc:
        assert sc.identity.model == "GT-521F52"
    assert "CHECK_ENROLLED" not in sim.commands()


def test_close_puts_the_module_back_to_9600_so_the_next_open_works(sim: GT521Simulator) -> None:
    with make_scanner(sim) as first:
        assert sim.baud == 115200
        first_serial = first.identity.serial
    assert sim.baud == 9600 and sim.led is False
    assert sim.commands()[-3:] == ["CMOS_LED", "CHANGE_BAUD_RATE", "CLOSE"]
    with make_scanner(sim, fast_baud=None) as second:  # a plain 9600 driver
        assert second.identity.serial == first_serial
        assert second.baud == 9600


def test_module_left_at_the_fast_rate_is_found_there(sim: GT521Simulator) -> None:
    sim.baud = 115200  # the previous program died without closing
    with make_scanner(sim) as sc:
        assert sc.identity.model == "GT-521F52" and sc.baud == 115200
    assert sim.baud_mismatches >= 1  # the first Open at 9600 really was noise to it


def test_module_left_at_the_fast_rate_times_out_a_9600_driver_clearly(sim: GT521Simulator) -> None:
    sim.baud = 115200
    sc = make_scanner(sim, fast_baud=None, timeout=0.3)
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeout, match=r"fingerprint gt521 on .*no answer to Open at 9600 baud"):
        sc.open()
    assert time.monotonic() - t0 < 2.0
    assert not sc.is_open


def test_wrong_device_id_gets_no_answer(sim: GT521Simulator) -> None:
    with pytest.raises(DeviceTimeout):
        make_scanner(sim, device_id=2, fast_baud=None, timeout=0.3).open()
    assert any("other device id" in e.reply for e in sim.history)


def test_missing_port_is_not_connected() -> None:
    with pytest.raises(DeviceNotConnected, match="does not exist"):
        GT521Scanner("/dev/rekam-no-such-port").open()


def test_self_test(sim: GT521Simulator, scanner: GT521Scanner) -> None:
    before = len(sim.history)
    result = scanner.self_test()
    assert result.identity == scanner.identity
    assert result.detail == "GT-521F52 database 0/3000 enrolled, LED ok, 115200 baud"
    assert [e.command for e in sim.history[before:]] == ["OPEN", "GET_ENROLL_COUNT", "CMOS_LED", "CMOS_LED"]


# -- capture ------------------------------------------------------------------------
def test_capture_returns_the_rendered_image_and_a_template(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(ANI, 2)
    cap = scanner.capture(timeout=2.0)
    img = cap.image
    assert (img.width, img.height, img.format) == (258, 202, ImageFormat.GRAY8)
    assert img.metadata["dpi"] == 450
    expected = synthetic.render(ANI.person_id, 2, FingerCondition.GOOD, width=258, height=202, capture_seed=1)
    assert img.data == expected.tobytes()  # every pixel crossed the wire intact
    pixels = np.frombuffer(img.data, np.uint8)
    assert pixels.mean() > 100 and pixels.min() < 60  # light background, dark ridges
    assert cap.template is not None and len(cap.template) == 498
    assert cap.template_format == "adh-tech-gt521"
    assert sim.led is False
    leds = [e.parameter for e in sim.history if e.command == "CMOS_LED"]
    assert leds[-2:] == [1, 0]
    assert [c for c in sim.commands() if c in ("CAPTURE_FINGER", "GET_IMAGE", "MAKE_TEMPLATE")] == [
        "CAPTURE_FINGER",
        "GET_IMAGE",
        "MAKE_TEMPLATE",
    ]
    assert "\\x" not in repr(cap) and str(len(img.data)) in repr(cap)


def test_capture_waits_for_the_finger(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    def resident() -> None:
        # Press only once the scanner is visibly waiting for a finger.
        if sim.wait_for(lambda h: sum(e.command == "IS_PRESS_FINGER" for e in h) >= 3, timeout=5):
            scene.place_finger(BUDI, 7)

    t = threading.Thread(target=resident, daemon=True)
    t.start()
    cap = scanner.capture(timeout=5.0)
    t.join(5)
    pressed = [e.result for e in sim.history if e.command == "IS_PRESS_FINGER"]
    assert pressed[0] != 0 and pressed[-1] == 0
    assert len(cap.image.data) == codes.IMAGE_SIZE


def test_no_finger_times_out_with_no_finger(sim: GT521Simulator, scanner: GT521Scanner) -> None:
    t0 = time.monotonic()
    with pytest.raises(NoFinger, match=r"fingerprint gt521 on /dev/.*within 0.3 s"):
        scanner.capture(timeout=0.3)
    assert time.monotonic() - t0 < 2.0
    assert sim.led is False


def test_the_led_is_what_lets_the_module_see(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(ANI, 1)
    assert scanner.finger_present() is True
    assert sim.led is False  # the look lit the LED and put it out again
    scene.lift_finger()
    assert scanner.finger_present() is False
    assert scanner.wait_removed(timeout=1.0) is True


def test_finger_slipping_off_before_the_capture_is_no_finger(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(ANI, 2)
    sim.fail_next_capture(codes.Nack.FINGER_IS_NOT_PRESSED)
    with pytest.raises(NoFinger) as info:
        scanner.capture(timeout=1.0)
    assert info.value.code == codes.Nack.FINGER_IS_NOT_PRESSED
    assert sim.led is False


def test_bad_finger_is_capture_failed_and_the_led_goes_off(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(ANI, 2)
    sim.fail_next_capture(codes.Nack.BAD_FINGER)
    with pytest.raises(CaptureFailed, match="NACK_BAD_FINGER to CAPTURE_FINGER") as info:
        scanner.capture(timeout=1.0)
    assert info.value.code == codes.Nack.BAD_FINGER
    assert sim.led is False
    assert len(scanner.capture(timeout=1.0).image.data) == codes.IMAGE_SIZE  # the next press works


def test_corrupted_reply_is_bad_checksum_then_the_link_recovers(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(ANI, 2)
    sim.corrupt_next_reply()
    with pytest.raises(BadChecksum, match="fingerprint gt521 on /dev/"):
        scanner.capture(timeout=1.0)
    assert sim.led is False
    assert scanner.capture(timeout=1.0).template is not None


def test_silence_is_a_bounded_timeout(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(ANI, 2)
    sim.set_silent(True)
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no complete answer to CMOS_LED"):
        scanner.capture(timeout=1.0)
    assert time.monotonic() - t0 < 3.0  # reply timeout 1 s + one short LED-off try
    sim.set_silent(False)
    assert scanner.finger_present() is True


def test_unplug_mid_use_is_unplugged_not_a_hang(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(ANI, 2)
    sim.unplug()
    t0 = time.monotonic()
    with pytest.raises(DeviceError) as info:
        scanner.capture(timeout=1.0)
    assert info.value.reason_id in ("unplugged", "timeout")
    assert "fingerprint gt521 on /dev/" in str(info.value)
    assert time.monotonic() - t0 < 3.0
    scanner.close()  # closing a vanished module does not raise


# -- the module's database ----------------------------------------------------------
def test_enrol_identify_verify_delete(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(ANI, 2)
    assert scanner.enroll(0, lift_between=False) is None
    assert scanner.enroll_count() == 1 and sim.enrolled_slots() == [0]
    assert scanner.is_enrolled(0) and not scanner.is_enrolled(1)

    assert scanner.identify(timeout=1.0) == 0
    assert scanner.verify(0, timeout=1.0) is True

    scene.place_finger(BUDI, 2)
    assert scanner.identify(timeout=1.0) is None
    assert scanner.verify(0, timeout=1.0) is False
    scanner.enroll(1, lift_between=False)
    assert scanner.identify(timeout=1.0) == 1

    scene.place_finger(ANI, 2)
    with pytest.raises(codec.DuplicateFinger) as info:
        scanner.enroll(2, lift_between=False)
    assert info.value.slot == 0 and "already enrolled in slot 0" in str(info.value)

    template = scanner.get_template(0)
    assert len(template) == 498
    with pytest.raises(codec.DuplicateFinger):
        scanner.set_template(5, template)
    scanner.set_template(5, template, check_duplicate=False)
    assert sim.enrolled_slots() == [0, 1, 5]

    scanner.delete(5)
    assert scanner.enroll_count() == 2
    scanner.delete_all()
    assert scanner.enroll_count() == 0 and sim.enrolled_slots() == []
    scanner.delete_all()  # already empty is fine
    assert scanner.identify(timeout=1.0) is None  # empty database: nobody
    assert sim.led is False


def test_slot_errors_name_the_nack(scanner: GT521Scanner, scene: Scene) -> None:
    with pytest.raises(DeviceError, match="NACK_INVALID_POS to CHECK_ENROLLED") as info:
        scanner.is_enrolled(3000)
    assert info.value.code == codes.Nack.INVALID_POS
    with pytest.raises(DeviceError, match="NACK_IS_NOT_USED to GET_TEMPLATE"):
        scanner.get_template(3)
    with pytest.raises(DeviceError, match="NACK_INVALID_POS to DELETE_ID"):
        scanner.delete(3)
    scene.place_finger(ANI, 3)
    scanner.enroll(3, lift_between=False)
    with pytest.raises(DeviceError, match="NACK_IS_ALREADY_USED to ENROLL_START"):
        scanner.enroll(3, lift_between=False)


def test_enrol_without_saving_returns_the_template(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    scene.place_finger(BUDI, 6)
    template = scanner.enroll(codes.ENROLL_NO_SAVE, lift_between=False)
    assert template is not None and len(template) == 498
    assert sim.enrolled_slots() == []
    scanner.set_template(9, template)
    assert scanner.identify(timeout=1.0) == 9


def test_enrol_with_the_resident_lifting_between_presses(sim: GT521Simulator, scanner: GT521Scanner, scene: Scene) -> None:
    """The driver waits for lift and press; the resident reacts to what the module is asked."""

    def resident() -> None:
        for stage in (1, 2, 3):
            scene.place_finger(ANI, 7)
            if not sim.wait_for_command(f"ENROLL{stage}", timeout=5):
                return
            scene.lift_finger()
            if stage == 3:
                return
            # Press again only after the scanner has seen the glass empty.
            seen = len(sim.history)
            if not sim.wait_for(lambda h, seen=seen: any(e.command == "IS_PRESS_FINGER" and e.result != 0 for e in h[seen:]), 5):
                return

    t = threading.Thread(target=resident, daemon=True)
    t.start()
    scanner.enroll(42, timeout=5.0)
    t.join(5)
    assert sim.enrolled_slots() == [42]
    assert [e.reply for e in sim.history if e.command.startswith("ENROLL")] == ["ACK"] * 4
    scene.place_finger(ANI, 7)
    assert scanner.identify(timeout=1.0) == 42


def test_f32_database_has_200_slots(scene: Scene) -> None:
    with GT521Simulator(scene, model="GT-521F32") as sim, make_scanner(sim) as sc:
        scene.place_finger(ANI, 1)
        sc.enroll(199, lift_between=False)
        assert sc.is_enrolled(199)
        with pytest.raises(DeviceError, match="NACK_INVALID_POS to ENROLL_START"):
            sc.enroll(200, lift_between=False)


# -- pacing: why fast_baud exists -------------------------------------------------------
def test_paced_wire_follows_the_baud_rate(scene: Scene) -> None:
    with GT521Simulator(scene, pace=True) as sim:
        with make_scanner(sim, fast_baud=None) as slow:
            t0 = time.monotonic()
            for _ in range(10):
                slow.enroll_count()
            at_9600 = time.monotonic() - t0
        with make_scanner(sim, fast_baud=115200) as fast:
            t0 = time.monotonic()
            for _ in range(10):
                fast.enroll_count()
            at_115200 = time.monotonic() - t0
            scene.place_finger(ANI, 2)
            t0 = time.monotonic()
            cap = fast.capture(timeout=2.0)
            image_time = time.monotonic() - t0
    # 10 x 24 bytes at 9600 baud is 0.25 s of wire time alone.
    assert at_9600 >= 0.24
    assert at_115200 < at_9600 / 2
    # 52,122 bytes at 115200 baud: ~4.5 s (at 9600 it would be ~54 s).
    assert 4.4 <= image_time < 20
    assert len(cap.image.data) == codes.IMAGE_SIZE


# -- config and registry ------------------------------------------------------------------
def test_from_config_validates_options(sim: GT521Simulator) -> None:
    with pytest.raises(DriverConfigError, match="'port' is required"):
        GT521Scanner.from_config({})
    with pytest.raises(DriverConfigError, match="option 'fast_baud' must be one of 9600, .*, 115200, got 12345"):
        GT521Scanner.from_config({"port": sim.port, "fast_baud": 12345})
    with pytest.raises(DriverConfigError, match="option 'model' must be one of 'GT-521F32', 'GT-521F52', got 'R307'"):
        GT521Scanner.from_config({"port": sim.port, "model": "R307"})
    with pytest.raises(DriverConfigError, match="option 'timeout' must be a number > 0, got 'soon'"):
        GT521Scanner.from_config({"port": sim.port, "timeout": "soon"})
    with pytest.raises(DriverConfigError, match="option 'device_id' must be an integer 0-65535, got 70000"):
        GT521Scanner.from_config({"port": sim.port, "device_id": 70000})
    with pytest.raises(DriverConfigError, match=f"fingerprint gt521 on {sim.port}: unknown option 'fastbaud'"):
        GT521Scanner.from_config({"port": sim.port, "fastbaud": 57600})
    sc = GT521Scanner.from_config({"port": sim.port, "fast_baud": 57600, "timeout": 1})
    assert (sc.fast_baud, sc.timeout, sc.device_id) == (57600, 1.0, 1)


def test_registry_builds_the_real_driver_for_a_port(sim: GT521Simulator, scene: Scene) -> None:
    dev = registry.create(DeviceKind.FINGERPRINT, "gt521", {"port": sim.port, "fast_baud": 115200, "timeout": 1.0})
    assert isinstance(dev, GT521Scanner)
    with dev:
        scene.place_finger(BUDI, 1)
        assert len(dev.capture(timeout=1.0).template or b"") == 498
    assert sim.baud == 9600


def test_registry_emulated_scanner_runs_and_stops_its_simulator(scene: Scene) -> None:
    dev = registry.create(DeviceKind.FINGERPRINT, "gt521-emulated", {"timeout": 1.0}, registry.DriverContext(scene=scene))
    assert isinstance(dev, GT521Scanner)
    sim = dev.simulator
    with dev:
        assert dev.identity.driver == "gt521-emulated" and dev.identity.make == "ADH-Tech"
        scene.place_finger(ANI, 2)
        cap = dev.capture(timeout=1.0)
        assert cap.image.width == 258 and cap.template is not None
        assert sim.baud == 115200
    assert not os.path.exists(sim.port)  # stopped: the pty is gone
    with pytest.raises(DeviceError, match="closed"):
        dev.capture()


def test_emulated_scanner_closed_unopened_still_stops_its_simulator(scene: Scene) -> None:
    dev = registry.create(DeviceKind.FINGERPRINT, "gt521-emulated", {"model": "GT-521F32"}, registry.DriverContext(scene=scene))
    sim = dev.simulator
    assert sim.model == "GT-521F32"
    assert os.path.exists(sim.port)
    dev.close()
    assert not os.path.exists(sim.port)


def test_emulated_scanner_checks_its_options_before_starting_a_simulator(scene: Scene) -> None:
    ctx = registry.DriverContext(scene=scene)
    with pytest.raises(DriverConfigError, match="unknown option 'port'; known: device_id, fast_baud, model, pace"):
        registry.create(DeviceKind.FINGERPRINT, "gt521-emulated", {"port": "/dev/ttyUSB0"}, ctx)
    with pytest.raises(DriverConfigError, match="option 'model' must be one of 'GT-521F32', 'GT-521F52', got 'F52'"):
        registry.create(DeviceKind.FINGERPRINT, "gt521-emulated", {"model": "F52"}, ctx)
    dev = registry.create(DeviceKind.FINGERPRINT, "gt521-emulated", {"fast_baud": None}, ctx)
    try:
        assert dev.fast_baud is None  # stays at 9600, as configured
    finally:
        dev.close()

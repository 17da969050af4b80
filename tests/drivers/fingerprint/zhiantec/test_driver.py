"""The real ZhianTec driver against the simulator over a real pty.

Covers open/identity per model, capture, settings, the registry entry points,
and every injected fault ending in the right DeviceError within its deadline.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import serial

from drivers import registry
from drivers.errors import (
    BadAddress,
    BadChecksum,
    CaptureFailed,
    DeviceCommandFailed,
    DeviceError,
    DeviceNotConnected,
    DeviceTimeout,
    DeviceUnplugged,
    DriverConfigError,
    NoFinger,
    WrongPassword,
)
from drivers.fingerprint.zhiantec import codec, messages
from drivers.fingerprint.zhiantec.codes import AuraColor, AuraMode, Confirmation
from drivers.fingerprint.zhiantec.driver import TEMPLATE_FORMAT, ZhianTecScanner
from drivers.fingerprint.zhiantec.simulator import EmulatedZhianTecScanner, Fault, ZhianTecSimulator
from drivers.scene import FingerCondition, Person, Scene
from drivers.types import DeviceKind, ImageFormat

pytestmark = pytest.mark.timeout(60)

ALICE = Person("alice-3174")


def elapsed(fn, *args, **kwargs) -> float:  # noqa: ANN001
    t0 = time.monotonic()
    fn(*args, **kwargs)
    return time.monotonic() - t0


# -- open and identity ----------------------------------------------------------


def test_open_reads_parameters_and_names_an_r307(scanner: ZhianTecScanner) -> None:
    ident = scanner.identity
    assert (ident.kind, ident.driver, ident.make, ident.model) == (
        DeviceKind.FINGERPRINT,
        "zhiantec",
        "Hangzhou Grow",
        "R30x/AS608 compatible",
    )
    assert scanner.sys_para is not None and scanner.sys_para.capacity == 1000
    assert scanner.sys_para.packet_size == 128 and scanner.sys_para.baud == 57600
    assert scanner.product_info is None  # the R307 has no ReadProdInfo


def test_r503_identity_comes_from_read_prod_info(scene: Scene) -> None:
    with ZhianTecSimulator(scene, model="R503", serial_number="SN000042") as sim:
        with ZhianTecScanner(sim.port, timeout=0.3) as sc:
            assert sc.product_info is not None and (sc.product_info.width, sc.product_info.height) == (192, 192)
            ident = sc.identity
            assert (ident.model, ident.serial, ident.firmware) == ("R503", "SN000042", "R503 V1.2")
            assert sc.spec.name == "R503" and sc.sys_para.capacity == 200


def test_self_test_reports_library_and_clear_glass(scanner: ZhianTecScanner, sim: ZhianTecSimulator) -> None:
    result = scanner.self_test()
    assert "library 0/1000" in result.detail and "sensor clear" in result.detail
    assert sim.commands("GEN_IMG") >= 1 and sim.commands("TEMPLATE_NUM") >= 1


def test_open_with_the_wrong_password_raises_wrong_password(scene: Scene) -> None:
    with ZhianTecSimulator(scene, password=0x1234) as sim:
        sc = ZhianTecScanner(sim.port, password=0x9999, timeout=0.3)
        with pytest.raises(WrongPassword, match="password"):
            sc.open()
        assert not sc.is_open
        with ZhianTecScanner(sim.port, password=0x1234, timeout=0.3) as good:
            assert good.template_count() == 0


def test_commands_before_vfypwd_are_refused_when_a_password_is_set(scene: Scene) -> None:
    with ZhianTecSimulator(scene, password=7) as sim:
        with serial.Serial(sim.port, 57600, timeout=0.5) as port:
            port.write(messages.template_num().encode())
            rx = codec.Receiver()
            deadline = time.monotonic() + 2
            frame = None
            while frame is None and time.monotonic() < deadline:
                rx.receive_data(port.read(64))
                frame = rx.next_frame()
            assert frame is not None and messages.parse_ack(frame).code == Confirmation.PASSWORD_REQUIRED


def test_open_with_the_wrong_address_raises_bad_address(scene: Scene) -> None:
    with ZhianTecSimulator(scene, address=0x11223344) as sim:
        with pytest.raises(BadAddress, match="address"):
            ZhianTecScanner(sim.port, timeout=0.3).open()
        with ZhianTecScanner(sim.port, address=0x11223344, timeout=0.3) as sc:
            assert sc.template_count() == 0


def test_a_module_that_ignores_a_wrong_address_times_out_on_open(scene: Scene) -> None:
    with ZhianTecSimulator(scene, address=0x11223344, answer_wrong_address=False) as sim:
        sc = ZhianTecScanner(sim.port, timeout=0.2)
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeout, match="check wiring, baud rate and module address"):
            sc.open()
        assert time.monotonic() - t0 < 2


def test_wrong_baud_on_the_driver_side_is_silence(scene: Scene) -> None:
    with ZhianTecSimulator(scene, baud=115200) as sim:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeout):
            ZhianTecScanner(sim.port, baud=57600, timeout=0.2).open()
        assert time.monotonic() - t0 < 2
        assert any(h.instruction == "GARBLED" for h in sim.history)


def test_missing_port_is_not_connected() -> None:
    with pytest.raises(DeviceNotConnected, match="does not exist"):
        ZhianTecScanner("/dev/rekam-no-such-port", timeout=0.2).open()


# -- capture -------------------------------------------------------------------


def test_capture_returns_the_image_and_the_module_template(
    scanner: ZhianTecScanner, scene: Scene, sim: ZhianTecSimulator
) -> None:
    scene.place_finger(ALICE, 2)
    cap = scanner.capture(timeout=2)
    img = cap.image
    assert (img.width, img.height, img.format) == (256, 288, ImageFormat.GRAY8)
    assert img.metadata["dpi"] == 500 and img.metadata["bits_per_pixel"] == 4
    pixels = np.frombuffer(img.data, np.uint8).reshape(288, 256)
    assert set(np.unique(pixels)) <= {17 * k for k in range(16)}  # 16 grey levels on the wire
    assert pixels.std() > 30  # ridges, not a blank frame
    assert cap.template is not None and len(cap.template) == 512 and cap.template_format == TEMPLATE_FORMAT
    assert "alice" not in repr(cap) and "template 512 bytes" in repr(cap)
    assert [h.instruction for h in sim.history[-4:]] == ["GEN_IMG", "UP_IMAGE", "IMG2TZ", "UP_CHAR"]


def test_capture_image_is_the_module_image_at_4_bits(
    scanner: ZhianTecScanner, scene: Scene, sim: ZhianTecSimulator
) -> None:
    scene.place_finger(ALICE, 2)
    cap = scanner.capture(timeout=2)
    expected = (sim.image_buffer >> 4) * 17  # the module's own image buffer, quantised
    assert np.array_equal(np.frombuffer(cap.image.data, np.uint8).reshape(288, 256), expected)


def test_two_captures_of_a_finger_differ_but_match(scanner: ZhianTecScanner, scene: Scene) -> None:
    from drivers.synthetic.fingerprint import MATCH_THRESHOLD, match_score

    scene.place_finger(ALICE, 7)
    a = scanner.capture(timeout=2)
    b = scanner.capture(timeout=2)
    assert a.image.data != b.image.data
    assert match_score(a.template, b.template) >= MATCH_THRESHOLD


def test_capture_waits_for_a_finger_placed_later(
    scanner: ZhianTecScanner, scene: Scene, sim: ZhianTecSimulator
) -> None:
    import threading

    def place() -> None:
        if sim.wait_for("GEN_IMG", count=sim.commands("GEN_IMG") + 3, timeout=5):
            scene.place_finger(ALICE, 1)

    t = threading.Thread(target=place)
    t.start()
    cap = scanner.capture(timeout=5)
    t.join(5)
    assert cap.template is not None
    assert sim.commands("GEN_IMG") >= 4


def test_no_finger_raises_no_finger_after_the_timeout(scanner: ZhianTecScanner) -> None:
    t0 = time.monotonic()
    with pytest.raises(NoFinger, match="no finger on the sensor within 0.3 s"):
        scanner.capture(timeout=0.3)
    assert 0.25 <= time.monotonic() - t0 < 2


def test_a_partial_print_comes_back_without_a_template(scanner: ZhianTecScanner, scene: Scene) -> None:
    scene.place_finger(ALICE, 2, FingerCondition.PARTIAL)
    cap = scanner.capture(timeout=2)
    assert cap.template is None and cap.template_format is None
    assert cap.image.metadata["template_error"] in (
        "too few features or too small a print",
        "the image is too messy to make features",
    )


def test_image_to_template_on_a_smudged_print_is_capture_failed(scanner: ZhianTecScanner, scene: Scene) -> None:
    scene.place_finger(ALICE, 2, FingerCondition.SMUDGED)
    scanner.take_image(timeout=2)
    with pytest.raises(CaptureFailed, match="feature extraction"):
        scanner.image_to_template(1)


def test_finger_present_follows_the_scene(scanner: ZhianTecScanner, scene: Scene) -> None:
    assert scanner.finger_present() is False
    scene.place_finger(ALICE, 3)
    assert scanner.finger_present() is True
    scene.lift_finger()
    assert scanner.wait_removed(timeout=1) is True


def test_r503_capture_is_192_square_at_508_dpi(scene: Scene) -> None:
    scene.place_finger(ALICE, 2)
    with ZhianTecSimulator(scene, model="R503") as sim:
        with ZhianTecScanner(sim.port, timeout=0.3) as sc:
            cap = sc.capture(timeout=2)
    assert (cap.image.width, cap.image.height, cap.image.metadata["dpi"]) == (192, 192, 508)
    assert len(cap.image.data) == 192 * 192 and cap.template is not None


# -- injected faults -------------------------------------------------------------


def test_injected_no_finger(scanner: ZhianTecScanner, scene: Scene, sim: ZhianTecSimulator) -> None:
    scene.place_finger(ALICE, 2)
    sim.inject(Fault.NO_FINGER, count=None)
    with pytest.raises(NoFinger):
        scanner.capture(timeout=0.2)
    sim.clear_faults()
    assert scanner.capture(timeout=1).template is not None


def test_injected_capture_failure(scanner: ZhianTecScanner, scene: Scene, sim: ZhianTecSimulator) -> None:
    scene.place_finger(ALICE, 2)
    sim.inject(Fault.CAPTURE_FAIL)
    with pytest.raises(CaptureFailed, match="clean the glass"):
        scanner.capture(timeout=1)
    assert scanner.capture(timeout=1).template is not None  # one-shot fault


def test_injected_bad_checksum(scanner: ZhianTecScanner, sim: ZhianTecSimulator) -> None:
    sim.inject(Fault.BAD_CHECKSUM)
    with pytest.raises(BadChecksum, match="check the cable"):
        scanner.template_count()
    assert scanner.template_count() == 0  # the next command resynchronises


def test_injected_silence_times_out_within_the_deadline(scanner: ZhianTecScanner, sim: ZhianTecSimulator) -> None:
    sim.inject(Fault.SILENCE)
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no complete reply"):
        scanner.template_count()
    assert time.monotonic() - t0 < 1.5
    sim.clear_faults()
    assert scanner.template_count() == 0


def test_silence_during_capture_is_a_timeout_not_a_hang(
    scanner: ZhianTecScanner, scene: Scene, sim: ZhianTecSimulator
) -> None:
    scene.place_finger(ALICE, 2)
    sim.inject(Fault.SILENCE)
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeout):
        scanner.capture(timeout=5)
    assert time.monotonic() - t0 < 1.5


def test_injected_unplug(scanner: ZhianTecScanner, sim: ZhianTecSimulator) -> None:
    sim.inject(Fault.UNPLUG)
    t0 = time.monotonic()
    with pytest.raises(DeviceUnplugged, match="unplugged"):
        scanner.template_count()
    with pytest.raises(DeviceNotConnected):
        scanner.template_count()
    assert time.monotonic() - t0 < 2


def test_a_host_packet_with_a_bad_checksum_gets_code_01(scanner: ZhianTecScanner, sim: ZhianTecSimulator) -> None:
    raw = bytearray(messages.template_num().encode())
    raw[-1] ^= 0x01
    scanner._link.write(bytes(raw))
    frame = scanner._read_frame(time.monotonic() + 1, "test")
    assert messages.parse_ack(frame).code == Confirmation.PACKET_RECEIVE_ERROR
    assert isinstance(scanner.error_for(Confirmation.PACKET_RECEIVE_ERROR, "x"), BadChecksum)


@pytest.mark.parametrize(
    "code, kind",
    [
        (0x02, NoFinger),
        (0x03, CaptureFailed),
        (0x06, CaptureFailed),
        (0x07, CaptureFailed),
        (0x13, WrongPassword),
        (0x21, WrongPassword),
        (0x20, BadAddress),
        (0x01, BadChecksum),
        (0x0B, DeviceCommandFailed),
        (0x18, DeviceCommandFailed),
        (0xFC, DeviceCommandFailed),
        (0x77, DeviceCommandFailed),
    ],
)
def test_every_confirmation_code_maps_to_a_named_device_error(code: int, kind: type) -> None:
    sc = ZhianTecScanner("/dev/null-port")
    err = sc.error_for(code, "storing slot 3")
    assert type(err) is kind
    assert str(err).startswith("fingerprint zhiantec: storing slot 3") and f"0x{code:02X}" in str(err)
    if kind is DeviceCommandFailed:
        assert err.code == code


# -- settings ------------------------------------------------------------------


def test_set_baud_switches_both_ends_after_the_reply(scanner: ZhianTecScanner, sim: ZhianTecSimulator) -> None:
    scanner.set_baud(115200)
    assert sim.baud == 115200 and scanner.baud == 115200
    assert scanner.sys_para.baud == 115200
    assert sim.driver_baud() == 115200
    assert scanner.template_count() == 0


def test_set_packet_size_changes_the_data_packets(
    scanner: ZhianTecScanner, sim: ZhianTecSimulator, scene: Scene
) -> None:
    scanner.set_packet_size(32)
    assert scanner.sys_para.packet_size == 32 and sim.packet_size == 32
    scene.place_finger(ALICE, 4)
    scanner.take_image(timeout=1)
    scanner.image_to_template(1)
    template = scanner.upload_template(1)
    assert len(template) == 512


def test_set_security_level(scanner: ZhianTecScanner, sim: ZhianTecSimulator) -> None:
    scanner.set_security_level(5)
    assert sim.security_level == 5 and scanner.sys_para.security_level == 5


def test_led_ring_on_the_r503(scene: Scene) -> None:
    with ZhianTecSimulator(scene, model="R503") as sim:
        with ZhianTecScanner(sim.port, timeout=0.3) as sc:
            sc.set_led(AuraMode.BREATHING, AuraColor.PURPLE, speed=0x40, cycles=3)
            assert (sim.led.mode, sim.led.color, sim.led.speed, sim.led.cycles) == (1, 3, 0x40, 3)


def test_led_ring_on_an_r307_is_a_clear_error(scanner: ZhianTecScanner) -> None:
    with pytest.raises(DeviceCommandFailed, match="R307 has no LED ring"):
        scanner.set_led(AuraMode.ON)


def test_paced_template_upload_takes_its_wire_time(scene: Scene) -> None:
    scene.place_finger(ALICE, 2)
    with ZhianTecSimulator(scene, pace=True, baud=115200) as sim:
        with ZhianTecScanner(sim.port, baud=115200, timeout=0.5) as sc:
            sc.take_image(timeout=1)
            sc.image_to_template(1)
            # The driver can read Img2Tz's reply before the simulator counts it:
            # settle every reply recorded so far, so none lands inside the window.
            assert sim.wait_replies_sent(len(sim.history), timeout=1)
            before, sent = sim.bytes_in + sim.bytes_out, sim.replies_sent
            took = elapsed(sc.upload_template, 1)
            assert sim.wait_replies_sent(sent + 1, timeout=1)  # byte counts settle once the reply has left
            wire = (sim.bytes_in + sim.bytes_out - before) * 10 / 115200
    assert wire > 0.045  # ack + 512 bytes in 4 packets, ~581 bytes
    assert took >= 0.95 * wire


# -- lifecycle and registry ---------------------------------------------------------


def test_closed_scanner_refuses_work(scanner: ZhianTecScanner) -> None:
    scanner.close()
    scanner.close()  # idempotent
    with pytest.raises(DeviceError, match="closed"):
        scanner.template_count()
    with pytest.raises(DeviceError, match="cannot reopen"):
        scanner.open()


def test_from_config_validates_options() -> None:
    with pytest.raises(DriverConfigError, match="'port' is required"):
        ZhianTecScanner.from_config({})
    with pytest.raises(DriverConfigError, match="unknown option 'buad'; known: address, baud, model, password"):
        ZhianTecScanner.from_config({"port": "/dev/x", "buad": 9600})
    with pytest.raises(DriverConfigError, match="option 'baud' must be one of 9600, 19200, .*, got 'fast'"):
        ZhianTecScanner.from_config({"port": "/dev/x", "baud": "fast"})
    with pytest.raises(DriverConfigError, match="option 'baud' must be one of .*, 115200, got 1000"):
        ZhianTecScanner.from_config({"port": "/dev/x", "baud": 1000})
    with pytest.raises(DriverConfigError, match="option 'model' must be one of .*'R503'.*, got 'R999'"):
        ZhianTecScanner.from_config({"port": "/dev/x", "model": "R999"})
    with pytest.raises(DriverConfigError, match="option 'timeout' must be a number > 0 and <= 60, got 0"):
        ZhianTecScanner.from_config({"port": "/dev/x", "timeout": 0})
    with pytest.raises(DriverConfigError, match="option 'password' must be an integer 0-4294967295") as err:
        ZhianTecScanner.from_config({"port": "/dev/x", "password": "sesame"})
    assert "sesame" not in str(err.value)  # a module password never reaches a log line
    sc = ZhianTecScanner.from_config({"port": "/dev/x", "baud": 115200, "address": 5, "timeout": 2})
    assert (sc.port, sc.baud, sc.address, sc.timeout) == ("/dev/x", 115200, 5, 2.0)


def test_registry_builds_the_real_driver(sim: ZhianTecSimulator) -> None:
    dev = registry.create(DeviceKind.FINGERPRINT, "zhiantec", {"port": sim.port, "timeout": 0.3})
    assert isinstance(dev, ZhianTecScanner)
    with dev:
        assert dev.template_count() == 0


def test_registry_emulated_scanner_runs_and_stops_its_simulator(scene: Scene) -> None:
    scene.place_finger(ALICE, 9)
    ctx = registry.DriverContext(scene=scene)
    dev = registry.create(DeviceKind.FINGERPRINT, "zhiantec-emulated", {"model": "R503", "timeout": 0.5}, ctx)
    assert isinstance(dev, EmulatedZhianTecScanner)
    sim = dev.simulator
    with dev:
        assert dev.identity.driver == "zhiantec-emulated" and dev.identity.model == "R503"
        assert dev.capture(timeout=2).template is not None
    assert not sim.running  # stopped with the driver


def test_emulated_scanner_never_opened_still_stops_its_simulator(scene: Scene) -> None:
    dev = registry.create(DeviceKind.FINGERPRINT, "zhiantec-emulated", {}, registry.DriverContext(scene=scene))
    sim = dev.simulator
    assert sim.running
    dev.close()
    assert not sim.running


def test_emulated_scanner_rejects_unknown_options(scene: Scene) -> None:
    with pytest.raises(DriverConfigError, match="unknown option 'colour'; known: .*packet_size"):
        registry.create(
            DeviceKind.FINGERPRINT, "zhiantec-emulated", {"colour": "red"}, registry.DriverContext(scene=scene)
        )


def test_emulated_scanner_checks_its_options_before_starting_a_simulator(scene: Scene) -> None:
    ctx = registry.DriverContext(scene=scene)
    with pytest.raises(DriverConfigError, match="option 'packet_size' must be one of 32, 64, 128, 256, got 100"):
        registry.create(DeviceKind.FINGERPRINT, "zhiantec-emulated", {"packet_size": 100}, ctx)
    with pytest.raises(DriverConfigError, match="option 'pace' must be true or false, got 'yes'"):
        registry.create(DeviceKind.FINGERPRINT, "zhiantec-emulated", {"pace": "yes"}, ctx)
    dev = registry.create(DeviceKind.FINGERPRINT, "zhiantec-emulated", {"packet_size": 64, "model": "R503"}, ctx)
    try:
        assert (dev.simulator.packet_size, dev.simulator.spec.name) == (64, "R503")
    finally:
        dev.close()

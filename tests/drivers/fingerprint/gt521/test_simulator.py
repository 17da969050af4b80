"""The GT-521 simulator on its own, spoken to packet by packet through a real pty.

The host here is deliberately thin (SerialLink + codec, no driver) so these
tests pin down what the emulated module does, including what the driver
never asks of it.
"""

from __future__ import annotations

import os
import termios
import time
from collections.abc import Iterator

import numpy as np
import pytest

from drivers.fingerprint.gt521 import codec, codes
from drivers.fingerprint.gt521.codec import PacketReceiver, ResponsePacket, Role
from drivers.fingerprint.gt521.codes import Nack
from drivers.fingerprint.gt521.simulator import GT521Simulator
from drivers.scene import Person, Scene
from drivers.serialport import SerialLink

ANI = Person("3372015508900001", sex="F")
BUDI = Person("3372010101850002")


class Host:
    """Send one packet, read the reply (and a data packet), with a deadline."""

    def __init__(self, port: str, baud: int = 9600) -> None:
        self.link = SerialLink(port, baud, device="test host")
        self.link.open()
        self.rx = PacketReceiver(Role.HOST)

    def ask(self, packet, data_size: int | None = None, timeout: float = 2.0) -> tuple[ResponsePacket, bytes | None]:
        self.link.write(packet.encode())
        reply = self._read(time.monotonic() + timeout)
        assert isinstance(reply, ResponsePacket)
        if data_size is None or not reply.ack:
            return reply, None
        self.rx.expect_data(data_size)
        data = self._read(time.monotonic() + timeout)
        return reply, data.data

    def _read(self, deadline: float):
        while (p := self.rx.next_packet()) is None:
            self.rx.receive_data(self.link.read_some(deadline))
        return p

    def nack(self, packet) -> int:
        reply, _ = self.ask(packet)
        assert not reply.ack, f"expected a NACK to {packet.name}"
        return reply.parameter

    def ok(self, packet, data_size: int | None = None):
        reply, data = self.ask(packet, data_size)
        assert reply.ack, f"{packet.name} got {reply.error_name}"
        return reply.parameter if data_size is None else data


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


@pytest.fixture
def host(sim: GT521Simulator) -> Iterator[Host]:
    h = Host(sim.port)
    try:
        yield h
    finally:
        h.link.close()


def capture(host: Host, scene: Scene, person: Person, position: int) -> None:
    scene.place_finger(person, position)
    host.ok(codec.capture_finger(True))


def test_port_powers_up_at_9600(sim: GT521Simulator) -> None:
    fd = os.open(sim.port, os.O_RDWR | os.O_NOCTTY)
    try:
        assert termios.tcgetattr(fd)[5] == termios.B9600
    finally:
        os.close(fd)


def test_open_with_and_without_extra_info(sim: GT521Simulator, host: Host) -> None:
    info = codec.parse_open_info(host.ok(codec.open_(True), codes.OPEN_INFO_SIZE))
    assert info.serial_number == sim.serial_number and info.firmware_version == 0x20120306
    assert host.ok(codec.open_(False)) == 0
    # Nothing followed the plain Open: the next exchange is clean.
    assert host.ok(codec.get_enroll_count()) == 0


def test_optical_sensor_sees_nothing_with_the_led_off(sim: GT521Simulator, host: Host, scene: Scene) -> None:
    scene.place_finger(ANI, 2)
    assert host.ok(codec.is_press_finger()) != 0
    assert host.nack(codec.capture_finger(True)) == Nack.FINGER_IS_NOT_PRESSED
    host.ok(codec.cmos_led(True))
    assert host.ok(codec.is_press_finger()) == 0
    host.ok(codec.capture_finger(True))
    scene.lift_finger()
    assert host.ok(codec.is_press_finger()) != 0


def test_raw_image_is_a_live_preview(sim: GT521Simulator, host: Host, scene: Scene) -> None:
    dark = host.ok(codec.get_raw_image(), codes.RAW_IMAGE_SIZE)
    assert dark == bytes(codes.RAW_IMAGE_SIZE)
    host.ok(codec.cmos_led(True))
    empty = np.frombuffer(host.ok(codec.get_raw_image(), codes.RAW_IMAGE_SIZE), np.uint8)
    assert empty.std() == 0 and empty.mean() > 200
    scene.place_finger(BUDI, 1)
    finger = np.frombuffer(host.ok(codec.get_raw_image(), codes.RAW_IMAGE_SIZE), np.uint8)
    assert finger.std() > 20


def test_baud_change_takes_effect_after_the_ack(sim: GT521Simulator, host: Host) -> None:
    assert host.nack(codec.change_baud_rate(14400)) == Nack.INVALID_BAUDRATE
    host.ok(codec.change_baud_rate(57600))  # this ACK still came at 9600
    assert sim.wait_for_baud(57600, timeout=5)
    host.link.write(codec.get_enroll_count().encode())  # still at 9600: noise to the module
    assert sim.wait_for(lambda h: h[-1].reply.startswith("ignored: host at 9600"), timeout=2)
    host.link.baud = 57600
    host.rx.reset()
    assert host.ok(codec.get_enroll_count()) == 0


def test_garbled_command_gets_comm_err(sim: GT521Simulator, host: Host) -> None:
    raw = bytearray(codec.get_enroll_count().encode())
    raw[-1] ^= 0x01
    host.link.write(bytes(raw))
    reply = host._read(time.monotonic() + 2)
    assert reply == ResponsePacket(False, Nack.COMM_ERR)
    assert host.ok(codec.get_enroll_count()) == 0


def test_unknown_command_is_not_supported(host: Host) -> None:
    assert host.nack(codec.CommandPacket(0x99, 0)) == Nack.IS_NOT_SUPPORTED


def test_enrolment_steps_must_come_in_order(host: Host, scene: Scene) -> None:
    host.ok(codec.cmos_led(True))
    assert host.nack(codec.enroll(1)) == Nack.TURN_ERR  # no EnrollStart
    host.ok(codec.enroll_start(0))
    assert host.nack(codec.enroll(2)) == Nack.TURN_ERR
    assert host.nack(codec.enroll(1)) == Nack.BAD_FINGER  # nothing captured yet
    capture(host, scene, ANI, 2)
    host.ok(codec.enroll(1))
    assert host.nack(codec.enroll(2)) == Nack.BAD_FINGER  # each stage needs its own capture


def test_three_presses_of_different_fingers_do_not_enrol(sim: GT521Simulator, host: Host, scene: Scene) -> None:
    host.ok(codec.cmos_led(True))
    host.ok(codec.enroll_start(0))
    capture(host, scene, ANI, 2)
    host.ok(codec.enroll(1))
    capture(host, scene, BUDI, 2)
    assert host.nack(codec.enroll(2)) == Nack.ENROLL_FAILED
    capture(host, scene, ANI, 2)
    assert host.nack(codec.enroll(3)) == Nack.TURN_ERR  # the failed enrolment is over
    assert sim.enrolled_slots() == []


def test_duplicate_finger_nack_carries_the_slot(sim: GT521Simulator, host: Host, scene: Scene) -> None:
    host.ok(codec.cmos_led(True))
    for slot in (17, 18):
        host.ok(codec.enroll_start(slot))
        for stage in (1, 2, 3):
            capture(host, scene, ANI, 9)
            reply, _ = host.ask(codec.enroll(stage))
    assert reply == ResponsePacket(False, 17)  # the parameter is the slot, not an error code
    assert sim.enrolled_slots() == [17]


def test_database_answers(sim: GT521Simulator, host: Host, scene: Scene) -> None:
    host.ok(codec.cmos_led(True))
    assert host.nack(codec.identify()) == Nack.DB_IS_EMPTY
    assert host.nack(codec.delete_all()) == Nack.DB_IS_EMPTY
    assert host.nack(codec.verify(3)) == Nack.IS_NOT_USED
    assert host.nack(codec.verify(3000)) == Nack.INVALID_POS
    assert host.nack(codec.check_enrolled(3)) == Nack.IS_NOT_USED
    assert host.nack(codec.get_template(-1 & 0xFFFF)) == Nack.INVALID_POS
    template = bytes(range(256)) + bytes(242)
    host.ok(codec.set_template(3, check_duplicate=False))
    host.ok(codec.data_packet(template))
    assert host.ok(codec.check_enrolled(3)) == 0
    assert host.ok(codec.get_template(3), codes.TEMPLATE_SIZE) == template
    assert host.ok(codec.get_enroll_count()) == 1
    host.ok(codec.delete_id(3))
    assert host.nack(codec.delete_id(3)) == Nack.INVALID_POS


def test_full_database_refuses_enrolment(scene: Scene) -> None:
    with GT521Simulator(scene, model="GT-521F32") as sim:
        host = Host(sim.port)
        try:
            for slot in range(200):
                host.ok(codec.set_template(slot, check_duplicate=False))
                host.ok(codec.data_packet(slot.to_bytes(2, "little") * 249))
            assert host.ok(codec.get_enroll_count()) == 200
            assert host.nack(codec.enroll_start(5)) == Nack.DB_IS_FULL
            assert host.nack(codec.enroll_start(200)) == Nack.INVALID_POS
        finally:
            host.link.close()


def test_each_capture_differs_but_the_finger_is_the_same(sim: GT521Simulator, host: Host, scene: Scene) -> None:
    from drivers.synthetic import fingerprint as synthetic

    host.ok(codec.cmos_led(True))
    capture(host, scene, ANI, 4)
    a_img = host.ok(codec.get_image(), codes.IMAGE_SIZE)
    a_tpl = host.ok(codec.make_template(), codes.TEMPLATE_SIZE)
    capture(host, scene, ANI, 4)
    b_img = host.ok(codec.get_image(), codes.IMAGE_SIZE)
    b_tpl = host.ok(codec.make_template(), codes.TEMPLATE_SIZE)
    capture(host, scene, BUDI, 4)
    c_tpl = host.ok(codec.make_template(), codes.TEMPLATE_SIZE)
    assert a_img != b_img
    assert synthetic.match_score(a_tpl, b_tpl) >= synthetic.MATCH_THRESHOLD
    assert synthetic.match_score(a_tpl, c_tpl) < synthetic.MATCH_THRESHOLD


def test_history_records_codes_not_biometrics(sim: GT521Simulator, host: Host, scene: Scene) -> None:
    host.ok(codec.cmos_led(True))
    capture(host, scene, ANI, 4)
    host.ok(codec.get_image(), codes.IMAGE_SIZE)
    for event in sim.history:
        assert isinstance(event.parameter, int) and isinstance(event.result, int) and len(event.reply) < 80
    assert [e.command for e in sim.history] == ["CMOS_LED", "CAPTURE_FINGER", "GET_IMAGE"]

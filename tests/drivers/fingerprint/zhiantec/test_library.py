"""The module's template library, through the real driver and the simulator on a pty.

Enrollment is driven the way a resident does it: the test thread plays the
finger (place, lift, place again) while the driver enrolls on another thread,
each step waiting on the simulator's answered-command history.
"""

from __future__ import annotations

import threading

import pytest
import serial

from drivers.errors import DeviceCommandFailed, WrongPassword
from drivers.fingerprint.zhiantec import codec, messages
from drivers.fingerprint.zhiantec.codes import READY_BYTE, Confirmation
from drivers.fingerprint.zhiantec.driver import ZhianTecScanner
from drivers.fingerprint.zhiantec.simulator import ZhianTecSimulator
from drivers.scene import Person, Scene
from drivers.synthetic import fingerprint as synth

pytestmark = pytest.mark.timeout(60)

ALICE, BUDI, CITRA = Person("alice-3174"), Person("budi-0001"), Person("citra-0042")

SCANNER_TIMEOUT = 0.5  # enrollment replies take longer (see conftest.py)


def enroll_in_background(scanner: ZhianTecScanner, **kwargs):  # noqa: ANN003, ANN201
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["slot"] = scanner.enroll(**kwargs)
        except Exception as exc:  # handed to the test thread
            result["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, result


def press_twice(scene: Scene, sim: ZhianTecSimulator, first: Person, second: Person, position: int) -> None:
    """Place, wait for the features, lift, wait until the module has seen the clear glass, place again."""
    scene.place_finger(first, position)
    assert sim.wait_for("IMG2TZ", count=sim.commands("IMG2TZ") + 1, timeout=5)
    scene.lift_finger()
    # Two GenImg answered after the lift: at least one of them saw no finger.
    assert sim.wait_for("GEN_IMG", count=sim.commands("GEN_IMG") + 2, timeout=5)
    scene.place_finger(second, position)


def store_template(scanner: ZhianTecScanner, template: bytes, slot: int) -> None:
    scanner.download_template(template, 1)
    scanner.store(slot, 1)


def test_enroll_two_presses_then_identify(scanner: ZhianTecScanner, scene: Scene, sim: ZhianTecSimulator) -> None:
    t, result = enroll_in_background(scanner, timeout=5)
    press_twice(scene, sim, ALICE, ALICE, 2)
    t.join(10)
    assert result.get("slot") == 0, result.get("error")
    assert scanner.template_count() == 1 and scanner.index_table() == {0}
    scene.lift_finger()
    scene.place_finger(ALICE, 2)
    found = scanner.identify(timeout=2)
    assert found is not None and found.page == 0 and found.score >= synth.MATCH_THRESHOLD
    scene.place_finger(BUDI, 2)
    assert scanner.identify(timeout=2) is None


def test_enroll_refuses_two_different_fingers(scanner: ZhianTecScanner, scene: Scene, sim: ZhianTecSimulator) -> None:
    t, result = enroll_in_background(scanner, slot=4, timeout=5)
    press_twice(scene, sim, ALICE, BUDI, 2)
    t.join(10)
    err = result.get("error")
    assert isinstance(err, DeviceCommandFailed) and err.code == Confirmation.ENROLL_MISMATCH
    assert "not of one finger" in str(err)
    assert scanner.template_count() == 0


def test_search_finds_each_stored_finger_in_its_slot(scanner: ZhianTecScanner, scene: Scene) -> None:
    people = {10: (ALICE, 2), 11: (BUDI, 7), 512: (CITRA, 1)}
    for slot, (person, pos) in people.items():
        store_template(scanner, synth.template_from_image(synth.render(person.person_id, pos, capture_seed=900)), slot)
    assert scanner.template_count() == 3
    assert scanner.index_table() == {10, 11, 512}  # 512 sits on index page 2
    for slot, (person, pos) in people.items():
        scene.place_finger(person, pos)
        found = scanner.identify(timeout=2)
        assert found is not None and found.page == slot
    scene.place_finger(ALICE, 3)  # same person, another finger
    assert scanner.identify(timeout=2) is None


def test_search_range_limits_the_slots_looked_at(scanner: ZhianTecScanner, scene: Scene) -> None:
    store_template(scanner, synth.template_from_image(synth.render(ALICE.person_id, 2, capture_seed=901)), 50)
    scene.place_finger(ALICE, 2)
    scanner.take_image(timeout=2)
    scanner.image_to_template(1)
    assert scanner.search(1, start=0, count=50) is None
    assert scanner.search(1, start=50, count=1).page == 50


def test_searching_a_full_library_answers_within_the_deadline(scanner: ZhianTecScanner, scene: Scene) -> None:
    strangers = [synth.template_from_image(synth.render(f"stranger-{i}", 1 + i % 10)) for i in range(8)]
    for slot in range(1000):
        store_template(scanner, strangers[slot % len(strangers)], slot)
    store_template(scanner, synth.template_from_image(synth.render(ALICE.person_id, 6, capture_seed=77)), 777)
    assert scanner.template_count() == 1000
    scene.place_finger(ALICE, 6)
    found = scanner.identify(timeout=2)  # Search gets the reply timeout plus the module's 2 s search time
    assert found is not None and found.page == 777


def test_delete_and_empty(scanner: ZhianTecScanner) -> None:
    t = synth.template_from_image(synth.render("del-me", 1))
    for slot in (1, 2, 3):
        store_template(scanner, t, slot)
    scanner.delete(2)
    assert scanner.index_table() == {1, 3}
    scanner.delete(1, count=3)
    assert scanner.template_count() == 0
    store_template(scanner, t, 7)
    scanner.empty()
    assert scanner.template_count() == 0 and scanner.index_table() == frozenset()


def test_library_bounds_are_the_module_codes(scanner: ZhianTecScanner) -> None:
    t = synth.template_from_image(synth.render("bounds", 1))
    scanner.download_template(t, 1)
    with pytest.raises(DeviceCommandFailed) as beyond:
        scanner.store(1000, 1)  # R307 slots are 0..999
    assert beyond.value.code == Confirmation.BAD_LOCATION and "outside the library" in str(beyond.value)
    with pytest.raises(DeviceCommandFailed) as empty_slot:
        scanner.load(5, 1)
    assert empty_slot.value.code == Confirmation.DB_READ_FAIL
    with pytest.raises(DeviceCommandFailed) as bad_delete:
        scanner.delete(999, count=2)
    assert bad_delete.value.code == Confirmation.DELETE_FAIL


def test_templates_download_upload_load_and_compare(scanner: ZhianTecScanner) -> None:
    a = synth.template_from_image(synth.render("cmp", 3, capture_seed=1))
    b = synth.template_from_image(synth.render("cmp", 3, capture_seed=2))
    other = synth.template_from_image(synth.render("cmp-other", 3))
    scanner.download_template(a, 1)
    assert scanner.upload_template(1) == a
    scanner.store(20, 1)
    scanner.download_template(b, 2)
    scanner.load(20, 1)
    assert scanner.compare() == synth.match_score(a, b) >= synth.MATCH_THRESHOLD
    scanner.download_template(other, 2)
    assert scanner.compare() == 0


def test_library_survives_reopening_the_driver(sim: ZhianTecSimulator) -> None:
    t = synth.template_from_image(synth.render("keep", 1))
    with ZhianTecScanner(sim.port, timeout=0.5) as first:
        store_template(first, t, 9)
    with ZhianTecScanner(sim.port, timeout=0.5) as second:
        assert second.index_table() == {9}


def _raw(port: str, command: messages.Command, extra: int = 0) -> tuple[messages.Ack, bytes]:
    """Send one command on a plain pyserial port; read the ack by its length, then ``extra`` bytes."""
    with serial.Serial(port, 57600, timeout=1.0) as s:
        s.write(command.encode())
        head = s.read(codec.HEADER_SIZE)
        assert len(head) == codec.HEADER_SIZE, "no reply"
        body = s.read((head[7] << 8) | head[8])
        rx = codec.Receiver()
        rx.receive_data(head + body)
        frame = rx.next_frame()
        assert frame is not None
        return messages.parse_ack(frame), s.read(extra) if extra else b""


@pytest.mark.parametrize("model, code", [("R307", 0x01), ("AS608", 0x01), ("FPM10A", 0x01), ("R503", 0xFC)])
def test_instructions_a_model_lacks_get_its_error_code(scene: Scene, model: str, code: int) -> None:
    with ZhianTecSimulator(scene, model=model) as sim:
        ack, _ = _raw(sim.port, messages.Command(0x77))
        assert ack.code == code
        prod, _ = _raw(sim.port, messages.read_prod_info())
        assert (prod.code == 0) == (model == "R503")


def test_malformed_parameters_are_a_packet_error(sim: ZhianTecSimulator) -> None:
    ack, _ = _raw(sim.port, messages.Command(0x02, b""))  # Img2Tz without its buffer id
    assert ack.code == Confirmation.PACKET_RECEIVE_ERROR


def test_r503_soft_reset_sends_the_ready_byte_and_forgets_the_password(scene: Scene) -> None:
    with ZhianTecSimulator(scene, model="R503", password=42) as sim:
        with ZhianTecScanner(sim.port, model="R503", password=42, timeout=0.5) as sc:
            assert sc.template_count() == 0
        ack, tail = _raw(sim.port, messages.soft_rst(), extra=1)
        assert ack.ok and tail == bytes([READY_BYTE]) and sim.resets == 1
        ack, _ = _raw(sim.port, messages.template_num())
        assert ack.code == Confirmation.PASSWORD_REQUIRED
        with pytest.raises(WrongPassword):
            ZhianTecScanner(sim.port, password=41, timeout=0.5).open()


def test_notepad_and_random_code(sim: ZhianTecSimulator) -> None:
    ack, _ = _raw(sim.port, messages.write_notepad(3, b"station-07"))
    assert ack.ok
    page, _ = _raw(sim.port, messages.read_notepad(3))
    assert messages.parse_notepad(page).rstrip(b"\0") == b"station-07"
    r1, _ = _raw(sim.port, messages.get_random_code())
    r2, _ = _raw(sim.port, messages.get_random_code())
    assert messages.parse_random(r1) != messages.parse_random(r2)

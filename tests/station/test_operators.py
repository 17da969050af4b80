"""Operator accounts: argon2 PINs on disk, roles, supervisor-made accounts, lockout that survives a restart."""

from __future__ import annotations

import threading

import pytest

from drivers.registry import DriverContext, create
from drivers.scene import Person, Scene
from drivers.types import DeviceKind
from station.operators import LockedOut, LoginFailed, NotAllowed, OperatorError, OperatorStore, Role
from station.operators import finger


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def store(tmp_path):
    clock = Clock()
    s = OperatorStore(tmp_path / "operators.db", max_failures=3, lockout_s=60, clock=clock).open()
    s.clock = clock
    s.add("sup-1", "Sari", "2468", [Role.SUPERVISOR])
    yield s
    s.close()


def test_pins_are_argon2_hashes_and_the_first_account_must_be_a_supervisor(tmp_path, store):
    store.add("op-1", "Budi", "135790", [Role.OPERATOR], by=("sup-1", "2468"))
    files = list(tmp_path.glob("operators.db*"))
    raw = b"".join(f.read_bytes() for f in files)
    assert b"135790" not in raw and b"$argon2id$" in raw
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)
    assert store.verify("op-1", "135790").roles == {Role.OPERATOR}
    empty = OperatorStore(tmp_path / "other.db").open()
    with pytest.raises(OperatorError, match="first account"):
        empty.add("op-1", "Budi", "1357", [Role.OPERATOR])
    empty.close()


def test_only_a_supervisor_makes_accounts(store):
    store.add("op-1", "Budi", "1357", [Role.OPERATOR], by=("sup-1", "2468"))
    with pytest.raises(OperatorError, match="supervisor must"):
        store.add("op-2", "Ani", "1357", [Role.OPERATOR])
    with pytest.raises(NotAllowed):
        store.add("op-2", "Ani", "1357", [Role.OPERATOR], by=("op-1", "1357"))
    with pytest.raises(OperatorError, match="4 to 12 digits"):
        store.add("op-3", "Ani", "12a4", [Role.OPERATOR], by=("sup-1", "2468"))
    with pytest.raises(OperatorError, match="lower-case"):
        store.add("Op 3", "Ani", "1234", [Role.OPERATOR], by=("sup-1", "2468"))


def test_lockout_after_repeated_failures_survives_a_restart_and_ends(tmp_path, store):
    store.add("op-1", "Budi", "1357", [Role.OPERATOR], by=("sup-1", "2468"))
    for left in (2, 1):
        with pytest.raises(LoginFailed) as err:
            store.verify("op-1", "0000")
        assert err.value.params["left"] == left
    with pytest.raises(LoginFailed):
        store.verify("op-1", "0000")
    store.close()
    again = OperatorStore(tmp_path / "operators.db", max_failures=3, lockout_s=60, clock=store.clock).open()
    with pytest.raises(LockedOut):
        again.verify("op-1", "1357")  # the right PIN does not help while locked
    store.clock.now += 61
    assert again.verify("op-1", "1357").operator_id == "op-1"
    again.close()


def test_a_right_pin_does_not_forgive_wrong_fingers(store):
    """The PIN once cleared the failures before the finger was checked: wrong fingers never locked."""
    store.add("op-1", "Budi", "1357", [Role.OPERATOR], by=("sup-1", "2468"))
    store.set_finger_slot("op-1", 7)
    for _ in range(3):  # right PIN, wrong finger, three times
        store.verify("op-1", "1357")
        store.record_failure("op-1")
    with pytest.raises(LockedOut):
        store.verify("op-1", "1357")
    store.clock.now += 61
    store.verify("op-1", "1357")
    store.record_failure("op-1")
    store.verify("op-1", "1357")
    store.record_success("op-1")  # the finger passed: now the slate is clean
    for _ in range(2):
        store.verify("op-1", "1357")
        store.record_failure("op-1")
    store.verify("op-1", "1357")  # 2 of 3: not locked


def test_every_account_error_has_words_in_both_languages():
    import ast
    from pathlib import Path

    import station.operators
    from station import i18n

    whys = set()
    for f in Path(station.operators.__file__).parent.glob("*.py"):
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.keyword) and n.arg == "why" and isinstance(n.value, ast.Constant):
                whys.add(n.value.value)
    assert len(whys) >= 8
    for why in whys:
        assert {"id", "en"} <= set(i18n.MESSAGES[f"e.operator_{why}"]), why
    err = OperatorError("operator op-1 already exists", why="exists", operator="op-1")
    assert err.reason_id == "operator_exists"
    assert i18n.t("id", f"e.{err.reason_id}", **err.params) == "Petugas op-1 sudah ada"


def test_unknown_ids_are_counted_too_and_roles_are_enforced(store):
    for _ in range(3):
        with pytest.raises(LoginFailed):
            store.verify("nobody", "1234")
    with pytest.raises(LockedOut):
        store.verify("nobody", "1234")
    store.add("op-1", "Budi", "1357", [Role.OPERATOR], by=("sup-1", "2468"))
    with pytest.raises(NotAllowed):
        store.verify("op-1", "1357", role=Role.TECHNICIAN)
    assert store.supervisor_check("sup-1", "2468") and not store.supervisor_check("op-1", "1357")


def test_an_operators_finger_lives_in_the_scanner_and_matches_one_to_one():
    scene = Scene(time_scale=0.0)
    scanner = create(DeviceKind.FINGERPRINT, "zhiantec-emulated", {}, DriverContext(scene=scene))
    scanner.open()
    try:
        operator, other = Person("op-finger-1", "M", 1985), Person("someone-else", "F", 1970)
        scene.place_finger(operator, 2)
        stop = threading.Event()

        def lift_and_place():  # the module asks for the finger twice, lifted in between
            if not stop.wait(0.5):
                scene.lift_finger()
            if not stop.wait(0.5):
                scene.place_finger(operator, 2)

        t = threading.Thread(target=lift_and_place)
        t.start()
        try:
            slot = finger.enroll(scanner, timeout=5)
        finally:
            stop.set()
            t.join()
        assert finger.verify(scanner, slot, timeout=5) is True
        scene.place_finger(other, 2)
        assert finger.verify(scanner, slot, timeout=5) is False
    finally:
        scanner.close()

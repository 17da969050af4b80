"""Trainer mode: someone plays the resident in front of emulated devices.

On a station whose devices are all emulated (and only there), a new operator
can practise a whole enrollment: the trainer panel of the kiosk calls this
module to step the resident up to the camera, place a given finger, sign, and
choose how well it goes (blurred, off-centre, no face, smudged, partial,
shaky) or which fault strikes (a device unplugged or silent, a pen stuck on
the pad). It only changes the :class:`~drivers.scene.Scene` and uses the
simulators' own fault injection; the workflow and the quality gates find out
as they would with hardware, from the pixels, samples and bytes.

The synthetic resident gets the sex and birth year of the NIK being enrolled
(so the backdrop and the confirmation come out right) and a random identity:
never the NIK.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from drivers.errors import DeviceError
from drivers.scene import FaceCondition, FingerCondition, Person, Scene, SignatureCondition
from drivers.signature.topaz_codec import PenReport, encode_report
from drivers.types import DeviceKind
from protocol.nik import NIK
from station.devices import Devices

#: Drivers that run on simulators; a station with any other driver has no trainer mode.
EMULATED = {DeviceKind.CAMERA: {"emulated"}, DeviceKind.FINGERPRINT: {"zhiantec-emulated", "gt521-emulated"},
            DeviceKind.SIGNATURE: {"topaz-emulated"}, DeviceKind.INDICATORS: {"emulated"}}


class TrainerUnavailable(DeviceError):
    reason_id = "trainer_unavailable"


def all_emulated(devices: Devices) -> bool:
    names = devices.driver_names()
    return all(names.get(kind.value) in allowed for kind, allowed in EMULATED.items())


class Trainer:
    def __init__(self, scene: Scene, devices: Devices) -> None:
        if not all_emulated(devices):
            raise TrainerUnavailable("trainer mode needs every device emulated")
        self.scene = scene
        self.devices = devices
        self.resident = Person(f"trainee-{secrets.token_hex(4)}", "F", 1990)
        self._stuck: threading.Event | None = None

    # -- the resident --------------------------------------------------------
    def new_resident(self, nik: NIK) -> Person:
        self.release_pen()
        self.scene.clear()
        self.resident = Person(f"trainee-{secrets.token_hex(4)}", nik.sex, nik.birth_date.year)
        return self.resident

    def step_up(self, condition: FaceCondition | str = FaceCondition.GOOD) -> None:
        condition = FaceCondition(condition)
        person = None if condition is FaceCondition.NO_FACE else self.resident
        self.scene.stand(person, condition)

    def leave_camera(self) -> None:
        self.scene.leave_camera()

    def place_finger(self, position: int, condition: FingerCondition | str = FingerCondition.GOOD) -> None:
        self.scene.place_finger(self.resident, int(position), FingerCondition(condition))

    def lift_finger(self) -> None:
        self.scene.lift_finger()

    def sign(self, condition: SignatureCondition | str = SignatureCondition.GOOD) -> None:
        self.scene.sign(self.resident, SignatureCondition(condition))

    # -- faults ---------------------------------------------------------------
    def _simulator(self, kind: DeviceKind) -> Any:
        try:
            device = self.devices.get(kind)
        except DeviceError:
            return None  # already gone: nothing to unplug
        return getattr(device, "simulator", None)

    def unplug(self, kind: DeviceKind | str) -> bool:
        """Pull the device's cable (the workflow plugs a new simulator back in on its next try)."""
        sim = self._simulator(DeviceKind(kind))
        if sim is None:
            return False
        sim.unplug()
        return True

    def silence(self, kind: DeviceKind | str, silent: bool = True) -> bool:
        """The device stops answering (its driver times out) until restored."""
        sim = self._simulator(DeviceKind(kind))
        if sim is None:
            return False
        sim.set_silent(silent)
        return True

    def stick_pen(self, rate_hz: float = 100.0) -> None:
        """The pen rests on the pad: pen-down reports at one spot until :meth:`release_pen`."""
        sim = self._simulator(DeviceKind.SIGNATURE)
        if sim is None or self._stuck is not None:
            return
        stop = self._stuck = threading.Event()
        cal = sim.model.calibration
        x, y = cal.normalised_to_raw(0.5, 0.5)
        report = encode_report(PenReport(x=x, y=y, pen_down=True, in_proximity=True), bits=sim.model.bits)

        def run() -> None:
            while not stop.wait(1.0 / rate_hz):
                sim.send(report)

        threading.Thread(target=run, name="trainer-stuck-pen", daemon=True).start()

    def release_pen(self) -> None:
        stop, self._stuck = self._stuck, None
        if stop is not None:
            stop.set()

    @property
    def pen_stuck(self) -> bool:
        return self._stuck is not None

    def close(self) -> None:
        self.release_pen()

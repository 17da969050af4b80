"""A third-party GT-521F52 driver from PyPI, unmodified, against our simulator.

The package ``GT-521F52`` (module ``GT_521F52``) was written for the real
module; if it can enrol and identify through our pty, the simulator speaks
the real protocol and not just our own reading of it.
"""

from __future__ import annotations

import pytest

from drivers.fingerprint.gt521 import codes
from drivers.fingerprint.gt521.simulator import GT521Simulator
from drivers.scene import Person, Scene

ANI = Person("3372015508900001", sex="F")
BUDI = Person("3372010101850002")


# The library reads replies one byte at a time with a 2 s timeout per byte and
# no overall deadline; bound the whole test so a regression cannot hang CI.
@pytest.mark.timeout(60)
def test_gt521f52_library_enrols_and_identifies_on_the_simulator() -> None:
    # Imported here: the library calls logging.basicConfig(DEBUG) at import,
    # which is harmless only while pytest's own handler is installed.
    from GT_521F52.GT_521F52 import PyFingerprint_GT_521F52

    scene = Scene()
    with GT521Simulator(scene) as sim:
        # It reads the port's speed with `stty -F`, opens there, sends Open,
        # then switches the module to 115200.
        fp = PyFingerprint_GT_521F52(port=sim.port)
        serial_port = fp._PyFingerprint_GT_521F52__serial  # only to close it at the end
        try:
            assert sim.wait_for_baud(115200, timeout=5)
            assert sim.commands()[:2] == ["OPEN", "CHANGE_BAUD_RATE"]

            scene.place_finger(ANI, 2)
            assert fp.set_Led() is True
            assert fp.is_Press_Finger() == 0
            assert fp.Enroll_Start(0) is True
            for stage in (1, 2, 3):
                assert fp.CaptureFinger_Enroll() is True
                assert fp.enroll(stage) is True
            assert fp.enroll_Count() == 1
            assert sim.enrolled_slots() == [0]

            assert fp.CaptureFinger_Identification() is True
            assert fp.Identify() == 0

            scene.place_finger(BUDI, 2)
            assert fp.CaptureFinger_Identification() is True
            assert fp.Identify() is False  # NACK_IDENTIFY_FAILED, as the library expects it

            template = fp.get_Template(0)
            assert len(template.data) == codes.TEMPLATE_SIZE

            with pytest.raises(ValueError, match="occupied"):
                fp.Enroll_Start(0)
            assert fp.off_Led() is True
            assert sim.led is False
            assert fp.close() is True
        finally:
            serial_port.close()

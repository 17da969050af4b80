"""An operator's own finger as a second factor, matched 1:1 on the station's scanner.

The template never touches the station's disk: it is enrolled into the
fingerprint module's own library (both supported families keep one), and the
operator store keeps only the slot number. Verifying captures the finger on
the glass and has the module compare it with that one slot (1:1, not a
search). Operator slots count down from the top of the library so they stay
clear of anything a third-party tool puts at the bottom.

Scanners without a library (a third-party driver) cannot do this; the kiosk
then offers PIN login only and says why.
"""

from __future__ import annotations

from drivers.fingerprint.gt521.driver import GT521Scanner
from drivers.fingerprint.zhiantec.driver import ZhianTecScanner
from drivers.interfaces import FingerprintScanner
from station.operators.store import OperatorError


def supported(scanner: FingerprintScanner) -> bool:
    return isinstance(scanner, (ZhianTecScanner, GT521Scanner))


def enroll(scanner: FingerprintScanner, *, timeout: float = 10.0) -> int:
    """Take the finger on the glass (placed, lifted, placed again) into a free slot; returns the slot."""
    if isinstance(scanner, ZhianTecScanner):
        used = scanner.index_table()
        capacity = scanner.sys_para.capacity if scanner.sys_para else scanner.spec.capacity
        slot = next((s for s in range(capacity - 1, -1, -1) if s not in used), None)
        if slot is None:
            raise OperatorError("the scanner's finger library is full", why="finger_full")
        return scanner.enroll(slot, timeout=timeout)
    if isinstance(scanner, GT521Scanner):
        for slot in range((scanner.capacity or 200) - 1, -1, -1):
            if not scanner.is_enrolled(slot):
                scanner.enroll(slot, timeout)
                return slot
        raise OperatorError("the scanner's finger library is full", why="finger_full")
    raise OperatorError("this fingerprint scanner cannot keep operator fingers", why="no_finger_scanner")


def verify(scanner: FingerprintScanner, slot: int, *, timeout: float = 10.0) -> bool:
    """Is the finger on the glass the one enrolled in ``slot``?"""
    if isinstance(scanner, ZhianTecScanner):
        scanner.take_image(timeout)
        scanner.image_to_template(1)
        scanner.load(slot, 2)
        return scanner.compare() > 0
    if isinstance(scanner, GT521Scanner):
        return scanner.verify(slot, timeout)
    raise OperatorError("this fingerprint scanner cannot keep operator fingers", why="no_finger_scanner")


def forget(scanner: FingerprintScanner, slot: int) -> None:
    if isinstance(scanner, (ZhianTecScanner, GT521Scanner)):
        scanner.delete(slot)

"""What the emulated ADH-Tech GT-521F32/F52 does for each command.

Owns the command set as the module's firmware runs it: Open and Close, the
baud change (after its ACK), the CMOS LED, IsPressFinger (an optical sensor
sees no finger in the dark), CaptureFinger from the scene, templates and
images, the in-memory enrolment database with its three-step enrolment,
merge and duplicate check, 1:1 and 1:N matching, and SetTemplate's data
phase. A mixin of :class:`~drivers.fingerprint.gt521.simulator.GT521Simulator`,
which owns the wire, the replies, the history and the faults.

Rules: each handler takes the command's name and parameter and answers
exactly once through ``_reply_ack`` or ``_reply_nack``; the handler table
:attr:`CommandSet._HANDLERS` answers anything missing from it with
NACK_IS_NOT_SUPPORTED. Matching uses :func:`drivers.synthetic.fingerprint.match_score`
against its MATCH_THRESHOLD.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from drivers.fingerprint.gt521 import codec, codes
from drivers.fingerprint.gt521.codes import Command, Nack
from drivers.scene import Scene
from drivers.synthetic import fingerprint as synthetic

#: What IsPressFinger answers when the glass is empty (any non-zero value means "no finger").
NOT_PRESSED = 1


@dataclass
class _Capture:
    pixels: np.ndarray = field(repr=False)
    template: bytes | None = field(default=None, repr=False)


@dataclass
class _Enrolment:
    slot: int | None  # None: EnrollStart(-1), Enroll3 hands the template back
    stage: int = 1
    templates: list[bytes] = field(default_factory=list, repr=False)


class CommandSet:
    """The module's answers to commands (see the module docs)."""

    # State supplied by GT521Simulator.
    scene: Scene
    baud: int
    capacity: int
    led: bool
    serial_number: bytes
    firmware_version: int
    _rx: codec.PacketReceiver
    _db: dict[int, bytes]
    _enrolment: _Enrolment | None
    _capture: _Capture | None
    _captures: int
    _pending_set: tuple[int, bool] | None
    _capture_faults: collections.deque[int]
    _changed: threading.Condition

    if TYPE_CHECKING:

        def _reply_ack(self, name: str, parameter: int, result: int = 0, data: bytes | None = None) -> None: ...

        def _reply_nack(self, name: str, parameter: int, code: int) -> None: ...

    def _on_command(self, p: codec.CommandPacket) -> None:
        name, param = p.name, p.parameter
        handler = self._HANDLERS.get(p.command)
        if handler is None:
            self._reply_nack(name, param, Nack.IS_NOT_SUPPORTED)
            return
        handler(self, name, param)

    def _open(self, name: str, param: int) -> None:
        info = codec.OpenInfo(self.firmware_version, 0, self.serial_number)
        self._reply_ack(name, param, data=info.encode() if param else None)

    def _close(self, name: str, param: int) -> None:
        self._reply_ack(name, param)

    def _change_baud(self, name: str, param: int) -> None:
        if param not in codes.BAUD_RATES:
            self._reply_nack(name, param, Nack.INVALID_BAUDRATE)
            return
        self._reply_ack(name, param)  # send() returns once the ACK is on the wire
        with self._changed:
            self.baud = param
            self._changed.notify_all()

    def _cmos_led(self, name: str, param: int) -> None:
        self.led = bool(param)
        self._reply_ack(name, param)

    def _get_enroll_count(self, name: str, param: int) -> None:
        self._reply_ack(name, param, len(self._db))

    def _check_enrolled(self, name: str, param: int) -> None:
        if not self._valid_slot(param):
            self._reply_nack(name, param, Nack.INVALID_POS)
        elif param in self._db:
            self._reply_ack(name, param)
        else:
            self._reply_nack(name, param, Nack.IS_NOT_USED)

    def _enroll_start(self, name: str, param: int) -> None:
        self._enrolment = None
        slot = param - (1 << 32) if param & 0x80000000 else param
        if slot == codes.ENROLL_NO_SAVE:
            self._enrolment = _Enrolment(None)
        elif not self._valid_slot(slot):
            self._reply_nack(name, param, Nack.INVALID_POS)
            return
        elif len(self._db) >= self.capacity:
            self._reply_nack(name, param, Nack.DB_IS_FULL)
            return
        elif slot in self._db:
            self._reply_nack(name, param, Nack.IS_ALREADY_USED)
            return
        else:
            self._enrolment = _Enrolment(slot)
        self._reply_ack(name, param)

    def _enroll_n(self, name: str, param: int) -> None:
        stage = {Command.ENROLL1.name: 1, Command.ENROLL2.name: 2, Command.ENROLL3.name: 3}[name]
        e = self._enrolment
        if e is None or e.stage != stage:
            self._reply_nack(name, param, Nack.TURN_ERR)
            return
        capture, self._capture = self._capture, None  # each stage needs its own capture
        if capture is None:
            self._reply_nack(name, param, Nack.BAD_FINGER)
            return
        template = self._template(capture)
        if e.templates and synthetic.match_score(e.templates[0], template) < synthetic.MATCH_THRESHOLD:
            self._enrolment = None  # three views of different fingers: start over
            self._reply_nack(name, param, Nack.ENROLL_FAILED)
            return
        e.templates.append(template)
        e.stage += 1
        if stage < 3:
            self._reply_ack(name, param)
            return
        self._enrolment = None
        merged = _merge(e.templates)
        duplicate = self._best_match(merged)
        if duplicate is not None:
            self._reply_nack(name, param, duplicate)  # a slot number below 0x1000
        elif e.slot is None:
            self._reply_ack(name, param, data=merged)
        else:
            self._db[e.slot] = merged
            self._reply_ack(name, param)

    def _is_press_finger(self, name: str, param: int) -> None:
        self._reply_ack(name, param, 0 if self._finger_visible() else NOT_PRESSED)

    def _delete_id(self, name: str, param: int) -> None:
        if not self._valid_slot(param) or param not in self._db:
            self._reply_nack(name, param, Nack.INVALID_POS)
            return
        del self._db[param]
        self._reply_ack(name, param)

    def _delete_all(self, name: str, param: int) -> None:
        if not self._db:
            self._reply_nack(name, param, Nack.DB_IS_EMPTY)
            return
        self._db.clear()
        self._reply_ack(name, param)

    def _verify(self, name: str, param: int) -> None:
        if not self._valid_slot(param):
            self._reply_nack(name, param, Nack.INVALID_POS)
        elif param not in self._db:
            self._reply_nack(name, param, Nack.IS_NOT_USED)
        elif self._capture is None:
            self._reply_nack(name, param, Nack.FINGER_IS_NOT_PRESSED)
        elif synthetic.match_score(self._db[param], self._template(self._capture)) >= synthetic.MATCH_THRESHOLD:
            self._reply_ack(name, param)
        else:
            self._reply_nack(name, param, Nack.VERIFY_FAILED)

    def _identify(self, name: str, param: int) -> None:
        if not self._db:
            self._reply_nack(name, param, Nack.DB_IS_EMPTY)
        elif self._capture is None:
            self._reply_nack(name, param, Nack.FINGER_IS_NOT_PRESSED)
        else:
            slot = self._best_match(self._template(self._capture))
            if slot is None:
                self._reply_nack(name, param, Nack.IDENTIFY_FAILED)
            else:
                self._reply_ack(name, param, slot)

    def _capture_finger(self, name: str, param: int) -> None:
        view = self.scene.finger if self._finger_visible() else None
        if view is None:
            self._capture = None
            self._reply_nack(name, param, Nack.FINGER_IS_NOT_PRESSED)
            return
        if self._capture_faults:
            self._capture = None
            self._reply_nack(name, param, self._capture_faults.popleft())
            return
        self._captures += 1
        pixels = synthetic.render(
            view.person.person_id,
            view.position,
            view.condition,
            width=codes.IMAGE_WIDTH,
            height=codes.IMAGE_HEIGHT,
            capture_seed=self._captures,
        )
        self._capture = _Capture(np.ascontiguousarray(pixels, dtype=np.uint8))
        self._reply_ack(name, param)

    def _make_template(self, name: str, param: int) -> None:
        if self._capture is None:
            self._reply_nack(name, param, Nack.FINGER_IS_NOT_PRESSED)
            return
        self._reply_ack(name, param, data=self._template(self._capture))

    def _get_image(self, name: str, param: int) -> None:
        if self._capture is None:
            self._reply_nack(name, param, Nack.FINGER_IS_NOT_PRESSED)
            return
        self._reply_ack(name, param, data=self._capture.pixels.tobytes())

    def _get_raw_image(self, name: str, param: int) -> None:
        """A live preview: what the camera sees now, dark with the LED off."""
        view = self.scene.finger
        if not self.led:
            frame = bytes(codes.RAW_IMAGE_SIZE)
        elif view is None:
            frame = b"\xe6" * codes.RAW_IMAGE_SIZE  # lit, empty glass
        else:
            self._captures += 1
            pixels = synthetic.render(
                view.person.person_id,
                view.position,
                view.condition,
                width=codes.RAW_IMAGE_WIDTH,
                height=codes.RAW_IMAGE_HEIGHT,
                capture_seed=self._captures,
            )
            frame = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
        self._reply_ack(name, param, data=frame)

    def _get_template(self, name: str, param: int) -> None:
        if not self._valid_slot(param):
            self._reply_nack(name, param, Nack.INVALID_POS)
        elif param not in self._db:
            self._reply_nack(name, param, Nack.IS_NOT_USED)
        else:
            self._reply_ack(name, param, data=self._db[param])

    def _set_template(self, name: str, param: int) -> None:
        slot, check_duplicate = param & 0xFFFF, (param >> 16) == 0
        if not self._valid_slot(slot):
            self._reply_nack(name, param, Nack.INVALID_POS)
            return
        self._pending_set = (slot, check_duplicate)
        self._reply_ack(name, param)
        self._rx.expect_data(codes.TEMPLATE_SIZE)

    def _on_template_data(self, template: bytes) -> None:
        pending, self._pending_set = self._pending_set, None
        if pending is None:
            return
        slot, check_duplicate = pending
        name = "SET_TEMPLATE data"
        duplicate = self._best_match(template, exclude=slot) if check_duplicate else None
        if duplicate is not None:
            self._reply_nack(name, slot, duplicate)
            return
        self._db[slot] = bytes(template)
        self._reply_ack(name, slot)

    _HANDLERS: ClassVar[dict[int, Callable[[CommandSet, str, int], None]]] = {
        Command.OPEN: _open,
        Command.CLOSE: _close,
        Command.CHANGE_BAUD_RATE: _change_baud,
        Command.CMOS_LED: _cmos_led,
        Command.GET_ENROLL_COUNT: _get_enroll_count,
        Command.CHECK_ENROLLED: _check_enrolled,
        Command.ENROLL_START: _enroll_start,
        Command.ENROLL1: _enroll_n,
        Command.ENROLL2: _enroll_n,
        Command.ENROLL3: _enroll_n,
        Command.IS_PRESS_FINGER: _is_press_finger,
        Command.DELETE_ID: _delete_id,
        Command.DELETE_ALL: _delete_all,
        Command.VERIFY: _verify,
        Command.IDENTIFY: _identify,
        Command.CAPTURE_FINGER: _capture_finger,
        Command.MAKE_TEMPLATE: _make_template,
        Command.GET_IMAGE: _get_image,
        Command.GET_RAW_IMAGE: _get_raw_image,
        Command.GET_TEMPLATE: _get_template,
        Command.SET_TEMPLATE: _set_template,
    }

    # -- helpers -----------------------------------------------------------------------
    def _valid_slot(self, slot: int) -> bool:
        return 0 <= slot < self.capacity

    def _finger_visible(self) -> bool:
        """Optical sensor: no light, no finger."""
        return self.led and self.scene.finger is not None

    def _template(self, capture: _Capture) -> bytes:
        if capture.template is None:
            capture.template = synthetic.template_from_image(capture.pixels, size=codes.TEMPLATE_SIZE)
        return capture.template

    def _best_match(self, template: bytes, *, exclude: int | None = None) -> int | None:
        best, best_score = None, synthetic.MATCH_THRESHOLD - 1
        for slot, stored in sorted(self._db.items()):
            if slot == exclude:
                continue
            score = synthetic.match_score(stored, template)
            if score > best_score:
                best, best_score = slot, score
        return best


def _merge(templates: list[bytes]) -> bytes:
    """Stand-in for the module's merge: keep the view that agrees best with the others."""
    def agreement(i: int) -> int:
        return sum(synthetic.match_score(templates[i], t) for j, t in enumerate(templates) if j != i)

    return templates[max(range(len(templates)), key=agreement)]

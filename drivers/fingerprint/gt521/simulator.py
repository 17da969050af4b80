"""An emulated ADH-Tech GT-521F32/F52 module on a pseudo-terminal.

Owns the module's behaviour as the host sees it over the wire: the in-memory
enrolment database (slots 0..199 on the F32, 0..2999 on the F52), the
three-step enrolment and its merge, 1:1 and 1:N matching, the CMOS LED (the
module is optical: with the LED off it sees no finger), the baud rate (a
change takes effect after its ACK, and bytes sent at any other rate are line
noise), and the faults a station meets in the field (:meth:`fail_next_capture`
with NACK_BAD_FINGER or NACK_FINGER_IS_NOT_PRESSED, :meth:`corrupt_next_reply`,
``set_silent``, ``unplug``). It reads the scene for whose finger is on the
glass and renders it with :mod:`drivers.synthetic.fingerprint`; it is never
told a capture is bad.

Also the ``gt521-emulated`` registry factory, :func:`emulated_scanner`: a
simulator plus the real :class:`GT521Scanner` on its port.

Rules: bytes are understood only through :mod:`drivers.fingerprint.gt521.codec`; every command
is recorded in :attr:`GT521Simulator.history` (names and codes, never images
or templates) so tests can wait on it instead of sleeping.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import termios
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from drivers.errors import BadChecksum, DriverConfigError
from drivers.fingerprint.gt521 import codec, codes
from drivers.fingerprint.gt521.codes import Command, Nack
from drivers.fingerprint.gt521.driver import GT521Scanner
from drivers.pty_simulator import PtySimulator
from drivers.registry import DriverContext, option
from drivers.scene import Scene
from drivers.synthetic import fingerprint as synthetic

log = logging.getLogger(__name__)

#: What IsPressFinger answers when the glass is empty (any non-zero value means "no finger").
NOT_PRESSED = 1
DEFAULT_FIRMWARE = 0x20120306


@dataclass(frozen=True)
class SimEvent:
    """One command the module answered: for tests and the demo's device log."""

    command: str
    parameter: int
    reply: str  # "ACK", "NACK_...", "duplicate of slot N", "ignored", "COMM_ERR"
    result: int  # the reply's parameter
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Capture:
    pixels: np.ndarray = field(repr=False)
    template: bytes | None = field(default=None, repr=False)


@dataclass
class _Enrolment:
    slot: int | None  # None: EnrollStart(-1), Enroll3 hands the template back
    stage: int = 1
    templates: list[bytes] = field(default_factory=list, repr=False)


class GT521Simulator(PtySimulator):
    """Speaks the GT-521 protocol on a pty, reading fingers from a :class:`Scene`."""

    def __init__(
        self,
        scene: Scene,
        *,
        model: str = "GT-521F52",
        baud: int = codes.DEFAULT_BAUD,
        pace: bool = False,
        device_id: int = codes.DEFAULT_DEVICE_ID,
        serial_number: bytes | None = None,
        firmware_version: int = DEFAULT_FIRMWARE,
        strict_baud: bool = True,
        capture_seed: int = 0,
    ) -> None:
        if model not in codes.CAPACITY:
            raise ValueError(f"model must be one of {', '.join(codes.CAPACITY)}, got {model!r}")
        if baud not in codes.BAUD_RATES:
            raise ValueError(f"baud must be one of {', '.join(map(str, codes.BAUD_RATES))}, got {baud}")
        super().__init__(baud=baud, pace=pace)
        self.description = f"ADH-Tech {model} simulator"
        self.scene = scene
        self.model = model
        self.capacity = codes.CAPACITY[model]
        self.device_id = device_id
        self.serial_number = serial_number or hashlib.sha256(f"rekam {model} simulator".encode()).digest()[:16]
        self.firmware_version = firmware_version
        #: Drop bytes the driver sent at a rate other than ours, as a real UART garbles them.
        self.strict_baud = strict_baud
        self._rx = codec.PacketReceiver(codec.Role.MODULE, device=self.description)
        self._state = threading.Lock()
        self._changed = threading.Condition()
        self._db: dict[int, bytes] = {}
        self._enrolment: _Enrolment | None = None
        self._capture: _Capture | None = None
        self._captures = capture_seed
        self._pending_set: tuple[int, bool] | None = None
        self._capture_faults: collections.deque[int] = collections.deque()
        self._corrupt_next = False
        self.led = False
        #: Every answered (or ignored) command, oldest first.
        self.history: list[SimEvent] = []
        #: Bursts of bytes dropped because the driver's rate was not ours.
        self.baud_mismatches = 0

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> GT521Simulator:
        super().start()
        if self._slave is not None:
            # A fresh pty claims 38400; a module powers up at 9600, and tools
            # such as ``stty -F`` should say so before anyone opens the port.
            attrs = termios.tcgetattr(self._slave)
            speed = getattr(termios, f"B{self.baud}")
            attrs[4] = attrs[5] = speed
            termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        return self

    # -- faults and scene-independent levers ------------------------------------
    def fail_next_capture(self, code: int = Nack.BAD_FINGER) -> None:
        """The next CaptureFinger answers NACK ``code`` (BAD_FINGER: smeared; FINGER_IS_NOT_PRESSED: slipped off)."""
        with self._state:
            self._capture_faults.append(int(code))

    def corrupt_next_reply(self) -> None:
        """Spoil the checksum of the next response packet, as line noise would."""
        with self._state:
            self._corrupt_next = True

    def enrolled_slots(self) -> list[int]:
        with self._state:
            return sorted(self._db)

    # -- waiting on what happened -----------------------------------------------
    def wait_for(self, predicate: Callable[[list[SimEvent]], bool], timeout: float) -> bool:
        """Block until ``predicate(history)`` holds; False at the deadline."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.history), timeout)

    def wait_for_command(self, name: str, count: int = 1, timeout: float = 5.0) -> bool:
        return self.wait_for(lambda h: sum(e.command == name for e in h) >= count, timeout)

    def wait_for_baud(self, baud: int, timeout: float = 5.0) -> bool:
        """The switch lands just after the ACK leaves, so a host may see the ACK first."""
        with self._changed:
            return self._changed.wait_for(lambda: self.baud == baud, timeout)

    def commands(self) -> list[str]:
        with self._changed:
            return [e.command for e in self.history]

    # -- bytes from the driver ----------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        if self.strict_baud:
            theirs = self.driver_baud()
            if theirs is not None and theirs != self.baud:
                self.baud_mismatches += 1
                self._rx.reset()  # framing errors: nothing of this survives
                self._record("(noise)", 0, f"ignored: host at {theirs} baud, module at {self.baud}", 0)
                return
        self._rx.receive_data(data)
        while True:
            try:
                packet = self._rx.next_packet()
            except BadChecksum:
                with self._state:
                    self._pending_set = None
                    self._reply_nack("(garbled)", 0, Nack.COMM_ERR)
                continue
            if packet is None:
                return
            if packet.device_id != self.device_id:
                self._record(command_label(packet), getattr(packet, "parameter", 0), "ignored: other device id", 0)
                continue
            try:
                with self._state:
                    if isinstance(packet, codec.DataPacket):
                        self._on_template_data(packet.data)
                    else:
                        assert isinstance(packet, codec.CommandPacket)
                        self._on_command(packet)
            except Exception:  # a simulator bug answers like a module fault, never hangs the host
                log.exception("%s failed on %s", self.description, command_label(packet))
                self._reply_nack(command_label(packet), 0, Nack.DEV_ERR)

    # -- replies ------------------------------------------------------------------
    def _reply(self, name: str, parameter: int, ack: bool, result: int, data: bytes | None = None) -> None:
        raw = codec.ResponsePacket(ack, result, self.device_id).encode()
        if self._corrupt_next:
            self._corrupt_next = False
            raw = raw[:-1] + bytes([raw[-1] ^ 0xFF])
        if data is not None:
            raw += codec.DataPacket(data, self.device_id).encode()
        self._record(name, parameter, "ACK" if ack else codes.nack_name(result), result)
        self.send(raw)

    def _reply_ack(self, name: str, parameter: int, result: int = 0, data: bytes | None = None) -> None:
        self._reply(name, parameter, True, result, data)

    def _reply_nack(self, name: str, parameter: int, code: int) -> None:
        self._reply(name, parameter, False, int(code))

    def _record(self, name: str, parameter: int, reply: str, result: int) -> None:
        with self._changed:
            self.history.append(SimEvent(name, parameter, reply, result))
            self._changed.notify_all()

    # -- commands -------------------------------------------------------------------
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

    _HANDLERS: ClassVar[dict[int, Callable[[GT521Simulator, str, int], None]]] = {
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


def command_label(packet: codec.Packet) -> str:
    return packet.name if isinstance(packet, codec.CommandPacket) else "data packet"


# -- registry factory ---------------------------------------------------------------
class EmulatedGT521Scanner(GT521Scanner):
    """The real driver on a simulator's port; closing it stops the simulator."""

    driver_name = "gt521-emulated"

    def __init__(self, simulator: GT521Simulator, **kwargs: Any) -> None:
        self.simulator = simulator
        super().__init__(simulator.port, **kwargs)

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self.simulator.stop()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.simulator.stop()  # also when it was never opened


def emulated_scanner(options: Mapping[str, Any], context: DriverContext) -> EmulatedGT521Scanner:
    """``fingerprint.gt521-emulated``: options model, pace, fast_baud, timeout, device_id."""
    label = "fingerprint gt521-emulated"
    model = option(options, "model", str, "GT-521F52", device=label)
    if model not in codes.CAPACITY:
        raise DriverConfigError(f"option 'model' must be one of {', '.join(codes.CAPACITY)}, got {model!r}", device=label)
    fast = option(options, "fast_baud", int, 115200, device=label) if options.get("fast_baud", 0) is not None else None
    simulator = GT521Simulator(
        context.scene,
        model=model,
        pace=option(options, "pace", bool, False, device=label),
        device_id=option(options, "device_id", int, codes.DEFAULT_DEVICE_ID, device=label),
    ).start()
    try:
        return EmulatedGT521Scanner(
            simulator,
            fast_baud=fast,
            device_id=simulator.device_id,
            timeout=option(options, "timeout", float, 2.0, device=label),
            poll_interval=option(options, "poll_interval", float, 0.02, device=label),
        )
    except BaseException:
        simulator.stop()
        raise


__all__ = ["EmulatedGT521Scanner", "GT521Simulator", "SimEvent", "emulated_scanner"]

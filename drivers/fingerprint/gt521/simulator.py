"""An emulated ADH-Tech GT-521F32/F52 module on a pseudo-terminal.

Owns the module as the host sees it over the wire: bytes in through the
codec, replies out (with the faults a station meets in the field:
:meth:`fail_next_capture` with NACK_BAD_FINGER or NACK_FINGER_IS_NOT_PRESSED,
:meth:`corrupt_next_reply`, ``set_silent``, ``unplug``), the baud rate (bytes
sent at any other rate are line noise), and the history tests wait on. What
the module does for each command (the enrolment database, slots 0..199 on the
F32 and 0..2999 on the F52, three-step enrolment and merge, 1:1 and 1:N
matching, the CMOS LED, captures from the scene rendered with
:mod:`drivers.synthetic.fingerprint`) is
:class:`~drivers.fingerprint.gt521.sim_commands.CommandSet`'s, mixed in. It is
never told a capture is bad.

Also the ``gt521-emulated`` registry factory, :func:`emulated_scanner`: a
simulator plus the real :class:`GT521Scanner` on its port.

Rules: bytes are understood only through :mod:`drivers.fingerprint.gt521.codec`;
every command is recorded in :attr:`GT521Simulator.history` (names and codes,
never images or templates) so tests can wait on it instead of sleeping.
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
from typing import Any

from drivers.errors import BadChecksum
from drivers.fingerprint.gt521 import codec, codes
from drivers.fingerprint.gt521.codes import Nack
from drivers.fingerprint.gt521.driver import GT521Scanner
from drivers.fingerprint.gt521.options import EmulatedGT521Options
from drivers.fingerprint.gt521.sim_commands import CommandSet
from drivers.pty_simulator import PtySimulator
from drivers.registry import DriverContext, parse_options
from drivers.scene import Scene

log = logging.getLogger(__name__)

DEFAULT_FIRMWARE = 0x20120306


@dataclass(frozen=True)
class SimEvent:
    """One command the module answered: for tests and the demo's device log."""

    command: str
    parameter: int
    reply: str  # "ACK", "NACK_...", "duplicate of slot N", "ignored", "COMM_ERR"
    result: int  # the reply's parameter
    at: float = field(default_factory=time.monotonic)


class GT521Simulator(CommandSet, PtySimulator):
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
        self._enrolment = None
        self._capture = None
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
    """``fingerprint.gt521-emulated``: a simulator on ``context.scene`` and the real driver on its port."""
    o = parse_options(EmulatedGT521Options, options, device="fingerprint gt521-emulated")
    simulator = GT521Simulator(context.scene, model=o.model, pace=o.pace, device_id=o.device_id).start()
    try:
        return EmulatedGT521Scanner(
            simulator,
            fast_baud=o.fast_baud,
            device_id=simulator.device_id,
            timeout=o.timeout,
            poll_interval=o.poll_interval,
        )
    except BaseException:
        simulator.stop()
        raise


__all__ = ["EmulatedGT521Scanner", "GT521Simulator", "SimEvent", "emulated_scanner"]

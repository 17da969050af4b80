"""The ADH-Tech GT-521F32/F52 (and GT-511C3) UART protocol, without I/O.

Owns the bytes on the wire and nothing else: packet shapes, checksums,
builders for every command the drivers use, parsers for their answers, and
the mapping from a NACK code to a DeviceError; the numbers themselves are
:mod:`drivers.fingerprint.gt521.codes`'s. No
serial ports, no threads, no clocks: bytes in, packets out; packets in,
bytes out (the h11 habit).

Wire format (all integers little-endian; checksum = low 16 bits of the byte
sum of everything before it):

* command and response packets, 12 bytes:
  ``55 AA | device id (2) | parameter (4) | command or ACK/NACK (2) | checksum (2)``;
  on a NACK the parameter is the error code (or, below 0x1000, the slot of a
  duplicate finger).
* data packets: ``5A A5 | device id (2) | data | checksum (2)``.
  They carry no length: the receiver only knows it from the command that
  asked for them, so the caller states it with :meth:`PacketReceiver.expect_data`.

Reader contract (as h11's readers state theirs): :meth:`PacketReceiver.next_packet`
consumes bytes and returns one packet, returns None for "need more data", or
raises :class:`~drivers.errors.BadChecksum`. Bytes before a start code are
garbage and are dropped (counted in ``discarded``); after a bad checksum only
the start code is dropped, so a good packet hiding behind it is still found.

Biometric payloads (images, templates) never appear in a repr or a message.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

from drivers.errors import BadChecksum, CaptureFailed, DeviceCommandFailed, DeviceError, DeviceProtocolError, NoFinger
from drivers.fingerprint.gt521.codes import (
    ACK,
    DEFAULT_DEVICE_ID,
    DUPLICATE_LIMIT,
    IMAGE_SIZE,
    NACK,
    OPEN_INFO_SIZE,
    RAW_IMAGE_SIZE,
    TEMPLATE_SIZE,
    Command,
    Nack,
    command_name,
    nack_name,
)

COMMAND_START = b"\x55\xaa"
DATA_START = b"\x5a\xa5"
PACKET_SIZE = 12
#: Start code, device id and checksum around a data packet's payload.
DATA_OVERHEAD = 6


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Low 16 bits of the byte sum."""
    return sum(data) & 0xFFFF


# -- packets ------------------------------------------------------------------
def _encode12(device_id: int, parameter: int, code: int) -> bytes:
    body = COMMAND_START + struct.pack("<HIH", device_id & 0xFFFF, parameter & 0xFFFFFFFF, code & 0xFFFF)
    return body + struct.pack("<H", checksum(body))


@dataclass(frozen=True)
class CommandPacket:
    """Host to module: one command and its 32-bit parameter."""

    command: int
    parameter: int = 0
    device_id: int = DEFAULT_DEVICE_ID

    def encode(self) -> bytes:
        return _encode12(self.device_id, self.parameter, self.command)

    @property
    def name(self) -> str:
        return command_name(self.command)

    @property
    def signed_parameter(self) -> int:
        """The parameter as the module reads it for slots (-1 = no slot)."""
        return self.parameter - (1 << 32) if self.parameter & 0x80000000 else self.parameter


@dataclass(frozen=True)
class ResponsePacket:
    """Module to host: ACK with a result, or NACK with an error code."""

    ack: bool
    parameter: int = 0
    device_id: int = DEFAULT_DEVICE_ID

    def encode(self) -> bytes:
        return _encode12(self.device_id, self.parameter, ACK if self.ack else NACK)

    @property
    def error_name(self) -> str:
        return "ACK" if self.ack else nack_name(self.parameter)


@dataclass(frozen=True)
class DataPacket:
    """A payload (info, image, template) following an ACK, or sent after SetTemplate's ACK."""

    data: bytes = field(repr=False)
    device_id: int = DEFAULT_DEVICE_ID

    def encode(self) -> bytes:
        body = DATA_START + struct.pack("<H", self.device_id & 0xFFFF) + bytes(self.data)
        return body + struct.pack("<H", checksum(body))

    def __repr__(self) -> str:  # payloads are biometric: size only
        return f"DataPacket({len(self.data)} bytes, device {self.device_id})"


Packet = CommandPacket | ResponsePacket | DataPacket


class Role(enum.Enum):
    """Which end of the wire a receiver sits on; decides what a 12-byte packet is."""

    HOST = "host"  # reads ResponsePackets (the driver)
    MODULE = "module"  # reads CommandPackets (the simulator)


class PacketReceiver:
    """Turns a byte stream into packets for one end of the link.

    Two reader states, as in h11: awaiting a 12-byte packet (syncs on 55 AA),
    or awaiting a data packet of a size the caller announced with
    :meth:`expect_data` (syncs on 5A A5). A data packet is only read when
    announced; in the other state its bytes are garbage.
    """

    def __init__(self, role: Role, *, device: str | None = None, max_buffer: int = 1 << 20) -> None:
        self.role = role
        self.device = device
        self._buf = bytearray()
        self._data_size: int | None = None
        self._max_buffer = max_buffer
        #: Garbage bytes dropped while looking for a start code.
        self.discarded = 0

    # -- state ---------------------------------------------------------------
    def expect_data(self, size: int) -> None:
        """The next packet is a data packet carrying ``size`` payload bytes."""
        if size < 0:
            raise ValueError(f"data size must be >= 0, got {size}")
        self._data_size = size

    def cancel_data(self) -> None:
        """Stop waiting for a data packet (the caller gave up on it)."""
        self._data_size = None

    @property
    def expecting_data(self) -> int | None:
        return self._data_size

    def reset(self) -> None:
        """Forget buffered bytes and any expected data (a new transaction starts)."""
        self._buf.clear()
        self._data_size = None

    @property
    def buffered(self) -> int:
        return len(self._buf)

    # -- bytes in, packets out -----------------------------------------------
    def receive_data(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > self._max_buffer:
            # A stream that never syncs must not eat the station's memory.
            excess = len(self._buf) - self._max_buffer
            del self._buf[:excess]
            self.discarded += excess

    def next_packet(self) -> Packet | None:
        if self._data_size is None:
            return self._next_short()
        return self._next_data(self._data_size)

    def _sync(self, start: bytes) -> bool:
        """Drop bytes before ``start``; True when the buffer now begins with it."""
        i = self._buf.find(start)
        if i < 0:
            # Keep a trailing first byte: it may be half of the next start code.
            keep = 1 if self._buf[-1:] == start[:1] else 0
            drop = len(self._buf) - keep
            if drop:
                del self._buf[:drop]
                self.discarded += drop
            return False
        if i:
            del self._buf[:i]
            self.discarded += i
        return True

    def _next_short(self) -> CommandPacket | ResponsePacket | None:
        if not self._sync(COMMAND_START) or len(self._buf) < PACKET_SIZE:
            return None
        raw = bytes(self._buf[:PACKET_SIZE])
        device_id, parameter, code, got = struct.unpack("<HIHH", raw[2:])
        want = checksum(raw[:10])
        if got != want:
            del self._buf[:2]  # resync just past this start code
            raise BadChecksum(
                f"packet checksum is 0x{got:04X}, expected 0x{want:04X}: noise on the serial line?",
                device=self.device,
            )
        del self._buf[:PACKET_SIZE]
        if self.role is Role.MODULE:
            return CommandPacket(code, parameter, device_id)
        if code not in (ACK, NACK):
            raise DeviceProtocolError(
                f"reply code 0x{code:04X} is neither ACK nor NACK: is this a GT-521 module?",
                device=self.device,
            )
        return ResponsePacket(code == ACK, parameter, device_id)

    def _next_data(self, size: int) -> DataPacket | None:
        total = size + DATA_OVERHEAD
        if not self._sync(DATA_START) or len(self._buf) < total:
            return None
        view = memoryview(self._buf)
        try:
            (device_id,) = struct.unpack_from("<H", view, 2)
            (got,) = struct.unpack_from("<H", view, total - 2)
            want = checksum(view[: total - 2])
            payload = bytes(view[4 : total - 2]) if got == want else b""
        finally:
            view.release()
        if got != want:
            del self._buf[:2]
            self._data_size = None  # the announced packet came and was spoiled
            raise BadChecksum(
                f"data packet checksum is 0x{got:04X}, expected 0x{want:04X} "
                f"({size} bytes): noise on the serial line?",
                device=self.device,
            )
        del self._buf[:total]
        self._data_size = None
        return DataPacket(payload, device_id)


# -- command builders ---------------------------------------------------------
def _cmd(command: Command, parameter: int = 0, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return CommandPacket(int(command), parameter & 0xFFFFFFFF, device_id)


def open_(extra_info: bool = True, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    """Open; with ``extra_info`` the ACK is followed by a 24-byte :class:`OpenInfo`."""
    return _cmd(Command.OPEN, 1 if extra_info else 0, device_id)


def close(*, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.CLOSE, 0, device_id)


def change_baud_rate(baud: int, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    """The module answers at the old rate, then switches."""
    return _cmd(Command.CHANGE_BAUD_RATE, baud, device_id)


def cmos_led(on: bool, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.CMOS_LED, 1 if on else 0, device_id)


def get_enroll_count(*, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.GET_ENROLL_COUNT, 0, device_id)


def check_enrolled(slot: int, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.CHECK_ENROLLED, slot, device_id)


def enroll_start(slot: int, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    """``slot`` = :data:`ENROLL_NO_SAVE` makes Enroll3 return the template instead of storing it."""
    return _cmd(Command.ENROLL_START, slot, device_id)


def enroll(stage: int, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    if stage not in (1, 2, 3):
        raise ValueError(f"enroll stage must be 1, 2 or 3, got {stage}")
    return _cmd(Command(Command.ENROLL1 + stage - 1), 0, device_id)


def is_press_finger(*, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.IS_PRESS_FINGER, 0, device_id)


def delete_id(slot: int, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.DELETE_ID, slot, device_id)


def delete_all(*, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.DELETE_ALL, 0, device_id)


def verify(slot: int, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.VERIFY, slot, device_id)


def identify(*, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.IDENTIFY, 0, device_id)


def capture_finger(best: bool = True, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    """Best (slow) for enrolment and the record; fast for a quick 1:1 check."""
    return _cmd(Command.CAPTURE_FINGER, 1 if best else 0, device_id)


def make_template(*, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.MAKE_TEMPLATE, 0, device_id)


def get_image(*, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.GET_IMAGE, 0, device_id)


def get_raw_image(*, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.GET_RAW_IMAGE, 0, device_id)


def get_template(slot: int, *, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    return _cmd(Command.GET_TEMPLATE, slot, device_id)


def set_template(slot: int, *, check_duplicate: bool = True, device_id: int = DEFAULT_DEVICE_ID) -> CommandPacket:
    """A non-zero high word tells the module to skip its duplicate check."""
    return _cmd(Command.SET_TEMPLATE, (slot & 0xFFFF) | (0 if check_duplicate else 0xFFFF0000), device_id)


def data_packet(data: bytes, *, device_id: int = DEFAULT_DEVICE_ID) -> DataPacket:
    return DataPacket(bytes(data), device_id)


#: Payload size of the data packet that follows each command's ACK (None: no data).
def response_data_size(command: CommandPacket) -> int | None:
    code = command.command
    if code == Command.OPEN:
        return OPEN_INFO_SIZE if command.parameter else None
    if code in (Command.MAKE_TEMPLATE, Command.GET_TEMPLATE):
        return TEMPLATE_SIZE
    if code == Command.GET_IMAGE:
        return IMAGE_SIZE
    if code == Command.GET_RAW_IMAGE:
        return RAW_IMAGE_SIZE
    return None


# -- response parsers -----------------------------------------------------------
@dataclass(frozen=True)
class OpenInfo:
    """What Open with extra info tells about the module."""

    firmware_version: int
    iso_area_max_size: int
    serial_number: bytes

    def encode(self) -> bytes:
        return struct.pack("<II", self.firmware_version, self.iso_area_max_size) + self.serial_number.ljust(16, b"\0")[:16]

    @property
    def firmware(self) -> str:
        return f"{self.firmware_version:08X}"

    @property
    def serial(self) -> str:
        return self.serial_number.hex().upper()


def parse_open_info(data: bytes) -> OpenInfo:
    _expect_size(data, OPEN_INFO_SIZE, "Open info")
    firmware, iso = struct.unpack_from("<II", data)
    return OpenInfo(firmware, iso, bytes(data[8:24]))


def parse_is_press_finger(response: ResponsePacket) -> bool:
    """ACK parameter 0 means a finger is on the glass; anything else means none."""
    return response.parameter == 0


def parse_count(response: ResponsePacket) -> int:
    return response.parameter


def parse_slot(response: ResponsePacket) -> int:
    """Identify's answer: the matching slot."""
    return response.parameter & 0xFFFF


def parse_image(data: bytes) -> bytes:
    _expect_size(data, IMAGE_SIZE, "image")
    return bytes(data)


def parse_raw_image(data: bytes) -> bytes:
    _expect_size(data, RAW_IMAGE_SIZE, "raw image")
    return bytes(data)


def parse_template(data: bytes) -> bytes:
    _expect_size(data, TEMPLATE_SIZE, "template")
    return bytes(data)


def _expect_size(data: bytes, size: int, what: str) -> None:
    if len(data) != size:
        raise DeviceProtocolError(f"{what} should be {size} bytes, got {len(data)}")


# -- NACK codes to errors -------------------------------------------------------
class DuplicateFinger(DeviceCommandFailed):
    """The module refused to store a finger it already holds in another slot."""

    reason_id = "duplicate_finger"

    def __init__(self, message: str, *, slot: int, device: str | None = None) -> None:
        self.slot = slot
        super().__init__(message, code=slot, device=device)


#: code -> (error class, what the operator or technician is told)
_NACK_MEANING: dict[int, tuple[type[DeviceError], str]] = {
    Nack.TIMEOUT: (CaptureFailed, "the module timed out taking the capture; ask the resident to press again"),
    Nack.INVALID_BAUDRATE: (DeviceCommandFailed, "the module refused the serial speed; check the 'fast_baud' option"),
    Nack.INVALID_POS: (DeviceCommandFailed, "the database slot is out of range for this module"),
    Nack.IS_NOT_USED: (DeviceCommandFailed, "the database slot is empty"),
    Nack.IS_ALREADY_USED: (DeviceCommandFailed, "the database slot is already in use"),
    Nack.COMM_ERR: (DeviceProtocolError, "the module received a garbled packet; check the cable"),
    Nack.VERIFY_FAILED: (DeviceCommandFailed, "the finger does not match the enrolled one"),
    Nack.IDENTIFY_FAILED: (DeviceCommandFailed, "the finger matches nobody in the module's database"),
    Nack.DB_IS_FULL: (DeviceCommandFailed, "the module's fingerprint database is full"),
    Nack.DB_IS_EMPTY: (DeviceCommandFailed, "the module's fingerprint database is empty"),
    Nack.TURN_ERR: (DeviceCommandFailed, "enrolment steps were sent out of order"),
    Nack.BAD_FINGER: (CaptureFailed, "the finger image is unusable; clean the glass and press the finger flat"),
    Nack.ENROLL_FAILED: (CaptureFailed, "the three enrolment captures do not agree; start the enrolment again"),
    Nack.IS_NOT_SUPPORTED: (DeviceCommandFailed, "the module does not support this command"),
    Nack.DEV_ERR: (DeviceCommandFailed, "the module reports an internal fault; power-cycle it"),
    Nack.CAPTURE_CANCELED: (CaptureFailed, "the capture was cancelled"),
    Nack.INVALID_PARAM: (DeviceCommandFailed, "the module rejected a parameter"),
    Nack.FINGER_IS_NOT_PRESSED: (NoFinger, "no finger on the sensor"),
}


def error_for_nack(code: int, command: int, *, device: str | None = None) -> DeviceError:
    """The DeviceError a NACK means; every error carries ``.code`` (the raw NACK parameter)."""
    during = command_name(command)
    if code < DUPLICATE_LIMIT:
        return DuplicateFinger(
            f"this finger is already enrolled in slot {code} ({during})", slot=code, device=device
        )
    cls, meaning = _NACK_MEANING.get(
        code, (DeviceCommandFailed, f"the module answered with unknown error 0x{code:04X}")
    )
    message = f"{meaning} ({nack_name(code)} to {during})"
    if issubclass(cls, DeviceCommandFailed):
        err: DeviceError = cls(message, code=code, device=device)
    else:
        err = cls(message, device=device)
        err.code = code  # type: ignore[attr-defined]
    return err

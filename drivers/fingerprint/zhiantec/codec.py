"""ZhianTec/Grow UART frames, without I/O (the h11 way).

A frame on the wire is::

    EF 01 | address (4, BE) | PID (1) | length (2, BE) | content | checksum (2, BE)

where ``length`` counts content plus checksum and the checksum is the low 16
bits of the sum of PID, both length bytes and every content byte. PIDs: 01
command, 02 data (more follows), 07 acknowledge, 08 end of data.

This module owns: framing (:func:`encode`, :class:`Receiver`), command
builders (both the driver and the simulator speak them), acknowledge parsers
and builders, splitting and reassembling data transfers, and the 4-bit image
packing. Rules:

* :meth:`Receiver.next_frame` consumes bytes and returns a :class:`Frame`,
  returns None when it needs more data, or raises
  :class:`~drivers.errors.BadChecksum` for a frame whose checksum is wrong;
  that frame is dropped, so the next call carries on with what follows.
* Bytes that cannot start a frame (anything before ``EF 01``, an unknown PID,
  an impossible length) are skipped and counted in :attr:`Receiver.skipped`.
* No serial port, thread, clock or logging here. Content can be biometric, so
  reprs show sizes, never bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from drivers.errors import BadChecksum, DeviceProtocolError
from drivers.fingerprint.zhiantec.codes import (
    BAUD_UNIT,
    PACKET_SIZES,
    AuraColor,
    AuraMode,
    Confirmation,
    Instruction,
    PacketId,
    SysParam,
)

START = b"\xef\x01"
HEADER_SIZE = 9  # start, address, PID, length
#: Largest content a module sends or takes in one frame (256 data bytes).
MAX_CONTENT = 256
DEFAULT_ADDRESS = 0xFFFFFFFF
_PIDS = frozenset(int(p) for p in PacketId)


def checksum(pid: int, content: bytes | bytearray | memoryview) -> int:
    n = len(content) + 2
    return (pid + (n >> 8) + (n & 0xFF) + sum(content)) & 0xFFFF


@dataclass(frozen=True)
class Frame:
    address: int
    pid: int
    content: bytes

    def __repr__(self) -> str:  # data frames carry images and templates: sizes only
        try:
            kind = PacketId(self.pid).name
        except ValueError:
            kind = f"0x{self.pid:02X}"
        return f"Frame({kind}, address 0x{self.address:08X}, {len(self.content)} content bytes)"


def encode(frame: Frame) -> bytes:
    return encode_parts(frame.address, frame.pid, frame.content)


def encode_parts(address: int, pid: int, content: bytes | bytearray | memoryview) -> bytes:
    if len(content) > 0xFFFF - 2:
        raise ValueError(f"frame content of {len(content)} bytes does not fit the length field")
    n = len(content) + 2
    head = struct.pack(">2sIBH", START, address & 0xFFFFFFFF, pid, n)
    return head + bytes(content) + checksum(pid, content).to_bytes(2, "big")


class Receiver:
    """Turns a byte stream into frames; see the module header for the contract."""

    def __init__(self, max_content: int = MAX_CONTENT) -> None:
        self._buf = bytearray()
        self._max = max_content
        #: Bytes thrown away while looking for a frame start (garbage, bad headers).
        self.skipped = 0
        #: Frames dropped for a wrong checksum.
        self.bad_frames = 0

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def clear(self) -> None:
        self._buf.clear()

    def next_frame(self) -> Frame | None:
        buf = self._buf
        while True:
            start = buf.find(START)
            if start < 0:
                # Keep a trailing EF: it may be the first half of a start code.
                keep = 1 if buf[-1:] == b"\xef" else 0
                self.skipped += len(buf) - keep
                del buf[: len(buf) - keep]
                return None
            if start:
                self.skipped += start
                del buf[:start]
            if len(buf) < HEADER_SIZE:
                return None
            pid = buf[6]
            length = (buf[7] << 8) | buf[8]
            if pid not in _PIDS or length < 2 or length > self._max + 2:
                # Not a real header: step past this start code and look again.
                self.skipped += 2
                del buf[:2]
                continue
            end = HEADER_SIZE + length
            if len(buf) < end:
                return None
            content = bytes(buf[HEADER_SIZE : end - 2])
            got = (buf[end - 2] << 8) | buf[end - 1]
            address = int.from_bytes(buf[2:6], "big")
            del buf[:end]
            want = (pid + (length >> 8) + (length & 0xFF) + sum(content)) & 0xFFFF
            if got != want:
                self.bad_frames += 1
                raise BadChecksum(
                    f"frame checksum 0x{got:04X} does not match computed 0x{want:04X} "
                    f"(PID 0x{pid:02X}, {len(content)} content bytes)"
                )
            return Frame(address, pid, content)

    def frames(self) -> list[Frame]:
        """Every complete frame buffered now (raises on the first bad checksum)."""
        out = []
        while (f := self.next_frame()) is not None:
            out.append(f)
        return out


# ---------------------------------------------------------------------------
# Commands (host -> module).
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    instruction: int
    params: bytes = b""

    @property
    def content(self) -> bytes:
        return bytes([self.instruction]) + self.params

    def frame(self, address: int = DEFAULT_ADDRESS) -> Frame:
        return Frame(address, PacketId.COMMAND, self.content)

    def encode(self, address: int = DEFAULT_ADDRESS) -> bytes:
        return encode_parts(address, PacketId.COMMAND, self.content)

    @property
    def name(self) -> str:
        try:
            return Instruction(self.instruction).name
        except ValueError:
            return f"0x{self.instruction:02X}"

    def __repr__(self) -> str:  # DownChar/VfyPwd params may be secret: sizes only
        return f"Command({self.name}, {len(self.params)} param bytes)"


def parse_command(frame: Frame) -> Command:
    if frame.pid != PacketId.COMMAND or not frame.content:
        raise DeviceProtocolError(f"expected a command packet, got {frame!r}")
    return Command(frame.content[0], frame.content[1:])


def _u32(v: int) -> bytes:
    return (v & 0xFFFFFFFF).to_bytes(4, "big")


def _u16(v: int) -> bytes:
    if not 0 <= v <= 0xFFFF:
        raise ValueError(f"{v} does not fit 16 bits")
    return v.to_bytes(2, "big")


def _buffer_id(buffer: int) -> bytes:
    if not 1 <= buffer <= 255:
        raise ValueError(f"char buffer must be 1..255, got {buffer}")
    return bytes([buffer])


def gen_img() -> Command:
    return Command(Instruction.GEN_IMG)


def get_image_ex() -> Command:
    return Command(Instruction.GET_IMAGE_EX)


def img2tz(buffer: int = 1) -> Command:
    return Command(Instruction.IMG2TZ, _buffer_id(buffer))


def match() -> Command:
    return Command(Instruction.MATCH)


def search(buffer: int, start: int, count: int) -> Command:
    return Command(Instruction.SEARCH, _buffer_id(buffer) + _u16(start) + _u16(count))


def high_speed_search(buffer: int, start: int, count: int) -> Command:
    return Command(Instruction.HIGH_SPEED_SEARCH, _buffer_id(buffer) + _u16(start) + _u16(count))


def reg_model() -> Command:
    return Command(Instruction.REG_MODEL)


def store(buffer: int, page: int) -> Command:
    return Command(Instruction.STORE, _buffer_id(buffer) + _u16(page))


def load_char(buffer: int, page: int) -> Command:
    return Command(Instruction.LOAD_CHAR, _buffer_id(buffer) + _u16(page))


def up_char(buffer: int = 1) -> Command:
    return Command(Instruction.UP_CHAR, _buffer_id(buffer))


def down_char(buffer: int = 1) -> Command:
    return Command(Instruction.DOWN_CHAR, _buffer_id(buffer))


def up_image() -> Command:
    return Command(Instruction.UP_IMAGE)


def down_image() -> Command:
    return Command(Instruction.DOWN_IMAGE)


def delet_char(page: int, count: int = 1) -> Command:
    return Command(Instruction.DELET_CHAR, _u16(page) + _u16(count))


def empty() -> Command:
    return Command(Instruction.EMPTY)


def set_sys_para(param: int, value: int) -> Command:
    return Command(Instruction.SET_SYS_PARA, bytes([int(param), value & 0xFF]))


def read_sys_para() -> Command:
    return Command(Instruction.READ_SYS_PARA)


def set_pwd(password: int) -> Command:
    return Command(Instruction.SET_PWD, _u32(password))


def vfy_pwd(password: int) -> Command:
    return Command(Instruction.VFY_PWD, _u32(password))


def get_random_code() -> Command:
    return Command(Instruction.GET_RANDOM_CODE)


def set_adder(address: int) -> Command:
    return Command(Instruction.SET_ADDER, _u32(address))


def write_notepad(page: int, data: bytes) -> Command:
    if len(data) > 32:
        raise ValueError("a notepad page holds 32 bytes")
    return Command(Instruction.WRITE_NOTEPAD, bytes([page]) + data.ljust(32, b"\0"))


def read_notepad(page: int) -> Command:
    return Command(Instruction.READ_NOTEPAD, bytes([page]))


def template_num() -> Command:
    return Command(Instruction.TEMPLATE_NUM)


def read_index_table(page: int) -> Command:
    return Command(Instruction.READ_INDEX_TABLE, bytes([page]))


def aura_led_config(mode: AuraMode | int, speed: int, color: AuraColor | int, cycles: int = 0) -> Command:
    return Command(Instruction.AURA_LED_CONFIG, bytes([int(mode), speed & 0xFF, int(color), cycles & 0xFF]))


def check_sensor() -> Command:
    return Command(Instruction.CHECK_SENSOR)


def handshake() -> Command:
    return Command(Instruction.HANDSHAKE)


def soft_rst() -> Command:
    return Command(Instruction.SOFT_RST)


def read_prod_info() -> Command:
    return Command(Instruction.READ_PROD_INFO)


def get_fw_ver() -> Command:
    return Command(Instruction.GET_FW_VER)


def get_alg_ver() -> Command:
    return Command(Instruction.GET_ALG_VER)


def cancel() -> Command:
    return Command(Instruction.CANCEL)


# ---------------------------------------------------------------------------
# Acknowledgements (module -> host).
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    code: int
    params: bytes = b""

    @property
    def ok(self) -> bool:
        return self.code == Confirmation.OK

    def frame(self, address: int = DEFAULT_ADDRESS) -> Frame:
        return Frame(address, PacketId.ACK, bytes([self.code]) + self.params)

    def encode(self, address: int = DEFAULT_ADDRESS) -> bytes:
        return encode_parts(address, PacketId.ACK, bytes([self.code]) + self.params)

    def __repr__(self) -> str:
        return f"Ack(0x{self.code:02X}, {len(self.params)} param bytes)"


def parse_ack(frame: Frame) -> Ack:
    if frame.pid != PacketId.ACK or not frame.content:
        raise DeviceProtocolError(f"expected an acknowledge packet, got {frame!r}")
    return Ack(frame.content[0], frame.content[1:])


def _need(ack: Ack, n: int, what: str) -> bytes:
    if len(ack.params) < n:
        raise DeviceProtocolError(f"{what} reply has {len(ack.params)} parameter bytes, expected {n}")
    return ack.params


@dataclass(frozen=True)
class SysPara:
    """ReadSysPara's 16 bytes, decoded: packet size in bytes and baud in bit/s."""

    status: int
    system_id: int
    capacity: int
    security_level: int
    address: int
    packet_size: int
    baud: int

    def to_bytes(self) -> bytes:
        return struct.pack(
            ">HHHHIHH",
            self.status,
            self.system_id,
            self.capacity,
            self.security_level,
            self.address & 0xFFFFFFFF,
            PACKET_SIZES.index(self.packet_size),
            self.baud // BAUD_UNIT,
        )


def parse_sys_para(ack: Ack) -> SysPara:
    p = _need(ack, 16, "ReadSysPara")
    status, system_id, capacity, level, address, size_code, baud_n = struct.unpack(">HHHHIHH", p[:16])
    if size_code >= len(PACKET_SIZES):
        raise DeviceProtocolError(f"ReadSysPara reports packet size code {size_code}, expected 0..3")
    return SysPara(status, system_id, capacity, level, address, PACKET_SIZES[size_code], baud_n * BAUD_UNIT)


def parse_template_count(ack: Ack) -> int:
    return int.from_bytes(_need(ack, 2, "TempleteNum")[:2], "big")


def index_table_bytes(slots: Iterable[int], page: int) -> bytes:
    """32 bytes for one index page: bit b of byte i is slot page*256 + i*8 + b."""
    out = bytearray(32)
    for slot in slots:
        rel = slot - page * 256
        if 0 <= rel < 256:
            out[rel >> 3] |= 1 << (rel & 7)
    return bytes(out)


def parse_index_table(ack: Ack, page: int) -> frozenset[int]:
    table = _need(ack, 32, "ReadIndexTable")[:32]
    return frozenset(page * 256 + i * 8 + b for i, byte in enumerate(table) for b in range(8) if byte >> b & 1)


@dataclass(frozen=True)
class SearchResult:
    page: int
    score: int

    def to_bytes(self) -> bytes:
        return _u16(self.page) + _u16(self.score)


def parse_search(ack: Ack) -> SearchResult:
    p = _need(ack, 4, "Search")
    return SearchResult(int.from_bytes(p[0:2], "big"), int.from_bytes(p[2:4], "big"))


def parse_match(ack: Ack) -> int:
    return int.from_bytes(_need(ack, 2, "Match")[:2], "big")


def parse_random(ack: Ack) -> int:
    return int.from_bytes(_need(ack, 4, "GetRandomCode")[:4], "big")


def parse_notepad(ack: Ack) -> bytes:
    return _need(ack, 32, "ReadNotepad")[:32]


def parse_text(ack: Ack) -> str:
    """A NUL-padded ASCII string reply (GetFwVer, GetAlgVer)."""
    return ack.params.split(b"\0", 1)[0].decode("ascii", "replace").strip()


@dataclass(frozen=True)
class ProductInfo:
    """ReadProdInfo: what the module says it is (R50x and later)."""

    model: str
    batch: str
    serial: str
    hardware: tuple[int, int]
    sensor: str
    width: int
    height: int
    template_size: int
    capacity: int

    SIZE = 46

    def to_bytes(self) -> bytes:
        def text(s: str, n: int) -> bytes:
            return s.encode("ascii")[:n].ljust(n, b"\0")

        return (
            text(self.model, 16)
            + text(self.batch, 4)
            + text(self.serial, 8)
            + bytes(self.hardware)
            + text(self.sensor, 8)
            + struct.pack(">HHHH", self.width, self.height, self.template_size, self.capacity)
        )


def parse_prod_info(ack: Ack) -> ProductInfo:
    p = _need(ack, ProductInfo.SIZE, "ReadProdInfo")

    def text(a: int, b: int) -> str:
        return p[a:b].split(b"\0", 1)[0].decode("ascii", "replace").strip()

    width, height, tsize, capacity = struct.unpack(">HHHH", p[38:46])
    return ProductInfo(
        text(0, 16), text(16, 20), text(20, 28), (p[28], p[29]), text(30, 38), width, height, tsize, capacity
    )


# ---------------------------------------------------------------------------
# Data transfers: images and templates after an acknowledge.
# ---------------------------------------------------------------------------


def encode_data(address: int, payload: bytes, packet_size: int) -> bytes:
    """``payload`` as data packets of ``packet_size`` bytes, the last one PID 08."""
    if packet_size not in PACKET_SIZES:
        raise ValueError(f"packet size must be one of {PACKET_SIZES}, got {packet_size}")
    if not payload:
        return encode_parts(address, PacketId.END_DATA, b"")
    view = memoryview(payload)
    parts = []
    last = (len(payload) - 1) // packet_size
    for i in range(last + 1):
        pid = PacketId.END_DATA if i == last else PacketId.DATA
        parts.append(encode_parts(address, pid, view[i * packet_size : (i + 1) * packet_size]))
    return b"".join(parts)


class DataAssembler:
    """Collects the content of data packets until the end-of-data packet."""

    def __init__(self, limit: int) -> None:
        self._parts = bytearray()
        self._limit = limit
        self.packets = 0

    def feed(self, frame: Frame) -> bytes | None:
        """Add one frame; returns the whole payload at the end packet, else None."""
        if frame.pid not in (PacketId.DATA, PacketId.END_DATA):
            raise DeviceProtocolError(f"expected a data packet, got {frame!r}")
        self._parts += frame.content
        self.packets += 1
        if len(self._parts) > self._limit:
            raise DeviceProtocolError(f"data transfer exceeds {self._limit} bytes")
        if frame.pid == PacketId.END_DATA:
            return bytes(self._parts)
        return None

    @property
    def received(self) -> int:
        return len(self._parts)


def pack_image(pixels: np.ndarray) -> bytes:
    """8-bit greyscale to the wire's 4 bits a pixel, high nibble = left pixel."""
    a = np.asarray(pixels, dtype=np.uint8)
    if a.ndim != 2 or a.shape[1] % 2:
        raise ValueError("image must be 2-D with an even width")
    hi = a[:, 0::2] >> 4
    lo = a[:, 1::2] >> 4
    return ((hi << 4) | lo).astype(np.uint8).tobytes()


def unpack_image(data: bytes, width: int, height: int) -> np.ndarray:
    """The wire's 4-bit pixels back to 8-bit (0..15 -> 0..255)."""
    need = width * height // 2
    if len(data) != need:
        raise DeviceProtocolError(f"image data is {len(data)} bytes, expected {need} for {width}x{height} at 4 bits")
    raw = np.frombuffer(data, np.uint8)
    out = np.empty(width * height, np.uint8)
    out[0::2] = raw >> 4
    out[1::2] = raw & 0x0F
    out *= 17
    return out.reshape(height, width)


def image_wire_bytes(width: int, height: int, packet_size: int) -> int:
    """Bytes an UpImage data phase puts on the wire (payload plus framing)."""
    payload = width * height // 2
    packets = -(-payload // packet_size)
    return payload + packets * (HEADER_SIZE + 2)


def sys_param_value(param: int, value: int) -> tuple[SysParam, int]:
    """Validate a SetSysPara pair; returns the parameter and the decoded value (baud, bytes, level)."""
    p = SysParam(param)
    if p is SysParam.BAUD:
        if not 1 <= value <= 12:
            raise ValueError(f"baud code must be 1..12, got {value}")
        return p, value * BAUD_UNIT
    if p is SysParam.SECURITY:
        if not 1 <= value <= 5:
            raise ValueError(f"security level must be 1..5, got {value}")
        return p, value
    if not 0 <= value < len(PACKET_SIZES):
        raise ValueError(f"packet size code must be 0..3, got {value}")
    return p, PACKET_SIZES[value]

"""ZhianTec/Grow commands and acknowledges, without I/O.

Owns what the content of a command or acknowledge frame means: a builder for
every instruction (the driver and the simulator both speak them),
:func:`parse_command` and :func:`parse_ack`, the parsers and builders of
each reply's parameters (system parameters, search results, index tables,
product information), and checking a SetSysPara pair. Frames themselves are
:mod:`drivers.fingerprint.zhiantec.codec`'s.

Rules: a parser raises :class:`~drivers.errors.DeviceProtocolError` naming
the instruction when a reply is too short; builders raise ValueError for a
parameter that cannot be encoded. DownChar and VfyPwd parameters can be
secret and templates biometric, so reprs show sizes, never bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable

from drivers.errors import DeviceProtocolError
from drivers.fingerprint.zhiantec.codec import DEFAULT_ADDRESS, Frame, encode_parts
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

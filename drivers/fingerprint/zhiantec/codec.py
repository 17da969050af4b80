"""ZhianTec/Grow UART frames, without I/O (the h11 way).

A frame on the wire is::

    EF 01 | address (4, BE) | PID (1) | length (2, BE) | content | checksum (2, BE)

where ``length`` counts content plus checksum and the checksum is the low 16
bits of the sum of PID, both length bytes and every content byte. PIDs: 01
command, 02 data (more follows), 07 acknowledge, 08 end of data.

This module owns: framing (:func:`encode`, :class:`Receiver`), splitting and
reassembling data transfers, and the 4-bit image packing. What a command or
an acknowledge frame says is :mod:`drivers.fingerprint.zhiantec.messages`'s.
Rules:

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

import numpy as np

from drivers.errors import BadChecksum, DeviceProtocolError
from drivers.fingerprint.zhiantec.codes import PACKET_SIZES, PacketId

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
    """The wire's 4-bit pixels back to 8-bit (0..15 -> 0..255).

    The dimensions come from the module's own reply, so they are checked like
    any other input: two pixels per byte needs a positive, even pixel count.
    """
    if width <= 0 or height <= 0 or (width * height) % 2:
        raise DeviceProtocolError(f"image of {width}x{height} pixels cannot arrive at 4 bits per pixel")
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

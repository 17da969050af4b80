"""Sans-I/O codec for MQTT 3.1.1 control packets: bytes in -> packets out, packets -> bytes.

Owns the byte layout of every MQTT 3.1.1 packet (OASIS standard, 2014), in both
directions, so the embedded broker and the tests speak exactly the same wire
format. The 3.1 CONNECT ("MQIsdp", level 3) has the same layout and decodes too.

Rules:
- No sockets, clocks or threads. ``MqttDecoder.receive_data(bytes)`` buffers,
  ``next_packet()`` returns one packet, returns None for "need more data", or
  raises ``ProtocolError``; after an error the decoder stays failed (as h11 does).
  ``encode(packet)`` returns the bytes of one packet.
- The size limit is checked as soon as the length header is complete, so an
  oversized packet is refused before its body is buffered.
- Whatever the standard calls malformed is refused here (bad fixed-header flags,
  a length header over 4 bytes, bad UTF-8 or U+0000 in a string, wildcards in a
  topic name, packet identifier 0, QoS 3, DUP on QoS 0, trailing bytes), so the
  broker only ever sees well-formed packets. Checks that have a protocol answer
  instead of a disconnect (unsupported protocol level -> CONNACK 1, invalid
  topic filter -> SUBACK 0x80) are the broker's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Iterator, Union

DEFAULT_MAX_PACKET_SIZE = 8 * 1024 * 1024
#: The largest value the 4-byte "remaining length" header can carry.
MAX_REMAINING_LENGTH = 268_435_455
SUBACK_FAILURE = 0x80
PROTOCOL_NAMES = ("MQTT", "MQIsdp")


class PacketType(IntEnum):
    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14


class ConnackCode(IntEnum):
    ACCEPTED = 0
    UNACCEPTABLE_PROTOCOL_VERSION = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_USERNAME_OR_PASSWORD = 4
    NOT_AUTHORIZED = 5


class ProtocolError(ValueError):
    """The bytes are not a valid MQTT 3.1.1 stream; the peer must be disconnected."""


class MalformedPacket(ProtocolError):
    """A packet breaks a rule of the standard's byte layout."""


class PacketTooLarge(ProtocolError):
    """A packet's declared size exceeds the decoder's limit."""


# ---------------------------------------------------------------- packets


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Connect:
    client_id: str
    clean_session: bool = True
    keepalive: int = 60
    will: Will | None = None
    username: str | None = None
    password: bytes | None = None
    protocol_name: str = "MQTT"
    protocol_level: int = 4


@dataclass(frozen=True, slots=True)
class Connack:
    session_present: bool
    return_code: int = ConnackCode.ACCEPTED


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    #: Required (1..65535) for QoS 1 and 2, absent for QoS 0.
    packet_id: int | None = None


@dataclass(frozen=True, slots=True)
class Puback:
    packet_id: int


@dataclass(frozen=True, slots=True)
class Pubrec:
    packet_id: int


@dataclass(frozen=True, slots=True)
class Pubrel:
    packet_id: int


@dataclass(frozen=True, slots=True)
class Pubcomp:
    packet_id: int


@dataclass(frozen=True, slots=True)
class Subscribe:
    packet_id: int
    #: (topic filter, requested QoS) pairs, at least one.
    topics: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Suback:
    packet_id: int
    #: Granted QoS (0, 1, 2) or SUBACK_FAILURE, one per requested filter.
    return_codes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    packet_id: int
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unsuback:
    packet_id: int


@dataclass(frozen=True, slots=True)
class Pingreq:
    pass


@dataclass(frozen=True, slots=True)
class Pingresp:
    pass


@dataclass(frozen=True, slots=True)
class Disconnect:
    pass


Packet = Union[
    Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe, Suback,
    Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect,
]

#: Fixed-header flag nibble that the standard requires for each type (PUBLISH's varies).
_REQUIRED_FLAGS = {t: 0 for t in PacketType if t != PacketType.PUBLISH}
_REQUIRED_FLAGS.update({PacketType.PUBREL: 2, PacketType.SUBSCRIBE: 2, PacketType.UNSUBSCRIBE: 2})

_ACKS = {PacketType.PUBACK: Puback, PacketType.PUBREC: Pubrec, PacketType.PUBREL: Pubrel,
         PacketType.PUBCOMP: Pubcomp, PacketType.UNSUBACK: Unsuback}
_EMPTY = {PacketType.PINGREQ: Pingreq, PacketType.PINGRESP: Pingresp,
          PacketType.DISCONNECT: Disconnect}


# ---------------------------------------------------------------- helpers


def encode_remaining_length(n: int) -> bytes:
    """The variable-length "remaining length" header: 7 bits a byte, high bit = more."""
    if not 0 <= n <= MAX_REMAINING_LENGTH:
        raise ValueError(f"remaining length {n} out of range 0..{MAX_REMAINING_LENGTH}")
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def is_valid_topic_name(topic: str) -> bool:
    """A PUBLISH or will topic: at least one character and no wildcards."""
    return bool(topic) and "+" not in topic and "#" not in topic


def _string(s: str) -> bytes:
    data = s.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError(f"string of {len(data)} bytes exceeds 65535")
    return struct.pack("!H", len(data)) + data


def _binary(b: bytes) -> bytes:
    if len(b) > 0xFFFF:
        raise ValueError(f"binary field of {len(b)} bytes exceeds 65535")
    return struct.pack("!H", len(b)) + b


def _packet_id(pid: int | None) -> bytes:
    if pid is None or not 1 <= pid <= 0xFFFF:
        raise ValueError(f"packet identifier must be 1..65535, not {pid!r}")
    return struct.pack("!H", pid)


def _qos(qos: int) -> int:
    if qos not in (0, 1, 2):
        raise ValueError(f"QoS must be 0, 1 or 2, not {qos!r}")
    return qos


# ---------------------------------------------------------------- encoding


def encode(packet: Packet) -> bytes:
    """The bytes of one packet; raises ValueError for a packet the standard forbids."""
    match packet:
        case Publish():
            return _encode_publish(packet)
        case Puback() | Pubrec() | Pubrel() | Pubcomp() | Unsuback():
            ptype = _ACK_TYPES[type(packet)]
            return bytes([ptype << 4 | _REQUIRED_FLAGS[ptype], 2]) + _packet_id(packet.packet_id)
        case Pingreq() | Pingresp() | Disconnect():
            return bytes([_EMPTY_TYPES[type(packet)] << 4, 0])
        case Connect():
            ptype, body = PacketType.CONNECT, _connect_body(packet)
        case Connack(session_present=present, return_code=code):
            if not 0 <= code <= 5:
                raise ValueError(f"CONNACK return code {code} is reserved")
            ptype, body = PacketType.CONNACK, bytes([int(present), code])
        case Subscribe(packet_id=pid, topics=topics):
            if not topics:
                raise ValueError("SUBSCRIBE needs at least one topic filter")
            parts = [_packet_id(pid)]
            for flt, qos in topics:
                parts += [_string(flt), bytes([_qos(qos)])]
            ptype, body = PacketType.SUBSCRIBE, b"".join(parts)
        case Suback(packet_id=pid, return_codes=codes):
            if not codes or any(c not in (0, 1, 2, SUBACK_FAILURE) for c in codes):
                raise ValueError(f"bad SUBACK return codes {codes!r}")
            ptype, body = PacketType.SUBACK, _packet_id(pid) + bytes(codes)
        case Unsubscribe(packet_id=pid, topics=topics):
            if not topics:
                raise ValueError("UNSUBSCRIBE needs at least one topic filter")
            ptype = PacketType.UNSUBSCRIBE
            body = _packet_id(pid) + b"".join(_string(t) for t in topics)
        case _:
            raise TypeError(f"not an MQTT packet: {packet!r}")
    return bytes([ptype << 4 | _REQUIRED_FLAGS[ptype]]) + encode_remaining_length(len(body)) + body


def _encode_publish(p: Publish) -> bytes:
    qos = _qos(p.qos)
    if qos == 0 and (p.dup or p.packet_id is not None):
        raise ValueError("a QoS 0 PUBLISH has no packet identifier and no DUP flag")
    if not is_valid_topic_name(p.topic):
        raise ValueError(f"invalid topic name {p.topic!r}")
    flags = (p.dup << 3) | (qos << 1) | int(p.retain)
    variable = _string(p.topic) + (_packet_id(p.packet_id) if qos else b"")
    length = len(variable) + len(p.payload)
    return b"".join((bytes([PacketType.PUBLISH << 4 | flags]), encode_remaining_length(length),
                     variable, p.payload))


def _connect_body(c: Connect) -> bytes:
    if c.password is not None and c.username is None:
        raise ValueError("MQTT 3.1.1 allows a password only with a username")
    if not 0 <= c.keepalive <= 0xFFFF:
        raise ValueError(f"keepalive {c.keepalive} out of range 0..65535")
    flags = (c.clean_session << 1)
    parts = [_string(c.protocol_name), bytes([c.protocol_level]), b"",
             struct.pack("!H", c.keepalive), _string(c.client_id)]
    if c.will is not None:
        if not is_valid_topic_name(c.will.topic):
            raise ValueError(f"invalid will topic {c.will.topic!r}")
        flags |= 0x04 | (_qos(c.will.qos) << 3) | (c.will.retain << 5)
        parts += [_string(c.will.topic), _binary(c.will.payload)]
    if c.username is not None:
        flags |= 0x80
        parts.append(_string(c.username))
    if c.password is not None:
        flags |= 0x40
        parts.append(_binary(c.password))
    parts[2] = bytes([flags])
    return b"".join(parts)


_ACK_TYPES = {cls: ptype for ptype, cls in _ACKS.items()}
_EMPTY_TYPES = {cls: ptype for ptype, cls in _EMPTY.items()}


# ---------------------------------------------------------------- decoding


class _Fields:
    """Reads the variable header and payload of one packet body; every read checks bounds."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise MalformedPacket("packet ends inside a field")
        chunk = self._data[self._pos:end]
        self._pos = end
        return chunk

    def u8(self) -> int:
        return self._take(1)[0]

    def u16(self) -> int:
        return struct.unpack("!H", self._take(2))[0]

    def packet_id(self) -> int:
        pid = self.u16()
        if pid == 0:
            raise MalformedPacket("packet identifier 0")
        return pid

    def binary(self) -> bytes:
        return self._take(self.u16())

    def string(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPacket(f"string is not well-formed UTF-8: {exc.reason}") from None
        if "\x00" in text:
            raise MalformedPacket("string contains U+0000")
        return text

    def topic_name(self) -> str:
        topic = self.string()
        if not is_valid_topic_name(topic):
            raise MalformedPacket(f"invalid topic name {topic!r}")
        return topic

    def rest(self) -> bytes:
        chunk = self._data[self._pos:]
        self._pos = len(self._data)
        return chunk

    @property
    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def end(self) -> None:
        if not self.at_end:
            raise MalformedPacket(f"{len(self._data) - self._pos} unexpected trailing bytes")


def _decode_connect(f: _Fields) -> Connect:
    name = f.string()
    if name not in PROTOCOL_NAMES:
        raise MalformedPacket(f"unknown protocol name {name!r}")
    level = f.u8()
    flags = f.u8()
    if flags & 0x01:
        raise MalformedPacket("CONNECT reserved flag is set")
    has_will, will_qos, will_retain = bool(flags & 0x04), (flags >> 3) & 3, bool(flags & 0x20)
    if not has_will and (will_qos or will_retain):
        raise MalformedPacket("will QoS or retain set without a will")
    if will_qos == 3:
        raise MalformedPacket("will QoS 3")
    has_password, has_username = bool(flags & 0x40), bool(flags & 0x80)
    if has_password and not has_username:
        raise MalformedPacket("password without username")
    keepalive = f.u16()
    client_id = f.string()
    will = Will(f.topic_name(), f.binary(), will_qos, will_retain) if has_will else None
    username = f.string() if has_username else None
    password = f.binary() if has_password else None
    f.end()
    return Connect(client_id, bool(flags & 0x02), keepalive, will, username, password, name, level)


def _decode_body(ptype: PacketType, flags: int, body: bytes) -> Packet:
    f = _Fields(body)
    if ptype == PacketType.PUBLISH:
        qos = (flags >> 1) & 3
        topic = f.topic_name()
        pid = f.packet_id() if qos else None
        return Publish(topic, f.rest(), qos, bool(flags & 1), bool(flags & 8), pid)
    if ptype in _ACKS:
        pid = f.packet_id()
        f.end()
        return _ACKS[ptype](pid)
    if ptype in _EMPTY:
        f.end()
        return _EMPTY[ptype]()
    if ptype == PacketType.CONNECT:
        return _decode_connect(f)
    if ptype == PacketType.CONNACK:
        ack_flags, code = f.u8(), f.u8()
        f.end()
        if ack_flags & 0xFE:
            raise MalformedPacket("CONNACK reserved flags set")
        if code > 5:
            raise MalformedPacket(f"CONNACK return code {code} is reserved")
        return Connack(bool(ack_flags), code)
    if ptype == PacketType.SUBSCRIBE:
        pid = f.packet_id()
        topics = []
        while not f.at_end:
            flt, qos = f.string(), f.u8()
            if not flt:
                raise MalformedPacket("empty topic filter")
            if qos > 2:
                raise MalformedPacket(f"requested QoS byte {qos:#x}")
            topics.append((flt, qos))
        if not topics:
            raise MalformedPacket("SUBSCRIBE without topic filters")
        return Subscribe(pid, tuple(topics))
    if ptype == PacketType.SUBACK:
        pid = f.packet_id()
        codes = tuple(f.rest())
        if not codes or any(c not in (0, 1, 2, SUBACK_FAILURE) for c in codes):
            raise MalformedPacket(f"bad SUBACK return codes {codes!r}")
        return Suback(pid, codes)
    if ptype == PacketType.UNSUBSCRIBE:
        pid = f.packet_id()
        filters = []
        while not f.at_end:
            flt = f.string()
            if not flt:
                raise MalformedPacket("empty topic filter")
            filters.append(flt)
        if not filters:
            raise MalformedPacket("UNSUBSCRIBE without topic filters")
        return Unsubscribe(pid, tuple(filters))
    raise MalformedPacket(f"unhandled packet type {ptype!r}")  # pragma: no cover


def _check_first_byte(byte: int) -> tuple[PacketType, int]:
    """Refuse a bad type or flag nibble as soon as the first byte arrives."""
    kind, flags = byte >> 4, byte & 0x0F
    if not 1 <= kind <= 14:
        raise MalformedPacket(f"reserved packet type {kind}")
    ptype = PacketType(kind)
    if ptype == PacketType.PUBLISH:
        qos = (flags >> 1) & 3
        if qos == 3:
            raise MalformedPacket("PUBLISH with QoS 3")
        if qos == 0 and flags & 8:
            raise MalformedPacket("PUBLISH with QoS 0 and DUP set")
    elif flags != _REQUIRED_FLAGS[ptype]:
        raise MalformedPacket(f"{ptype.name} with fixed-header flags {flags:#x}")
    return ptype, flags


class MqttDecoder:
    """Turns a byte stream into packets; see the module docstring for the contract."""

    def __init__(self, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE) -> None:
        self.max_packet_size = max_packet_size
        self._buf = bytearray()
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a packet."""
        return len(self._buf)

    @property
    def failed(self) -> bool:
        return self._error is not None

    def receive_data(self, data: bytes) -> None:
        self._buf += data

    def next_packet(self) -> Packet | None:
        if self._error is not None:
            raise type(self._error)(f"decoder already failed: {self._error}")
        try:
            return self._next()
        except ProtocolError as exc:
            self._error = exc
            raise

    def __iter__(self) -> Iterator[Packet]:
        """Every complete packet buffered so far."""
        while (packet := self.next_packet()) is not None:
            yield packet

    def _next(self) -> Packet | None:
        buf = self._buf
        if not buf:
            return None
        ptype, flags = _check_first_byte(buf[0])
        length = shift = 0
        for i in range(1, 5):
            if i >= len(buf):
                return None
            byte = buf[i]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        else:
            raise MalformedPacket("remaining length header longer than 4 bytes")
        start = i + 1
        total = start + length
        if total > self.max_packet_size:
            raise PacketTooLarge(f"{ptype.name} of {total} bytes exceeds the {self.max_packet_size}-byte limit")
        if len(buf) < total:
            return None
        body = bytes(memoryview(buf)[start:total])
        del buf[:total]
        return _decode_body(ptype, flags, body)

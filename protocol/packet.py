"""The sealed packet: how an enrollment record travels and rests.

A packet is a CBOR map::

    {"v": 1, "id": <UUIDv7 bytes>, "station": str, "seq": int,
     "sealed_at": float, "suite": str, "kid": str, "skid": str,
     "ct": <HPKE ciphertext>, "sig": <Ed25519 signature>}

``ct`` is RFC 9180 HPKE (single-shot, base mode) of the record's CBOR to the
controller's public key ``kid``; the header (everything but ``ct`` and
``sig``) is bound in through HPKE ``info``, so a ciphertext cannot be moved
under another header. ``sig`` is the station key ``skid``'s Ed25519 signature
over the canonical CBOR of every other field.

Parsing is strict, because what the controller stores must be exactly what
the station signed: a packet is a definite-length CBOR map with exactly these
keys, scalar values of exactly these types, integers within bounds, and the
bytes must be the canonical encoding of what they say (no padding, no junk
keys, ``v = 1.0`` is not ``v = 1``). A shallow walk over the CBOR headers
refuses nested arrays and maps before the full decoder runs, so a hostile
payload costs one pass over its bytes, not the decoder's time and memory.

Opening checks, in order, each with its own reason id: the bytes are a
well-formed packet (``malformed``, ``non_canonical``, ``too_large``), the
signer is the station's registered key (``wrong_station_key``), the signature
(``bad_signature``); then, for a packet the station really signed, its version
and suite (``unsupported_version``, ``unknown_suite``), the controller key
(``unknown_controller_key``), and only then decryption (``decrypt_failed``).
The signature is always checked before any decryption is attempted, and a
refusal that comes before the signature is verified must not be acked (a
forged copy must never make a station quarantine its genuine packet).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass

import cbor2

from protocol import topics
from protocol.errors import ProtocolError
from protocol.keys import ControllerKeys, SealingPublicKey, SigningKey, Suite, VerifyKey

PACKET_VERSION = 1
_INFO_LABEL = b"rekam/v1/packet\0"
_HEADER_FIELDS = ("v", "id", "station", "seq", "sealed_at", "suite", "kid", "skid")
#: Packets above this are refused before parsing (the station's own limit is lower).
MAX_PACKET_BYTES = 8 * 1024 * 1024
#: Sequence numbers and times beyond these are no station's (and no SQLite integer's).
MAX_SEQ = 2**63 - 1
MAX_TIME = 1e11
_KEYS = frozenset({"v", "id", "station", "seq", "sealed_at", "suite", "kid", "skid", "ct", "sig"})
_TEXT_MAX = 200


class PacketError(ProtocolError):
    """Why a packet was refused; ``reason_id`` goes into the ack and the counters."""

    def __init__(self, reason_id: str, message: str) -> None:
        super().__init__(message, reason_id)


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """RFC 9562 UUIDv7: time-ordered, so packet ids sort by sealing time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


@dataclass(frozen=True)
class Header:
    packet_id: uuid.UUID
    station_id: str
    seq: int
    sealed_at: float
    suite: Suite | str  # a str only for a suite this program does not know (refused after the signature)
    kid: str  # controller sealing key id
    skid: str  # station signing key id
    version: int = PACKET_VERSION

    def to_map(self) -> dict:
        return {
            "v": self.version,
            "id": self.packet_id.bytes,
            "station": self.station_id,
            "seq": self.seq,
            "sealed_at": self.sealed_at,
            "suite": self.suite.value if isinstance(self.suite, Suite) else self.suite,
            "kid": self.kid,
            "skid": self.skid,
        }

    def info(self) -> bytes:
        return _INFO_LABEL + cbor2.dumps(self.to_map(), canonical=True)


@dataclass(frozen=True)
class Envelope:
    header: Header
    ciphertext: bytes
    signature: bytes

    @property
    def packet_id(self) -> str:
        return str(self.header.packet_id)

    def signed_bytes(self) -> bytes:
        return cbor2.dumps({**self.header.to_map(), "ct": self.ciphertext}, canonical=True)

    def to_bytes(self) -> bytes:
        return cbor2.dumps({**self.header.to_map(), "ct": self.ciphertext, "sig": self.signature}, canonical=True)

    def __repr__(self) -> str:
        h = self.header
        return f"Envelope(id={h.packet_id}, station={h.station_id}, seq={h.seq}, {len(self.ciphertext)} bytes)"


def seal(
    plaintext: bytes,
    *,
    station_id: str,
    seq: int,
    controller_key: SealingPublicKey,
    station_key: SigningKey,
    packet_id: uuid.UUID | None = None,
    sealed_at: float | None = None,
) -> Envelope:
    """Encrypt ``plaintext`` to the controller and sign it as ``station_id``."""
    topics.check_station_id(station_id)
    header = Header(
        packet_id=packet_id or uuid7(),
        station_id=station_id,
        seq=seq,
        sealed_at=time.time() if sealed_at is None else sealed_at,
        suite=controller_key.suite,
        kid=controller_key.kid,
        skid=station_key.public.kid,
    )
    ct = controller_key.suite.hpke.encrypt(plaintext, controller_key.hpke_key(), info=header.info())
    unsigned = Envelope(header, ct, b"")
    return Envelope(header, ct, station_key.sign(unsigned.signed_bytes()))


def parse(data: bytes, *, max_bytes: int = MAX_PACKET_BYTES) -> Envelope:
    """Check the shape of a packet without any key; PacketError if malformed or not canonical.

    Version and suite are read but not judged here: :func:`check_supported`
    does that once the signature is known to be the station's.
    """
    if len(data) > max_bytes:
        raise PacketError("too_large", f"packet is {len(data)} bytes; the limit is {max_bytes}")
    _shallow_check(data)
    try:
        body = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError, RecursionError, OverflowError) as exc:
        raise PacketError("malformed", f"packet is not valid CBOR ({exc.__class__.__name__})") from None
    if not isinstance(body, dict) or set(body) != _KEYS:
        keys = sorted(map(str, body))[:12] if isinstance(body, dict) else []
        raise PacketError("malformed", f"packet must be a map of exactly {sorted(_KEYS)}; got {keys}")
    expect = {"v": int, "id": bytes, "station": str, "seq": int, "sealed_at": float, "suite": str,
              "kid": str, "skid": str, "ct": bytes, "sig": bytes}
    for name, tp in expect.items():
        value = body[name]
        if type(value) is not tp:
            raise PacketError("malformed", f"packet field {name!r} must be {tp.__name__}, got {type(value).__name__}")
    for name in ("station", "suite", "kid", "skid"):
        if len(body[name]) > _TEXT_MAX:
            raise PacketError("malformed", f"packet field {name!r} is longer than {_TEXT_MAX} characters")
    if len(body["id"]) != 16:
        raise PacketError("malformed", "packet id must be 16 bytes")
    if not 0 <= body["seq"] <= MAX_SEQ:
        raise PacketError("malformed", f"packet sequence number must be 0..{MAX_SEQ}")
    if not 0 <= body["sealed_at"] <= MAX_TIME:  # also refuses NaN and infinities
        raise PacketError("malformed", "packet sealing time is not a plausible time")
    if not 0 <= body["v"] <= 255:
        raise PacketError("malformed", "packet version must be 0..255")
    try:
        topics.check_station_id(body["station"])
    except topics.TopicError as exc:
        raise PacketError("malformed", str(exc)) from None
    try:
        suite: Suite | str = Suite(body["suite"])
    except ValueError:
        suite = body["suite"]
    header = Header(
        packet_id=uuid.UUID(bytes=body["id"]),
        station_id=body["station"],
        seq=body["seq"],
        sealed_at=body["sealed_at"],
        suite=suite,
        kid=body["kid"],
        skid=body["skid"],
        version=body["v"],
    )
    envelope = Envelope(header, body["ct"], body["sig"])
    if envelope.to_bytes() != data:
        raise PacketError("non_canonical", "packet is not in canonical CBOR: its bytes are not what it says")
    return envelope


def check_supported(envelope: Envelope) -> None:
    """Version and suite, judged after the signature (so a refusal may be acked to the station)."""
    v = envelope.header.version
    if v != PACKET_VERSION:
        raise PacketError("unsupported_version", f"packet version {v} is not supported (expected {PACKET_VERSION})")
    if not isinstance(envelope.header.suite, Suite):
        raise PacketError("unknown_suite", f"packet suite {envelope.header.suite!r:.60} is not supported")


def _shallow_check(data: bytes) -> None:
    """Walk the top-level CBOR headers: one definite map of scalars, before the decoder sees nested junk.

    RFC 8949 §3: each item starts with a byte whose top 3 bits are the major
    type and low 5 bits the length (or 24..27: the length follows in 1..8 bytes).
    """
    pos, end = 0, len(data)

    def head() -> tuple[int, int]:
        nonlocal pos
        if pos >= end:
            raise PacketError("malformed", "packet is truncated")
        first = data[pos]
        major, info = first >> 5, first & 0x1F
        pos += 1
        if info < 24:
            return major, info
        if info > 27:
            raise PacketError("malformed", "packet uses indefinite lengths or reserved CBOR")
        n = 1 << (info - 24)
        if pos + n > end:
            raise PacketError("malformed", "packet is truncated")
        value = int.from_bytes(data[pos:pos + n], "big")
        pos += n
        return major, value

    major, count = head()
    if major != 5 or count != len(_KEYS):
        raise PacketError("malformed", f"packet is not a CBOR map of {len(_KEYS)} entries")
    for _ in range(count):
        for is_key in (True, False):
            major, arg = head()
            if major in (2, 3):  # byte or text string: skip its bytes
                if arg > end - pos:
                    raise PacketError("malformed", "packet is truncated")
                pos += arg
            elif major in (4, 5, 6) or is_key:  # arrays, maps, tags; and every key must be a string
                raise PacketError("malformed", "packet holds a nested or tagged item where a plain value belongs")
    if pos != end:
        raise PacketError("malformed", f"packet has {end - pos} bytes after its map")


def verify(envelope: Envelope, station_key: VerifyKey) -> None:
    """Is this packet really from the station holding ``station_key``?"""
    if envelope.header.skid != station_key.kid:
        raise PacketError(
            "wrong_station_key",
            f"packet signed with key {envelope.header.skid!r:.40}; station "
            f"{envelope.header.station_id} is registered with key {station_key.kid}",
        )
    if not station_key.verify(envelope.signature, envelope.signed_bytes()):
        raise PacketError("bad_signature", "packet signature does not verify: altered in transit or forged")


def open_envelope(envelope: Envelope, controller_keys: ControllerKeys) -> bytes:
    """Decrypt a packet whose signature was already verified."""
    check_supported(envelope)
    key = controller_keys.by_kid(envelope.header.kid)
    if key is None or key.suite is not envelope.header.suite:
        raise PacketError(
            "unknown_controller_key",
            f"packet is sealed to controller key {envelope.header.kid!r:.40}, which this controller does not hold",
        )
    try:
        return key.suite.hpke.decrypt(envelope.ciphertext, key.hpke_key(), info=envelope.header.info())
    except Exception:  # cryptography raises InvalidTag or ValueError; both mean the same here
        raise PacketError("decrypt_failed", "packet does not decrypt: ciphertext or header altered") from None


def open_packet(data: bytes, station_key: VerifyKey, controller_keys: ControllerKeys) -> tuple[Envelope, bytes]:
    """parse -> verify -> decrypt, the controller's whole path for one packet."""
    envelope = parse(data)
    verify(envelope, station_key)
    return envelope, open_envelope(envelope, controller_keys)

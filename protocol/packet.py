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

Opening checks, in order, each with its own reason id: the bytes are a
well-formed packet (``malformed``, ``unsupported_version``, ``unknown_suite``,
``too_large``), the signer is the station's registered key
(``wrong_station_key``), the signature (``bad_signature``), the controller
key (``unknown_controller_key``), and only then decrypts (``decrypt_failed``).
The signature is always checked before any decryption is attempted.
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
    suite: Suite
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
            "suite": self.suite.value,
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
    """Check the shape of a packet without any key; PacketError if malformed."""
    if len(data) > max_bytes:
        raise PacketError("too_large", f"packet is {len(data)} bytes; the limit is {max_bytes}")
    try:
        body = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError, RecursionError) as exc:
        raise PacketError("malformed", f"packet is not valid CBOR ({exc.__class__.__name__})") from None
    if not isinstance(body, dict):
        raise PacketError("malformed", "packet is not a CBOR map")
    v = body.get("v")
    if v != PACKET_VERSION:
        if isinstance(v, int) and not isinstance(v, bool):
            raise PacketError("unsupported_version", f"packet version {v} is not supported (expected {PACKET_VERSION})")
        raise PacketError("malformed", "packet has no version")
    expect = {"id": bytes, "station": str, "seq": int, "sealed_at": (float, int), "suite": str,
              "kid": str, "skid": str, "ct": bytes, "sig": bytes}
    for name, tp in expect.items():
        value = body.get(name)
        if value is None or not isinstance(value, tp) or isinstance(value, bool):
            raise PacketError("malformed", f"packet field {name!r} is missing or has the wrong type")
    if len(body["id"]) != 16:
        raise PacketError("malformed", "packet id must be 16 bytes")
    try:
        suite = Suite(body["suite"])
    except ValueError:
        raise PacketError("unknown_suite", f"packet suite {body['suite']!r:.60} is not supported") from None
    try:
        topics.check_station_id(body["station"])
    except topics.TopicError as exc:
        raise PacketError("malformed", str(exc)) from None
    if body["seq"] < 0:
        raise PacketError("malformed", "packet sequence number is negative")
    header = Header(
        packet_id=uuid.UUID(bytes=body["id"]),
        station_id=body["station"],
        seq=body["seq"],
        sealed_at=float(body["sealed_at"]),
        suite=suite,
        kid=body["kid"],
        skid=body["skid"],
    )
    return Envelope(header, body["ct"], body["sig"])


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

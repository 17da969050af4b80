"""Keys of the sealed-packet scheme, as bytes: generation, encoding, key ids.

Two kinds of key exist:

* the station's Ed25519 *signing* key, which proves a packet came from that
  station (the controller registers its public half at provisioning);
* the controller's HPKE *sealing* keys, one per suite: ML-KEM-768 + X25519
  (default, resists a future quantum computer) and X25519 alone
  (compatibility). Stations hold only the public halves, so a stolen station
  cannot open its own outbox.

This module stays pure: it turns keys into bytes and back. Writing them to
files with 0600 permissions is the job of the program that owns the file.
Files are PEM-armoured CBOR (signing keys use standard PKCS#8/SPKI PEM so
ordinary tools can read them).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from protocol.errors import ProtocolError


class KeyFormatError(ProtocolError):
    """A key file or key blob that cannot be used; the message says why."""

    reason_id = "bad_key"


class Suite(str, Enum):
    """HPKE suites a packet may be sealed with (RFC 9180 ids in ``hpke_ids``)."""

    MLKEM768_X25519 = "mlkem768x25519-hkdfsha256-aes256gcm"
    X25519 = "x25519-hkdfsha256-aes256gcm"

    @property
    def hpke(self) -> hpke.Suite:
        kem = hpke.KEM.MLKEM768_X25519 if self is Suite.MLKEM768_X25519 else hpke.KEM.X25519
        return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


DEFAULT_SUITE = Suite.MLKEM768_X25519


def key_id(label: str, public_bytes: bytes) -> str:
    """Short, stable id of a public key: 16 hex digits of SHA-256(label || key)."""
    return hashlib.sha256(label.encode() + b"\0" + public_bytes).hexdigest()[:16]


# -- station signing keys ---------------------------------------------------
@dataclass(frozen=True)
class SigningKey:
    private: ed25519.Ed25519PrivateKey

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(ed25519.Ed25519PrivateKey.generate())

    @property
    def public(self) -> "VerifyKey":
        return VerifyKey(self.private.public_key())

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def to_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def from_pem(cls, data: bytes) -> "SigningKey":
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFormatError(f"not a PEM private key: {exc}") from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyFormatError(f"signing key must be Ed25519, got {type(key).__name__}")
        return cls(key)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.public.kid})"


@dataclass(frozen=True)
class VerifyKey:
    public: ed25519.Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def kid(self) -> str:
        return key_id("ed25519", self.raw)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.public.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def to_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, data: bytes) -> "VerifyKey":
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise KeyFormatError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise KeyFormatError(f"station key must be Ed25519, got {type(key).__name__}")
        return cls(key)


# -- controller sealing keys ------------------------------------------------
_PRIVATE_LABEL = "REKAM CONTROLLER PRIVATE KEY"
_PUBLIC_LABEL = "REKAM CONTROLLER PUBLIC KEY"


@dataclass(frozen=True)
class SealingPublicKey:
    """The controller's public key for one suite, as a station holds it."""

    suite: Suite
    raw: bytes  # ML-KEM-768 public (1184) || X25519 public (32), or X25519 public (32)

    @cached_property
    def kid(self) -> str:
        return key_id(self.suite.value, self.raw)

    def hpke_key(self):
        try:
            if self.suite is Suite.MLKEM768_X25519:
                if len(self.raw) != 1184 + 32:
                    raise ValueError(f"hybrid public key must be 1216 bytes, got {len(self.raw)}")
                return hpke.MLKEM768X25519PublicKey(
                    mlkem.MLKEM768PublicKey.from_public_bytes(self.raw[:1184]),
                    x25519.X25519PublicKey.from_public_bytes(self.raw[1184:]),
                )
            return x25519.X25519PublicKey.from_public_bytes(self.raw)
        except ValueError as exc:
            raise KeyFormatError(f"{self.suite.value} public key is malformed: {exc}") from None


@dataclass(frozen=True)
class SealingPrivateKey:
    suite: Suite
    raw: bytes  # ML-KEM-768 seed (64) || X25519 private (32), or X25519 private (32)

    @classmethod
    def generate(cls, suite: Suite) -> "SealingPrivateKey":
        xk = x25519.X25519PrivateKey.generate().private_bytes_raw()
        if suite is Suite.MLKEM768_X25519:
            return cls(suite, mlkem.MLKEM768PrivateKey.generate().private_bytes_raw() + xk)
        return cls(suite, xk)

    def hpke_key(self):
        return self._hpke_key

    @cached_property
    def _hpke_key(self):
        # Built once per key: deriving ML-KEM from its seed costs more than opening a packet.
        try:
            if self.suite is Suite.MLKEM768_X25519:
                return hpke.MLKEM768X25519PrivateKey(
                    mlkem.MLKEM768PrivateKey.from_seed_bytes(self.raw[:64]),
                    x25519.X25519PrivateKey.from_private_bytes(self.raw[64:]),
                )
            return x25519.X25519PrivateKey.from_private_bytes(self.raw)
        except ValueError as exc:
            raise KeyFormatError(f"{self.suite.value} private key is malformed: {exc}") from None

    @cached_property
    def public(self) -> SealingPublicKey:
        if self.suite is Suite.MLKEM768_X25519:
            m = mlkem.MLKEM768PrivateKey.from_seed_bytes(self.raw[:64]).public_key().public_bytes_raw()
            x = x25519.X25519PrivateKey.from_private_bytes(self.raw[64:]).public_key().public_bytes_raw()
            return SealingPublicKey(self.suite, m + x)
        return SealingPublicKey(
            self.suite, x25519.X25519PrivateKey.from_private_bytes(self.raw).public_key().public_bytes_raw()
        )

    def __repr__(self) -> str:  # never print key material
        return f"SealingPrivateKey({self.suite.value}, kid={self.public.kid})"


@dataclass(frozen=True)
class ControllerKeys:
    """All of the controller's sealing keys: one per suite."""

    keys: tuple[SealingPrivateKey, ...]

    @classmethod
    def generate(cls) -> "ControllerKeys":
        return cls(tuple(SealingPrivateKey.generate(s) for s in Suite))

    def by_kid(self, kid: str) -> SealingPrivateKey | None:
        for k in self.keys:
            if k.public.kid == kid:
                return k
        return None

    @property
    def public(self) -> "ControllerPublicKeys":
        return ControllerPublicKeys(tuple(k.public for k in self.keys))

    def to_pem(self) -> bytes:
        body = {"v": 1, "keys": [{"suite": k.suite.value, "raw": k.raw} for k in self.keys]}
        return _armor(_PRIVATE_LABEL, cbor2.dumps(body))

    @classmethod
    def from_pem(cls, data: bytes) -> "ControllerKeys":
        body = _unarmor(_PRIVATE_LABEL, data)
        return cls(tuple(SealingPrivateKey(s, raw) for s, raw in _suites(body)))


@dataclass(frozen=True)
class ControllerPublicKeys:
    """What a station is given: the controller's public key for each suite."""

    keys: tuple[SealingPublicKey, ...]

    def for_suite(self, suite: Suite) -> SealingPublicKey:
        for k in self.keys:
            if k.suite is suite:
                return k
        raise KeyFormatError(f"controller public key file has no {suite.value} key")

    def to_pem(self) -> bytes:
        body = {"v": 1, "keys": [{"suite": k.suite.value, "raw": k.raw} for k in self.keys]}
        return _armor(_PUBLIC_LABEL, cbor2.dumps(body))

    @classmethod
    def from_pem(cls, data: bytes) -> "ControllerPublicKeys":
        body = _unarmor(_PUBLIC_LABEL, data)
        keys = tuple(SealingPublicKey(s, raw) for s, raw in _suites(body))
        for k in keys:
            k.hpke_key()  # validate now, not at the first enrollment
        return cls(keys)


def _suites(body: object) -> list[tuple[Suite, bytes]]:
    if not isinstance(body, dict) or body.get("v") != 1 or not isinstance(body.get("keys"), list):
        raise KeyFormatError("key file has an unknown layout (expected version 1)")
    out = []
    for entry in body["keys"]:
        try:
            out.append((Suite(entry["suite"]), bytes(entry["raw"])))
        except (KeyError, TypeError, ValueError):
            suite = entry.get("suite") if isinstance(entry, dict) else None
            raise KeyFormatError(f"key file names an unknown suite: {str(suite)[:60]!r}") from None
    if not out:
        raise KeyFormatError("key file holds no keys")
    return out


def _armor(label: str, data: bytes) -> bytes:
    b64 = base64.b64encode(data).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return ("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n").encode()


def _unarmor(label: str, data: bytes) -> object:
    text = data.decode("ascii", errors="replace")
    m = re.search(rf"-----BEGIN {label}-----\s+(.*?)\s+-----END {label}-----", text, re.S)
    if m is None:
        raise KeyFormatError(f"not a {label.lower()} file (no '-----BEGIN {label}-----' block)")
    try:
        return cbor2.loads(base64.b64decode("".join(m.group(1).split()), validate=True))
    except (ValueError, cbor2.CBORDecodeError) as exc:
        raise KeyFormatError(f"{label.lower()} is corrupt: {exc}") from None

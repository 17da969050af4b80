"""Export batches sealed to the central system, and the manifest the controller signs.

A batch file is CBOR::

    {"v": 1, "batch_id": str, "origin": str, "created_at": float, "count": int,
     "suite": str, "kid": str, "ct": <HPKE ciphertext>}

``ct`` is RFC 9180 HPKE (single-shot, base mode, the same suites as the
station packets) of the canonical CBOR list ``[[packet_id, transaction], ...]``
to the central system's public key ``kid``; every other field is bound in
through HPKE ``info``. The transactions exist in plaintext only in memory.

The manifest is JSON, readable by anyone who handles the files::

    {"manifest": {"v": 1, "batch_id", "origin", "created_at", "count", "suite", "kid",
                  "sealed_sha256", "sealed_size", "signer",
                  "items": [{"packet_id", "sha256"}, ...]},
     "signature": base64(Ed25519 over the manifest's canonical JSON)}

It carries no personal data: packet ids and hashes only. It is signed with
the controller's *export signing key*, an Ed25519 key kept apart from the
HPKE keys: those are KEM keys and cannot sign, and keeping the signing key
separate lets the central system trust (and revoke) what the controller
hands over without ever holding anything that opens a station's packets.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

import cbor2

from controller.errors import ControllerError
from protocol.keys import SealingPrivateKey, SealingPublicKey, SigningKey, Suite, VerifyKey

BATCH_VERSION = 1
_INFO_LABEL = b"rekam/v1/export-batch\0"
_HEADER_FIELDS = ("v", "batch_id", "origin", "created_at", "count", "suite", "kid")


class BatchError(ControllerError):
    """A batch or manifest that cannot be used; ``reason_id`` is stable."""

    def __init__(self, reason_id: str, message: str) -> None:
        super().__init__(message)
        self.reason_id = reason_id


@dataclass(frozen=True)
class SealedBatch:
    batch_id: str
    data: bytes  # the sealed file
    manifest: bytes  # the signed manifest (JSON)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def __repr__(self) -> str:
        return f"SealedBatch({self.batch_id}, {len(self.data)} bytes)"


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _info(header: dict) -> bytes:
    return _INFO_LABEL + cbor2.dumps(header, canonical=True)


def seal_batch(batch_id: str, transactions: list[tuple[str, bytes]], *, origin: str, created_at: float,
               central_key: SealingPublicKey, signing_key: SigningKey) -> SealedBatch:
    """Seal ``(packet_id, transaction)`` pairs to the centre and sign their manifest."""
    header = {"v": BATCH_VERSION, "batch_id": batch_id, "origin": origin, "created_at": created_at,
              "count": len(transactions), "suite": central_key.suite.value, "kid": central_key.kid}
    plaintext = cbor2.dumps([[pid, tx] for pid, tx in transactions], canonical=True)
    try:
        ct = central_key.suite.hpke.encrypt(plaintext, central_key.hpke_key(), info=_info(header))
    finally:
        del plaintext
    data = cbor2.dumps({**header, "ct": ct}, canonical=True)
    manifest = {**header, "sealed_sha256": hashlib.sha256(data).hexdigest(), "sealed_size": len(data),
                "signer": signing_key.public.kid,
                "items": [{"packet_id": pid, "sha256": hashlib.sha256(tx).hexdigest()} for pid, tx in transactions]}
    signed = {"manifest": manifest, "signature": base64.b64encode(signing_key.sign(canonical_json(manifest))).decode()}
    return SealedBatch(batch_id, data, json.dumps(signed, indent=1, sort_keys=True).encode())


def read_manifest(data: bytes, trusted: dict[str, VerifyKey]) -> dict:
    """The manifest if its signature is from a trusted signer (kid -> key); BatchError otherwise."""
    try:
        signed = json.loads(data)
        manifest, signature = signed["manifest"], base64.b64decode(signed["signature"], validate=True)
        signer = manifest["signer"]
    except (ValueError, KeyError, TypeError):
        raise BatchError("bad_manifest", "manifest is not a signed rekam export manifest") from None
    key = trusted.get(signer)
    if key is None:
        raise BatchError("unknown_signer", f"manifest is signed by key {str(signer)[:40]!r}, which is not trusted")
    if not key.verify(signature, canonical_json(manifest)):
        raise BatchError("bad_signature", "manifest signature does not verify")
    return manifest


def open_batch(data: bytes, manifest: dict, keys: list[SealingPrivateKey]) -> list[tuple[str, bytes]]:
    """The ``(packet_id, transaction)`` pairs of a sealed batch, checked against its verified manifest."""
    if hashlib.sha256(data).hexdigest() != manifest.get("sealed_sha256"):
        raise BatchError("hash_mismatch", "sealed batch does not match its manifest's hash")
    try:
        body = cbor2.loads(data)
        header = {k: body[k] for k in _HEADER_FIELDS}
        ct = body["ct"]
    except (cbor2.CBORDecodeError, ValueError, KeyError, TypeError, EOFError):
        raise BatchError("malformed", "sealed batch is not a rekam export batch") from None
    if header["v"] != BATCH_VERSION:
        raise BatchError("unsupported_version", f"batch version {header['v']!r:.20} is not {BATCH_VERSION}")
    if any(header[k] != manifest.get(k) for k in _HEADER_FIELDS):
        raise BatchError("header_mismatch", "sealed batch header differs from its manifest")
    key = next((k for k in keys if k.public.kid == header["kid"]), None)
    if key is None or key.suite is not Suite(header["suite"]):
        raise BatchError("unknown_key", f"batch is sealed to key {str(header['kid'])[:40]!r}, not held here")
    try:
        plaintext = key.suite.hpke.decrypt(ct, key.hpke_key(), info=_info(header))
    except Exception:  # InvalidTag or ValueError: both mean altered or not for us
        raise BatchError("decrypt_failed", "sealed batch does not decrypt") from None
    pairs = [(str(pid), bytes(tx)) for pid, tx in cbor2.loads(plaintext)]
    items = manifest.get("items") or []
    if len(pairs) != header["count"] or len(items) != len(pairs):
        raise BatchError("count_mismatch", "batch holds a different number of records than its manifest")
    for (pid, tx), item in zip(pairs, items):
        if item.get("packet_id") != pid or item.get("sha256") != hashlib.sha256(tx).hexdigest():
            raise BatchError("item_mismatch", f"record {pid} does not match its manifest entry")
    return pairs

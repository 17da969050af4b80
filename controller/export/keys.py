"""Key files of the hand-off: the central system's HPKE key, the controller's export signing key.

* The central system's public key (``[export] central_public_key``) is what
  batches are sealed to: PEM-armoured CBOR ``{"v": 1, "suite", "raw"}``
  (label ``REKAM CENTRAL PUBLIC KEY``); the private half stays with the
  centre (the emulator writes both).
* The export signing key (``keys/export-signing.key``, 0600, Ed25519 PKCS#8;
  public half ``.pub``, given to the central system) signs manifests.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import cbor2

from adapters.files import load_key, write_atomic
from controller.errors import KeyFileError
from protocol.keys import DEFAULT_SUITE, KeyFormatError, SealingPrivateKey, SealingPublicKey, SigningKey, Suite

PUBLIC_LABEL = "REKAM CENTRAL PUBLIC KEY"
PRIVATE_LABEL = "REKAM CENTRAL PRIVATE KEY"


def _armor(label: str, body: dict) -> bytes:
    b64 = base64.b64encode(cbor2.dumps(body)).decode()
    lines = [b64[i: i + 64] for i in range(0, len(b64), 64)]
    return ("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n").encode()


def _unarmor(label: str, data: bytes) -> tuple[Suite, bytes]:
    m = re.search(rf"-----BEGIN {label}-----\s+(.*?)\s+-----END {label}-----", data.decode("ascii", "replace"), re.S)
    if m is None:
        raise KeyFormatError(f"not a {label.lower()} file (no '-----BEGIN {label}-----' block)")
    try:
        body = cbor2.loads(base64.b64decode("".join(m.group(1).split()), validate=True))
        return Suite(body["suite"]), bytes(body["raw"])
    except (ValueError, KeyError, TypeError, cbor2.CBORDecodeError):
        raise KeyFormatError(f"{label.lower()} is corrupt or names an unknown suite") from None


def central_public_from_pem(data: bytes) -> SealingPublicKey:
    key = SealingPublicKey(*_unarmor(PUBLIC_LABEL, data))
    key.hpke_key()  # refuse a malformed key now, not at the first batch
    return key


def central_private_from_pem(data: bytes) -> SealingPrivateKey:
    key = SealingPrivateKey(*_unarmor(PRIVATE_LABEL, data))
    key.hpke_key()
    return key


def create_central_keys(private_path: Path, public_path: Path, suite: Suite = DEFAULT_SUITE) -> SealingPrivateKey:
    key = SealingPrivateKey.generate(suite)
    write_atomic(private_path, _armor(PRIVATE_LABEL, {"v": 1, "suite": suite.value, "raw": key.raw}), 0o600)
    write_atomic(public_path, central_public_pem(key.public), 0o644)
    return key


def central_public_pem(key: SealingPublicKey) -> bytes:
    return _armor(PUBLIC_LABEL, {"v": 1, "suite": key.suite.value, "raw": key.raw})


def load_central_public(path: Path) -> SealingPublicKey:
    return load_key(path, central_public_from_pem, what="central system public key", private=False,
                    missing_hint="ask the central system for it and set [export] central_public_key",
                    error=KeyFileError)


def load_central_private(path: Path) -> SealingPrivateKey:
    return load_key(path, central_private_from_pem, what="central system private key", private=True,
                    missing_hint="run: rekam central init", error=KeyFileError)


def create_signing_key(private_path: Path, public_path: Path, *, force: bool = False) -> SigningKey:
    if private_path.exists() and not force:
        raise KeyFileError(f"{private_path} already exists; refusing to replace the export signing key "
                           "(the central system trusts its public half)")
    key = SigningKey.generate()
    write_atomic(private_path, key.to_pem(), 0o600)
    write_atomic(public_path, key.public.to_pem(), 0o644)
    return key


def load_signing_key(path: Path) -> SigningKey:
    return load_key(path, SigningKey.from_pem, what="export signing key", private=True,
                    missing_hint="run: rekam controller export init", error=KeyFileError)

"""The de-duplication index at rest: each record's vector and templates AES-GCM sealed, opened only into memory.

The key is derived (HKDF-SHA256) from the controller's X25519 private key,
so the rows open only where the packets open; the packet id is bound in as
associated data, so a row cannot be moved to another packet.
"""

from __future__ import annotations

import os

import cbor2
import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from controller.dedup.descriptor import DIM, FINGERS
from controller.dedup.index import TemplateIndex
from protocol.keys import ControllerKeys, Suite


def index_key(keys: ControllerKeys) -> AESGCM:
    base = next((k for k in keys.keys if k.suite is Suite.X25519), keys.keys[0])
    secret = HKDF(hashes.SHA256(), 32, salt=None, info=b"rekam/v1/dedup-index").derive(base.raw)
    return AESGCM(secret)


_VEC_BYTES = FINGERS + FINGERS * DIM * 2


def seal_row(aead: AESGCM, packet_id: str, vec: np.ndarray, mask: np.ndarray,
             templates: dict[int, bytes] | None = None) -> tuple[str, bytes, bytes]:
    """The record's vector (for the index) and its templates (for verifying candidates), sealed."""
    nonce = os.urandom(12)
    body = mask.astype(np.uint8).tobytes() + vec.astype(np.float16).tobytes() + cbor2.dumps(templates or {})
    return packet_id, nonce, aead.encrypt(nonce, body, packet_id.encode())


def open_templates(aead: AESGCM, row: tuple[str, bytes, bytes]) -> dict[int, bytes]:
    """A candidate's templates, into memory only; {} if the row does not open."""
    packet_id, nonce, sealed = row
    try:
        body = aead.decrypt(nonce, sealed, packet_id.encode())
    except InvalidTag:
        return {}
    return {int(k): bytes(v) for k, v in cbor2.loads(body[_VEC_BYTES:]).items()}


def load_index(aead: AESGCM, rows: list[tuple[str, bytes, bytes]], *, min_common: int = 4) -> TemplateIndex:
    index = TemplateIndex(max(1024, len(rows)), min_common=min_common)
    for packet_id, nonce, sealed in rows:
        try:
            body = aead.decrypt(nonce, sealed, packet_id.encode())
        except InvalidTag:
            continue  # altered, or sealed under another controller key: not usable here
        mask = np.frombuffer(body, np.uint8, FINGERS).astype(bool)
        vec = np.frombuffer(body[:_VEC_BYTES], np.float16, FINGERS * DIM, FINGERS).astype(np.float32)
        index.add(packet_id, vec, mask)
    return index

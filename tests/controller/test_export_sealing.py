"""Export batches: sealed to the centre's key, manifests signed by the export key; every alteration refused."""

from __future__ import annotations

import json

import pytest

from controller.export.sealing import BatchError, open_batch, read_manifest, seal_batch
from protocol.keys import SealingPrivateKey, SigningKey, Suite

CENTRAL = SealingPrivateKey.generate(Suite.MLKEM768_X25519)
SIGNER = SigningKey.generate()
TRUSTED = {SIGNER.public.kid: SIGNER.public}
TXS = [("p-1", b"1.001:transaction one" * 50), ("p-2", b"1.001:transaction two" * 50)]


def sealed():
    return seal_batch("b-1", TXS, origin="controller-1", created_at=1.5e9, central_key=CENTRAL.public,
                      signing_key=SIGNER)


def test_a_batch_opens_only_with_the_centres_key_and_matches_its_manifest():
    s = sealed()
    manifest = read_manifest(s.manifest, TRUSTED)
    assert manifest["count"] == 2 and manifest["origin"] == "controller-1" and manifest["batch_id"] == "b-1"
    assert [i["packet_id"] for i in manifest["items"]] == ["p-1", "p-2"]
    assert open_batch(s.data, manifest, [CENTRAL]) == TXS
    assert b"transaction one" not in s.data and b"transaction one" not in s.manifest
    with pytest.raises(BatchError) as exc:
        open_batch(s.data, manifest, [SealingPrivateKey.generate(Suite.MLKEM768_X25519)])
    assert exc.value.reason_id == "unknown_key"


def test_untrusted_or_altered_manifests_are_refused():
    s = sealed()
    with pytest.raises(BatchError) as exc:
        read_manifest(s.manifest, {})
    assert exc.value.reason_id == "unknown_signer"
    doc = json.loads(s.manifest)
    doc["manifest"]["count"] = 3
    with pytest.raises(BatchError) as exc:
        read_manifest(json.dumps(doc).encode(), TRUSTED)
    assert exc.value.reason_id == "bad_signature"
    with pytest.raises(BatchError) as exc:
        read_manifest(b"not json", TRUSTED)
    assert exc.value.reason_id == "bad_manifest"


def test_an_altered_batch_is_refused_before_decryption():
    s = sealed()
    manifest = read_manifest(s.manifest, TRUSTED)
    altered = bytearray(s.data)
    altered[-5] ^= 1
    with pytest.raises(BatchError) as exc:
        open_batch(bytes(altered), manifest, [CENTRAL])
    assert exc.value.reason_id == "hash_mismatch"
    other = seal_batch("b-2", TXS[:1], origin="controller-1", created_at=1.5e9, central_key=CENTRAL.public,
                       signing_key=SIGNER)
    with pytest.raises(BatchError) as exc:  # a valid batch under another batch's manifest
        open_batch(other.data, manifest, [CENTRAL])
    assert exc.value.reason_id == "hash_mismatch"

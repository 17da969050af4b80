import dataclasses
import uuid

import cbor2
import pytest

from protocol import packet
from protocol.keys import ControllerKeys, ControllerPublicKeys, SigningKey, Suite
from protocol.record import EnrollmentRecord
from tests.fixtures.records import make_record


@pytest.fixture(scope="module")
def controller() -> ControllerKeys:
    return ControllerKeys.generate()


@pytest.fixture(scope="module")
def station_key() -> SigningKey:
    return SigningKey.generate()


def sealed(controller, station_key, suite=Suite.MLKEM768_X25519, plaintext=None, **kw):
    pt = plaintext if plaintext is not None else make_record().to_cbor()
    return packet.seal(
        pt, station_id="st-01", seq=7, controller_key=controller.public.for_suite(suite), station_key=station_key, **kw
    )


@pytest.mark.parametrize("suite", list(Suite))
def test_round_trip_each_suite(controller, station_key, suite):
    record = make_record()
    env = sealed(controller, station_key, suite, record.to_cbor())
    data = env.to_bytes()
    opened_env, plaintext = packet.open_packet(data, station_key.public, controller)
    assert opened_env.header == env.header
    assert opened_env.header.suite is suite
    assert EnrollmentRecord.from_cbor(plaintext) == record


def test_default_suite_is_post_quantum_hybrid(controller, station_key):
    env = sealed(controller, station_key)
    assert env.header.suite is Suite.MLKEM768_X25519
    # ML-KEM-768 + X25519 encapsulated key (1120 bytes) makes the ciphertext longer than the X25519 one
    compat = sealed(controller, station_key, Suite.X25519)
    assert len(env.ciphertext) - len(compat.ciphertext) == 1120 - 32


def test_plaintext_not_visible_in_packet(controller, station_key):
    marker = b"NIK-3372054512900001-face"
    data = sealed(controller, station_key, plaintext=marker * 10).to_bytes()
    assert marker not in data
    assert b"3372054512900001" not in data


def test_packet_ids_are_uuid7_and_time_ordered():
    ids = [packet.uuid7(now_ms=1_700_000_000_000 + i) for i in range(50)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def _reason(data, station_key, controller):
    with pytest.raises(packet.PacketError) as err:
        packet.open_packet(data, station_key.public, controller)
    return err.value.reason_id


def _flip(data: bytes, field: str, controller=None) -> bytes:
    body = cbor2.loads(data)
    v = bytearray(body[field])
    v[len(v) // 2] ^= 0x01
    body[field] = bytes(v)
    return cbor2.dumps(body, canonical=True)


def test_tampered_ciphertext_fails_signature(controller, station_key):
    data = _flip(sealed(controller, station_key).to_bytes(), "ct")
    assert _reason(data, station_key, controller) == "bad_signature"


def test_tampered_signature(controller, station_key):
    data = _flip(sealed(controller, station_key).to_bytes(), "sig")
    assert _reason(data, station_key, controller) == "bad_signature"


def test_tampered_header(controller, station_key):
    body = cbor2.loads(sealed(controller, station_key).to_bytes())
    body["seq"] = 8
    assert _reason(cbor2.dumps(body), station_key, controller) == "bad_signature"


def test_resigned_header_change_still_fails_decrypt(controller, station_key):
    """Even the station's own key cannot move a ciphertext under another header: HPKE info binds it."""
    env = sealed(controller, station_key)
    forged_header = dataclasses.replace(env.header, seq=99)
    unsigned = packet.Envelope(forged_header, env.ciphertext, b"")
    forged = packet.Envelope(forged_header, env.ciphertext, station_key.sign(unsigned.signed_bytes()))
    assert _reason(forged.to_bytes(), station_key, controller) == "decrypt_failed"


def test_resigned_ciphertext_change_fails_decrypt(controller, station_key):
    env = sealed(controller, station_key)
    ct = bytearray(env.ciphertext)
    ct[-5] ^= 0xFF
    unsigned = packet.Envelope(env.header, bytes(ct), b"")
    forged = packet.Envelope(env.header, bytes(ct), station_key.sign(unsigned.signed_bytes()))
    assert _reason(forged.to_bytes(), station_key, controller) == "decrypt_failed"


def test_wrong_station_key(controller, station_key):
    other = SigningKey.generate()
    data = sealed(controller, other).to_bytes()
    assert _reason(data, station_key, controller) == "wrong_station_key"


def test_forged_key_id_with_other_key_fails_signature(controller, station_key):
    """A thief's key that claims the station's key id still cannot sign."""
    other = SigningKey.generate()
    env = sealed(controller, other)
    header = dataclasses.replace(env.header, skid=station_key.public.kid)
    unsigned = packet.Envelope(header, env.ciphertext, b"")
    forged = packet.Envelope(header, env.ciphertext, other.sign(unsigned.signed_bytes()))
    assert _reason(forged.to_bytes(), station_key, controller) == "bad_signature"


def test_wrong_controller_key(controller, station_key):
    stranger = ControllerKeys.generate()
    data = sealed(stranger, station_key).to_bytes()
    assert _reason(data, station_key, controller) == "unknown_controller_key"


@pytest.mark.parametrize("cut", [1, 10, 100, 1000])
def test_truncated_cbor(controller, station_key, cut):
    data = sealed(controller, station_key).to_bytes()
    assert _reason(data[:-cut], station_key, controller) == "malformed"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "malformed"),
        (b"garbage", "malformed"),
        (cbor2.dumps([1, 2, 3]), "malformed"),
        (cbor2.dumps({"v": 2}), "malformed"),
        (cbor2.dumps({"v": 1, "id": b"x"}), "malformed"),
    ],
)
def test_garbage(controller, station_key, data, reason):
    assert _reason(data, station_key, controller) == reason


def _resigned(env: packet.Envelope, station_key: SigningKey, **header_changes) -> bytes:
    """What a station running other software would send: a changed header, signed with its key."""
    header = dataclasses.replace(env.header, **header_changes)
    unsigned = packet.Envelope(header, env.ciphertext, b"")
    return packet.Envelope(header, env.ciphertext, station_key.sign(unsigned.signed_bytes())).to_bytes()


def test_unknown_suite_and_future_version_are_refused_only_after_the_signature(controller, station_key):
    env = sealed(controller, station_key)
    assert _reason(_resigned(env, station_key, suite="rot13"), station_key, controller) == "unknown_suite"
    assert _reason(_resigned(env, station_key, version=2), station_key, controller) == "unsupported_version"
    body = cbor2.loads(env.to_bytes())
    body["suite"] = "rot13"  # not re-signed: a forgery, whatever it claims
    assert _reason(cbor2.dumps(body, canonical=True), station_key, controller) == "bad_signature"


def test_what_is_stored_is_exactly_what_was_signed(controller, station_key):
    """Junk after the map, extra keys, other types or another encoding of the same values are all refused."""
    data = sealed(controller, station_key).to_bytes()
    body = cbor2.loads(data)
    cases = {
        "padding": data + b"\x00" * 1_000_000,
        "extra key": cbor2.dumps({**body, "junk": b"x" * 1000}, canonical=True),
        "float version": cbor2.dumps({**body, "v": 1.0}, canonical=True),
        "int time": cbor2.dumps({**body, "sealed_at": int(body["sealed_at"])}, canonical=True),
        "seq past 2**63": cbor2.dumps({**body, "seq": 2**63}, canonical=True),
        "time at infinity": cbor2.dumps({**body, "sealed_at": float("inf")}, canonical=True),
        "negative seq": cbor2.dumps({**body, "seq": -1}, canonical=True),
    }
    for what, bad in cases.items():
        with pytest.raises(packet.PacketError) as err:
            packet.parse(bad)
        assert err.value.reason_id == "malformed", what
    reordered = cbor2.dumps(dict(reversed(list(body.items()))))  # same values, not canonical key order
    with pytest.raises(packet.PacketError) as err:
        packet.parse(reordered)
    assert err.value.reason_id == "non_canonical"
    assert packet.parse(data).to_bytes() == data


def test_nested_junk_is_refused_before_the_decoder_runs(controller, station_key):
    body = cbor2.loads(sealed(controller, station_key).to_bytes())
    deep = b"\x81" * 4_000_000 + b"\x80"  # [[[[...]]]] four million deep: the decoder would recurse
    hostile = cbor2.dumps({**body, "ct": b""}, canonical=True).replace(b"\x62ct\x40", b"\x62ct" + deep)
    assert len(hostile) > 4_000_000
    with pytest.raises(packet.PacketError) as err:
        packet.parse(hostile)
    assert err.value.reason_id == "malformed" and "nested" in str(err.value)


def test_too_large_refused_before_parsing():
    with pytest.raises(packet.PacketError) as err:
        packet.parse(b"\x00" * 101, max_bytes=100)
    assert err.value.reason_id == "too_large"


def test_station_with_only_public_material_cannot_open(controller, station_key):
    """What a station holds: its signing key and the controller's public keys. Neither opens a packet."""
    env = sealed(controller, station_key)
    public_only = ControllerPublicKeys.from_pem(controller.public.to_pem())
    pub = public_only.for_suite(env.header.suite)
    with pytest.raises(TypeError):
        env.header.suite.hpke.decrypt(env.ciphertext, pub.hpke_key(), info=env.header.info())
    assert not hasattr(station_key, "decrypt")

import pytest

from protocol.keys import ControllerKeys, ControllerPublicKeys, KeyFormatError, SigningKey, Suite, VerifyKey


def test_controller_keys_round_trip_and_ids_stable():
    keys = ControllerKeys.generate()
    again = ControllerKeys.from_pem(keys.to_pem())
    assert [k.public.kid for k in again.keys] == [k.public.kid for k in keys.keys]
    assert {k.suite for k in keys.keys} == set(Suite)
    pub = ControllerPublicKeys.from_pem(keys.public.to_pem())
    assert pub.for_suite(Suite.X25519).kid == keys.public.for_suite(Suite.X25519).kid


def test_key_ids_differ_between_keys_and_suites():
    a, b = ControllerKeys.generate(), ControllerKeys.generate()
    kids = {k.public.kid for k in a.keys + b.keys}
    assert len(kids) == 4


def test_private_pem_is_not_a_public_pem():
    keys = ControllerKeys.generate()
    with pytest.raises(KeyFormatError, match="no '-----BEGIN REKAM CONTROLLER PUBLIC KEY-----'"):
        ControllerPublicKeys.from_pem(keys.to_pem())


def test_corrupt_key_file():
    pem = ControllerKeys.generate().public.to_pem().replace(b"A", b"!", 3)
    with pytest.raises(KeyFormatError):
        ControllerPublicKeys.from_pem(pem)


def test_repr_hides_key_material():
    keys = ControllerKeys.generate()
    for k in keys.keys:
        text = repr(k)
        assert "raw=" not in text and "\\x" not in text and k.raw.hex()[:16] not in text


def test_signing_key_pem_round_trip_and_verify():
    sk = SigningKey.generate()
    again = SigningKey.from_pem(sk.to_pem())
    vk = VerifyKey.from_pem(sk.public.to_pem())
    sig = again.sign(b"hello")
    assert vk.verify(sig, b"hello")
    assert not vk.verify(sig, b"hellO")
    assert vk.kid == sk.public.kid


def test_signing_key_must_be_ed25519():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyFormatError, match="must be Ed25519"):
        SigningKey.from_pem(pem)

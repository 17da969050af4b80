"""The fleet CA and controller-side provisioning: what is issued, what is refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controller.provisioning import ca as ca_mod
from controller.provisioning import stations as prov
from controller.store import Store
from protocol.keys import SigningKey
from tests.deploy.tls_fleet import make_tls_controller


@pytest.fixture
def ctl(tmp_path):
    ctl, _ = make_tls_controller(tmp_path / "controller", 8883, ("broker.rekam.test", "10.20.0.5"))
    return ctl


def csr_for(cn: str | list[str], key=None, *, extensions=()) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, c) for c in ([cn] if isinstance(cn, str) else cn)]
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
    for ext in extensions:
        b = b.add_extension(ext, critical=True)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), key


def signing_pem(key: SigningKey | None = None) -> bytes:
    return (key or SigningKey.generate()).public.to_pem()


def eku(cert: x509.Certificate) -> list:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_ca_init_issues_ca_controller_and_broker_certificates(ctl):
    paths = ca_mod.CaPaths.for_config(ctl.config)
    assert paths.ca_key.parent == ctl.config.private_key.parent  # beside the controller's keys
    for key in (paths.ca_key, paths.controllers_ca_key, paths.controller_key, paths.broker_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    ca = ca_mod.load_cert(paths.ca_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey) and ca.public_key().curve.name == "secp256r1"
    controller = ca_mod.load_cert(paths.controller_cert)
    assert ca_mod.common_name(controller) == "controller.controller-1"
    assert eku(controller) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    broker = ca_mod.load_cert(paths.broker_cert)
    assert eku(broker) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert ca_mod.server_hosts(broker) == ["broker.rekam.test", "10.20.0.5", "localhost", "127.0.0.1", "::1"]
    broker.verify_directly_issued_by(ca)
    # the controller's from the controllers' own CA: the only one their listener trusts
    controllers_ca = ca_mod.load_cert(paths.controllers_ca_cert)
    controller.verify_directly_issued_by(controllers_ca)
    assert controllers_ca.subject != ca.subject


def test_an_installation_from_before_gets_a_controllers_ca_and_a_controller_certificate_from_it(ctl):
    paths = ca_mod.CaPaths.for_config(ctl.config)
    paths.controllers_ca_key.unlink()
    paths.controllers_ca_cert.unlink()
    again = ca_mod.init(ctl.config, broker_hosts=[])
    assert {paths.controllers_ca_cert, paths.controller_cert} <= set(again.written) and not again.created_ca
    ca_mod.load_cert(paths.controller_cert).verify_directly_issued_by(ca_mod.load_cert(paths.controllers_ca_cert))


def test_ca_init_again_keeps_the_ca_and_reissues_only_when_asked(ctl):
    paths = ca_mod.CaPaths.for_config(ctl.config)
    first_ca, first_broker = paths.ca_cert.read_bytes(), paths.broker_cert.read_bytes()
    again = ca_mod.init(ctl.config, broker_hosts=["other.rekam.test"])
    assert not again.created_ca and again.written == ()
    assert paths.broker_cert.read_bytes() == first_broker
    renewed = ca_mod.init(ctl.config, broker_hosts=["other.rekam.test"], reissue=True)
    assert paths.ca_cert.read_bytes() == first_ca
    assert paths.broker_cert in renewed.written
    assert "other.rekam.test" in ca_mod.server_hosts(ca_mod.load_cert(paths.broker_cert))


def test_ca_init_refuses_a_ca_certificate_without_its_key_and_a_readable_key(ctl):
    paths = ca_mod.CaPaths.for_config(ctl.config)
    os.chmod(paths.ca_key, 0o644)
    with pytest.raises(ca_mod.CertificateError, match="readable by others"):
        ca_mod.init(ctl.config, broker_hosts=[])
    paths.ca_key.unlink()
    with pytest.raises(ca_mod.CertificateError, match="exists without its key"):
        ca_mod.init(ctl.config, broker_hosts=[])


def test_provision_issues_a_station_client_certificate_and_registers_the_key(ctl):
    key = SigningKey.generate()
    csr, mqtt_key = csr_for("st-01", extensions=[x509.BasicConstraints(ca=True, path_length=None)])
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    result = prov.provision(ctl.config, "st-01", csr_pem=csr, signing_key_pem=signing_pem(key), now=now)
    cert = result.certificate
    assert ca_mod.common_name(cert) == "st-01"
    assert eku(cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca  # the CSR asked; ignored
    assert cert.public_key().public_numbers() == mqtt_key.public_key().public_numbers()
    assert (cert.not_valid_after_utc - now).days == ca_mod.STATION_DAYS
    assert cert.not_valid_before_utc < now  # a Pi without RTC may boot with yesterday's clock
    cert.verify_directly_issued_by(result.ca_certificate)
    assert result.broker == prov.BrokerAddress("broker.rekam.test", 8883)  # first non-loopback name
    with Store(ctl.config.store_path) as store:
        assert store.station("st-01").key_id == key.public.kid
    body = json.loads(result.bundle)
    assert body["signing_key_id"] == key.public.kid
    assert body["controller_public_key"] == ctl.config.public_key.read_text()
    issued = list(ca_mod.CaPaths.for_config(ctl.config).issued_dir.glob("st-01-*.crt"))
    assert len(issued) == 1


def test_provisioning_again_renews_with_the_same_key_and_refuses_another(ctl):
    key = SigningKey.generate()
    first = prov.provision(ctl.config, "st-01", csr_pem=csr_for("st-01")[0], signing_key_pem=signing_pem(key))
    again = prov.provision(ctl.config, "st-01", csr_pem=csr_for("st-01")[0], signing_key_pem=signing_pem(key))
    assert first.newly_registered and not again.newly_registered
    assert again.certificate.serial_number != first.certificate.serial_number
    with pytest.raises(prov.ProvisioningError, match="registered with signing key"):
        prov.provision(ctl.config, "st-01", csr_pem=csr_for("st-01")[0], signing_key_pem=signing_pem())
    with Store(ctl.config.store_path) as store:
        store.revoke_station("st-01", "stolen")
    with pytest.raises(prov.ProvisioningError, match="revoked"):
        prov.provision(ctl.config, "st-01", csr_pem=csr_for("st-01")[0], signing_key_pem=signing_pem(key))


def _tampered_csr() -> bytes:
    pem, _ = csr_for("st-01")
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature
    return x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("station_id, csr, signing, match", [
    ("st-01", lambda: csr_for("st-02")[0], signing_pem, "the CSR is for 'st-02'"),
    ("st-01", lambda: csr_for(["st-01", "st-02"])[0], signing_pem, "exactly one CN"),
    ("st-01", _tampered_csr, signing_pem, "signature is not valid"),
    ("st-01", lambda: b"hello", signing_pem, "not a PEM certificate signing request"),
    ("controller.controller-1", lambda: csr_for("controller.controller-1")[0], signing_pem, "station id"),
    ("st-01", lambda: csr_for("st-01", ec.generate_private_key(ec.SECP256K1()))[0], signing_pem, "P-256"),
    ("st-01", lambda: csr_for("st-01")[0],
     lambda: ed25519.Ed25519PrivateKey.generate().private_bytes(
         serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
     "signing key is unusable"),
], ids=["other-cn", "two-cns", "bad-signature", "not-pem", "controller-name", "wrong-curve", "private-key-as-pub"])
def test_provision_refuses(ctl, station_id, csr, signing, match):
    with pytest.raises(ca_mod.CertificateError if match == "P-256" else prov.ProvisioningError, match=match):
        prov.provision(ctl.config, station_id, csr_pem=csr(), signing_key_pem=signing())
    with Store(ctl.config.store_path) as store:
        assert store.stations() == []  # nothing registered by a refused request


def test_provision_refuses_a_broker_address_the_broker_certificate_does_not_name(ctl):
    with pytest.raises(prov.ProvisioningError, match="not valid for 'elsewhere.test'"):
        prov.provision(ctl.config, "st-01", csr_pem=csr_for("st-01")[0], signing_key_pem=signing_pem(),
                       broker=prov.BrokerAddress("elsewhere.test"))
    ok = prov.provision(ctl.config, "st-01", csr_pem=csr_for("st-01")[0], signing_key_pem=signing_pem(),
                        broker=prov.BrokerAddress.parse("10.20.0.5:1884"))
    assert json.loads(ok.bundle)["broker"] == {"host": "10.20.0.5", "port": 1884, "mount_point": "st/"}


@pytest.mark.parametrize("text, expected", [
    ("broker.test", ("broker.test", 8883)), ("broker.test:1883", ("broker.test", 1883)),
    ("[::1]:8884", ("::1", 8884)), ("fd00::5", ("fd00::5", 8883)), ("10.0.0.1:8883", ("10.0.0.1", 8883)),
])
def test_broker_address_parse(text, expected):
    a = prov.BrokerAddress.parse(text)
    assert (a.host, a.port) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:99999", "host:x", "[::1", "[::1]x"])
def test_broker_address_parse_refuses(text):
    with pytest.raises(prov.ProvisioningError):
        prov.BrokerAddress.parse(text)

"""Station certificates renewed over MQTT before they expire, through the deployed TLS broker."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from controller.provisioning import ca as ca_mod
from controller.provisioning import stations as prov
from controller.provisioning.renewal import CRL_REFRESH_DAYS, RENEW_DAYS, refresh_crl, renew_due
from controller.provisioning.revocation import revoke
from controller.runtime import Renewals
from controller.service import ControllerService
from station import config as station_config
from station.certificate import install_renewal
from station.outbox import Outbox
from station.provisioning import install, keygen
from station.provisioning.paths import StationPaths
from station.uplink import Uplink
from tests.deploy.tls_fleet import start_fleet
from tests.fixtures.mqtt import wait_until


def provisioned(tmp_path, fleet, station_id: str, *, days: int):
    """A station as `keygen`, `provision` and `install-bundle` leave it, with a certificate of ``days``."""
    d = tmp_path / station_id
    d.mkdir()
    conf = d / "station.toml"
    conf.write_text(station_config.EXAMPLE.replace("/var/lib/rekam", str(d / "data")))
    cfg = station_config.load(conf)
    paths = StationPaths.from_config(cfg)
    keygen.keygen(paths, station_id)
    from station.provisioning.config_edit import update_config_file

    update_config_file(conf, {("station", "id"): station_id})
    result = prov.provision(fleet.ctl.config, station_id, csr_pem=paths.csr.read_bytes(),
                            signing_key_pem=paths.signing_pub.read_bytes(),
                            broker=prov.BrokerAddress(fleet.broker.host, fleet.broker.port), days=days)
    bundle = install.read_bundle(result.bundle)
    cfg = station_config.load(conf)
    install.verify_bundle(bundle, cfg, paths)
    install.install(bundle, conf, paths)
    return station_config.load(conf)


@pytest.fixture
def fleet(tmp_path):
    f = start_fleet(tmp_path)
    try:
        yield f
    finally:
        f.broker.close()


def test_a_certificate_near_its_end_is_renewed_over_mqtt_and_the_station_reconnects_with_it(tmp_path, fleet):
    cfg = provisioned(tmp_path, fleet, "st-01", days=10)
    old = x509.load_pem_x509_certificate(cfg.mqtt.cert_file.read_bytes())
    installed = []
    with fleet.ctl.store() as store, Outbox(tmp_path / "outbox.db") as outbox:
        service = ControllerService(fleet.ctl.config, store, fleet.ctl.keys).start()
        uplink = Uplink("st-01", cfg.mqtt, outbox, on_certificate=lambda u: installed.append(install_renewal(u, cfg)))
        uplink.start()
        try:
            assert uplink.wait_connected(15) and service.wait_connected(15)
            assert Renewals(fleet.paths, store).tick(service) == 1
            assert wait_until(lambda: installed == [True], 15), installed
        finally:
            uplink.stop()
        new = x509.load_pem_x509_certificate(cfg.mqtt.cert_file.read_bytes())
        assert new.not_valid_after_utc - old.not_valid_after_utc > dt.timedelta(days=100)
        assert new.public_key().public_numbers() == old.public_key().public_numbers()  # the same key
        again = Uplink("st-01", cfg.mqtt, outbox).start()  # a new TLS context: the renewed certificate
        try:
            assert again.wait_connected(15)
        finally:
            again.stop()
            service.stop()
        assert renew_due(fleet.paths, store) == []  # nothing more is due


def test_only_active_stations_near_their_end_are_renewed(tmp_path, fleet):
    provisioned(tmp_path, fleet, "st-01", days=RENEW_DAYS + 30)
    provisioned(tmp_path, fleet, "st-02", days=10)
    provisioned(tmp_path, fleet, "st-03", days=10)
    revoke(fleet.ctl.config, "st-03", "stolen")
    with fleet.ctl.store() as store:
        assert [r.station_id for r in renew_due(fleet.paths, store)] == ["st-02"]


def test_the_revocation_list_is_signed_again_before_it_expires_with_the_same_serials(tmp_path, fleet):
    """Nothing rewrote it: a year after `ca init` every handshake of the fleet would have failed."""
    provisioned(tmp_path, fleet, "st-03", days=10)
    revoke(fleet.ctl.config, "st-03", "stolen")
    before = x509.load_pem_x509_crl(fleet.paths.crl.read_bytes())
    assert not refresh_crl(fleet.paths)  # a year out: nothing to do
    assert fleet.paths.crl.read_bytes() == before.public_bytes(serialization.Encoding.PEM)
    later = before.next_update_utc - dt.timedelta(days=CRL_REFRESH_DAYS - 1)
    assert refresh_crl(fleet.paths, now=later)
    after = x509.load_pem_x509_crl(fleet.paths.crl.read_bytes())
    assert {r.serial_number for r in after} == {r.serial_number for r in before} != set()
    assert after.next_update_utc - later > dt.timedelta(days=300)
    assert after.is_signature_valid(fleet.ca.cert.public_key())


def test_a_station_refuses_a_renewal_for_another_key_another_station_or_an_older_one(tmp_path, fleet):
    cfg = provisioned(tmp_path, fleet, "st-01", days=10)
    current = cfg.mqtt.cert_file.read_bytes()
    with fleet.ctl.store() as store:
        [renewal] = renew_due(fleet.paths, store)
    message = renewal.message()
    other_key = fleet.ca.issue(ca_mod.generate_key().public_key(), "st-01", ca_mod.Usage.CLIENT, days=180,
                               names=ca_mod.identity_names("station", "st-01"))
    for bad in (
        type(message)("st-02", message.certificate_pem, message.not_after),
        type(message)("st-01", ca_mod.cert_pem(other_key).decode(), message.not_after),
        type(message)("st-01", current.decode(), message.not_after),
        type(message)("st-01", "-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n", 1.0),
    ):
        assert install_renewal(bad, cfg) is False
        assert cfg.mqtt.cert_file.read_bytes() == current
    assert install_renewal(message, cfg) is True


def test_station_certificates_are_short_lived_and_renewed_well_before_their_end():
    assert ca_mod.STATION_DAYS <= 180 and RENEW_DAYS < ca_mod.STATION_DAYS // 2

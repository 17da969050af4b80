"""Station side of provisioning: keygen, bundle verification, install, config editing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import stat
import tomllib
from pathlib import Path

import pytest
from cryptography import x509

from controller.provisioning import ca as ca_mod
from controller.provisioning import stations as cprov
from protocol.keys import SigningKey
from station import config as station_config
from station.errors import ConfigError, KeyFileError, ProvisioningError
from station.provisioning import config_edit, install, keygen
from station.provisioning.paths import StationPaths
from tests.deploy.rekam_commands import rekam
from tests.deploy.tls_fleet import make_tls_controller


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@dataclasses.dataclass
class Setup:
    ctl: object
    conf: Path
    data: Path
    bundle: bytes

    @property
    def cfg(self) -> station_config.StationConfig:
        return station_config.load(self.conf)

    @property
    def paths(self) -> StationPaths:
        return StationPaths.from_config(self.cfg)


def make_station(tmp_path: Path, station_id: str = "st-01") -> tuple[Path, Path]:
    data = tmp_path / "station" / "data"
    conf = tmp_path / "station" / "station.toml"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(station_config.EXAMPLE.replace("/var/lib/rekam", str(data)).replace('"st-01"', f'"{station_id}"'))
    return conf, data


@pytest.fixture
def setup(tmp_path) -> Setup:
    ctl, _ = make_tls_controller(tmp_path / "controller", 8883, ("broker.rekam.test",))
    conf, data = make_station(tmp_path)
    cfg = station_config.load(conf)
    keygen.keygen(StationPaths.from_config(cfg), "st-01")
    paths = StationPaths.from_config(cfg)
    result = cprov.provision(ctl.config, "st-01", csr_pem=paths.csr.read_bytes(),
                             signing_key_pem=paths.signing_pub.read_bytes())
    return Setup(ctl, conf, data, result.bundle)


# -- keygen ----------------------------------------------------------------------------
def test_keygen_makes_private_keys_0600_and_a_csr_for_the_station(tmp_path):
    d = tmp_path / "keys"
    result = keygen.keygen(StationPaths.in_dir(d), "st-09")
    p = result.paths
    assert mode(p.signing_key) == 0o600 and mode(p.mqtt_key) == 0o600
    assert mode(p.signing_pub) == 0o644 and mode(p.csr) == 0o644 and mode(d) == 0o700
    csr = x509.load_pem_x509_csr(p.csr.read_bytes())
    assert csr.is_signature_valid and ca_mod.common_name(csr) == "st-09"
    assert csr.public_key().public_numbers() == keygen.load_mqtt_key(p.mqtt_key).public_key().public_numbers()
    assert SigningKey.from_pem(p.signing_key.read_bytes()).public.kid == result.signing_key_id
    assert set(result.to_carry) == {p.csr, p.signing_pub}
    assert all(b"PRIVATE" not in f.read_bytes() for f in result.to_carry)


def test_keygen_refuses_to_replace_keys_unless_forced(tmp_path):
    paths = StationPaths.in_dir(tmp_path)
    first = keygen.keygen(paths, "st-01")
    with pytest.raises(KeyFileError, match="already exists"):
        keygen.keygen(paths, "st-01")
    assert SigningKey.from_pem(paths.signing_key.read_bytes()).public.kid == first.signing_key_id
    again = keygen.keygen(paths, "st-01", force=True)
    assert again.signing_key_id != first.signing_key_id


def test_keygen_cli_with_config_sets_the_station_id_and_keeps_comments(tmp_path, capsys):
    conf, data = make_station(tmp_path, "st-01")
    assert rekam("station", "keygen", "--config", conf, "--station-id", "st-44") == 0
    assert station_config.load(conf).station_id == "st-44"
    assert "# Lower-case letters, digits, '-' or '_'" in conf.read_text()
    out = capsys.readouterr().out
    assert str(data / "tls" / "station.csr") in out and str(data / "keys" / "station-signing.pub") in out
    with pytest.raises(ProvisioningError, match="station id 'Bad Id'"):
        rekam("station", "keygen", "--config", conf, "--station-id", "Bad Id", "--force")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to the data directory's owner needs root")
def test_keygen_as_root_gives_files_to_the_data_directory_owner(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    os.chown(d, 65534, 65534)
    paths = StationPaths.in_dir(d / "keys")
    keygen.keygen(paths, "st-01")
    for p in (d / "keys", paths.signing_key, paths.mqtt_key, paths.csr):
        assert (p.stat().st_uid, p.stat().st_gid) == (65534, 65534), p


# -- install-bundle ------------------------------------------------------------------------
def test_install_writes_files_and_points_the_config_at_them(setup):
    bundle = install.read_bundle(setup.bundle)
    install.verify_bundle(bundle, setup.cfg, setup.paths)
    install.install(bundle, setup.conf, setup.paths)
    cfg = setup.cfg
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.tls) == ("broker.rekam.test", 8883, True)
    assert cfg.mqtt.key_file == setup.data / "tls" / "station.key"
    assert cfg.controller_public_key.read_bytes() == setup.ctl.config.public_key.read_bytes()
    assert x509.load_pem_x509_certificate(cfg.mqtt.cert_file.read_bytes()) == bundle.client_cert
    assert mode(cfg.mqtt.ca_file) == 0o644 and mode(cfg.mqtt.key_file) == 0o600


def test_station_reads_the_bundle_format_the_controller_writes(setup):
    bundle = install.read_bundle(setup.bundle)
    assert bundle.ca_fingerprint == json.loads(setup.bundle)["ca_fingerprint_sha256"]
    assert (bundle.broker.host, bundle.broker.port, bundle.issued_by) == ("broker.rekam.test", 8883, "controller-1")


def _swap(setup: Setup, **fields) -> bytes:
    body = json.loads(setup.bundle)
    body.update(fields)
    return json.dumps(body).encode()


def _other_ca_and_its_cert(setup: Setup) -> dict[str, str]:
    other = ca_mod.FleetCA.create("a swapped CA")
    key = keygen.load_mqtt_key(setup.paths.mqtt_key)
    cert = other.issue(key.public_key(), "st-01", ca_mod.Usage.CLIENT, days=30,
                       names=ca_mod.identity_names("station", "st-01"))
    return {"ca_certificate": ca_mod.cert_pem(other.cert).decode(), "client_certificate": ca_mod.cert_pem(cert).decode()}


def _fleet_cert(setup: Setup, *, cn: str = "st-01", usage=ca_mod.Usage.CLIENT, key=None, now=None) -> str:
    fleet = ca_mod.FleetCA.load(ca_mod.CaPaths.for_config(setup.ctl.config))
    key = key or keygen.load_mqtt_key(setup.paths.mqtt_key)
    cert = fleet.issue(key.public_key(), cn, usage, days=10, now=now, names=ca_mod.identity_names("station", cn))
    return ca_mod.cert_pem(cert).decode()


CASES = {
    "other-station": (lambda s: _swap(s, station_id="st-02"), "the bundle is for station 'st-02'"),
    "client-cert-from-other-ca": (lambda s: _swap(s, client_certificate=_other_ca_and_its_cert(s)["client_certificate"]), "does not chain"),
    "server-cert": (lambda s: _swap(s, client_certificate=_fleet_cert(s, usage=ca_mod.Usage.SERVER)), "does not chain"),
    "cert-for-other-cn": (lambda s: _swap(s, client_certificate=_fleet_cert(s, cn="st-02")), r"names \['st-02'\]"),
    "cert-for-other-key": (lambda s: _swap(s, client_certificate=_fleet_cert(s, key=ca_mod.generate_key())),
                           "not for this station's MQTT key"),
    "expired-or-clock": (lambda s: _swap(s, client_certificate=_fleet_cert(
        s, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))), "check the clock"),
    "other-signing-key": (lambda s: _swap(s, signing_key_id="0123456789abcdef"), "registered signing key"),
    "bad-controller-key": (lambda s: _swap(s, controller_public_key="-----BEGIN REKAM CONTROLLER PUBLIC KEY-----\n"
                                                                     "AAAA\n-----END REKAM CONTROLLER PUBLIC KEY-----\n"),
                           "controller public key is unusable"),
    "not-json": (lambda s: s.bundle[:100], "not JSON"),
    "future-version": (lambda s: _swap(s, version=2), "version 2 is not supported"),
    "no-broker": (lambda s: _swap(s, broker={"host": "", "port": 8883}), r"bundle.broker.host: expected str of length >= 1"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_install_bundle_refuses_and_writes_nothing(setup, case):
    make, match = CASES[case]
    bad = setup.conf.parent / "bad.json"
    bad.write_bytes(make(setup))
    before = setup.conf.read_bytes()
    with pytest.raises(ProvisioningError, match=match):
        rekam("station", "install-bundle", bad, "--config", setup.conf)
    assert setup.conf.read_bytes() == before
    assert not setup.paths.ca_cert.exists() and not setup.paths.client_cert.exists()


def test_a_swapped_ca_is_caught_by_the_fingerprint_the_controller_printed(setup):
    """A bundle whose CA and certificate were both replaced is self-consistent; only the fingerprint tells."""
    good_fp = json.loads(setup.bundle)["ca_fingerprint_sha256"]
    swapped = setup.conf.parent / "swapped.json"
    swapped.write_bytes(_swap(setup, **_other_ca_and_its_cert(setup)))
    with pytest.raises(ProvisioningError, match="not the one the controller printed"):
        rekam("station", "install-bundle", swapped, "--config", setup.conf, "--expect-ca-fingerprint", good_fp)
    good = setup.conf.parent / "good.json"
    good.write_bytes(setup.bundle)
    assert rekam("station", "install-bundle", good, "--config", setup.conf,
                 "--expect-ca-fingerprint", good_fp.replace(":", "").lower()) == 0


# -- editing the TOML config ------------------------------------------------------------------
def test_set_toml_values_keeps_comments_and_layout():
    text = ('# top comment\n[station]\nid = "st-01"  # the id\n\n[mqtt]\n# where the broker is\n'
            'host = "old"   # inline\nport = 1883\n\n# trailing comment\n')
    out = config_edit.set_toml_values(text, {("mqtt", "host"): "new.example", ("mqtt", "tls"): True,
                                       ("keys", "controller_public_key"): "/x/controller.pub",
                                       ("station", "id"): "st-02"})
    assert tomllib.loads(out) == {"station": {"id": "st-02"},
                                  "mqtt": {"host": "new.example", "port": 1883, "tls": True},
                                  "keys": {"controller_public_key": "/x/controller.pub"}}
    for kept in ("# top comment", "# where the broker is", "# trailing comment", '"new.example"   # inline',
                 '"st-02"  # the id'):
        assert kept in out
    assert out.index("tls = true") < out.index("# trailing comment")  # added inside [mqtt], not at the end


def test_set_toml_values_refuses_layouts_it_cannot_edit_safely():
    with pytest.raises(ConfigError, match="set these by hand"):
        config_edit.set_toml_values('mqtt = { host = "a" }\n', {("mqtt", "host"): "b"})
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_edit.set_toml_values("[mqtt\n", {("mqtt", "host"): "b"})


def test_update_config_file_keeps_the_mode(tmp_path):
    conf, _ = make_station(tmp_path)
    os.chmod(conf, 0o640)
    config_edit.update_config_file(conf, {("mqtt", "host"): "b.example"})
    assert mode(conf) == 0o640 and station_config.load(conf).mqtt.host == "b.example"
    with pytest.raises(ConfigError, match="mqtt.port"):  # a value the station would refuse is never written
        config_edit.update_config_file(conf, {("mqtt", "port"): 0})
    assert station_config.load(conf).mqtt.port == 8883


def test_install_bundle_stops_before_writing_when_the_config_cannot_be_edited(setup):
    devices = "".join(f'[devices.{k}]\ndriver = "emulated"\n' for k in ("camera", "fingerprint", "signature", "indicators"))
    setup.conf.write_text(f'mqtt = {{ host = "old.example" }}\n[station]\nid = "st-01"\ndata_dir = "{setup.data}"\n'
                          + devices)
    bundle = setup.conf.parent / "bundle.json"
    bundle.write_bytes(setup.bundle)
    with pytest.raises(ConfigError, match="set these by hand"):
        rekam("station", "install-bundle", bundle, "--config", setup.conf)
    assert not (setup.data / "tls" / "ca.crt").exists() and not (setup.data / "tls" / "station.crt").exists()

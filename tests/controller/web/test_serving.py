"""`rekam controller run` serves the dashboard: on loopback by default, over TLS from a configured certificate,
and never on another address without TLS."""

from __future__ import annotations

import datetime as dt
import ssl
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from controller import config as config_mod
from controller.errors import ConfigError
from rekam.brokers import free_port, wait_for_port
from tests.fixtures.controller import make_controller_dir


def self_signed(path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    (path / "web.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (path / "web.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    return str(path / "web.crt"), str(path / "web.key")


def test_controller_run_serves_the_dashboard_over_tls(tmp_path, broker):
    cert, key = self_signed(tmp_path)
    port = free_port()
    ctl = make_controller_dir(tmp_path / "controller", broker, settings={
        "web": {"enabled": True, "port": port, "tls_cert": cert, "tls_key": key}})
    proc = ctl.spawn()
    try:
        assert wait_for_port("127.0.0.1", port, 30), (tmp_path / "controller" / "controller.log").read_text()
        insecure = ssl.create_default_context()
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE  # our own throwaway certificate
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/login", context=insecure, timeout=10) as r:
            body = r.read().decode()
            assert r.status == 200 and 'name="csrf_token"' in body
            assert r.headers["strict-transport-security"].startswith("max-age=")
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        secret = tmp_path / "controller" / "keys" / "web-session.key"
        assert secret.stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_another_address_without_tls_is_refused_at_start(tmp_path):
    with pytest.raises(ConfigError, match="not a loopback address"):
        config_mod.from_mapping({"web": {"enabled": True, "host": "0.0.0.0"}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="tls_cert and web.tls_key go together"):
        config_mod.from_mapping({"web": {"tls_cert": "a.crt"}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="notify.webhook_url must start with http"):
        config_mod.from_mapping({"notify": {"webhook_url": "ftp://x"}}, base_dir=tmp_path)
    cfg = config_mod.from_mapping({"web": {"enabled": True, "host": "0.0.0.0", "tls_cert": "tls/w.crt",
                                           "tls_key": "tls/w.key"}}, base_dir=tmp_path)
    assert cfg.web.tls_cert == tmp_path / "tls" / "w.crt" and cfg.web.secret_file.is_absolute()


def test_the_example_config_turns_the_dashboard_on_at_loopback(tmp_path):
    import tomllib

    cfg = config_mod.from_mapping(tomllib.loads(config_mod.EXAMPLE), base_dir=tmp_path)
    assert cfg.web.enabled and cfg.web.host == "127.0.0.1" and cfg.web.language == "id"
    assert cfg.notify.webhook_url == "" and cfg.fleet.stale_after_h == 24

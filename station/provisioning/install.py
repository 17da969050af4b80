"""``rekam station install-bundle``: check the bundle completely, then install it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

from protocol import bundle as bundle_mod
from protocol.bundle import Bundle
from protocol.keys import KeyFormatError
from station.config import StationConfig
from station.errors import ProvisioningError
from station.keyfiles import load_signing_key
from station.provisioning.config_edit import ConfigEdit
from station.provisioning.keygen import load_mqtt_key
from station.provisioning.paths import Files, StationPaths


def read_bundle(data: bytes) -> Bundle:
    """Parse a bundle file; every structural problem is one ProvisioningError."""
    try:
        return bundle_mod.decode(data)
    except bundle_mod.BundleError as exc:
        raise ProvisioningError(str(exc)) from None


def verify_bundle(bundle: Bundle, cfg: StationConfig, paths: StationPaths, *,
                  expect_ca_fingerprint: str | None = None, now: dt.datetime | None = None) -> None:
    """Every check, before anything is written; raises with the first thing that is wrong."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if bundle.station_id != cfg.station_id:
        raise ProvisioningError(f"the bundle is for station {bundle.station_id!r}, but this station is "
                                f"{cfg.station_id!r}: was the right bundle carried here?")
    if expect_ca_fingerprint is not None and _fp(expect_ca_fingerprint) != _fp(bundle.ca_fingerprint):
        raise ProvisioningError(f"the bundle's CA fingerprint {bundle.ca_fingerprint} is not the one the "
                                "controller printed; do not install this bundle")
    try:
        basic = bundle.ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is None or not basic.ca:
        raise ProvisioningError("the bundle's CA certificate is not a certificate authority")
    check_client_certificate(bundle.client_cert, bundle.ca_cert, cfg.station_id, paths.mqtt_key, now)
    signing = load_signing_key(paths.signing_key)
    if signing.public.kid != bundle.signing_key_id:
        raise ProvisioningError(f"the controller registered signing key {bundle.signing_key_id}, but this "
                                f"station's key is {signing.public.kid}: provision again with this station's "
                                f"{paths.signing_pub.name}")
    try:
        bundle.controller_public.for_suite(cfg.suite)
    except KeyFormatError as exc:
        raise ProvisioningError(f"the bundle's controller key cannot serve keys.suite: {exc}") from None


def check_client_certificate(cert: x509.Certificate, ca_cert: x509.Certificate, station_id: str,
                             mqtt_key_path: Path, now: dt.datetime) -> None:
    """A client certificate this station can use: from its CA, valid now, its id, its own MQTT key."""
    verifier = verification.PolicyBuilder().store(verification.Store([ca_cert])).time(now).build_client_verifier()
    try:
        verifier.verify(cert, [])
    except verification.VerificationError as exc:
        if "not valid at validation time" in str(exc):
            raise ProvisioningError(
                f"the station certificate is valid {cert.not_valid_before_utc:%Y-%m-%d} to "
                f"{cert.not_valid_after_utc:%Y-%m-%d}, but this station's clock says "
                f"{now:%Y-%m-%d %H:%M} UTC: check the clock, or provision again") from None
        raise ProvisioningError("the station certificate does not chain to the bundle's CA as a client "
                                f"certificate ({exc})") from None
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [c.value for c in cns] != [station_id]:
        raise ProvisioningError(f"the station certificate names {[c.value for c in cns]}, not {station_id!r}")
    mqtt_key = load_mqtt_key(mqtt_key_path)
    if _spki(cert.public_key()) != _spki(mqtt_key.public_key()):
        raise ProvisioningError(f"the station certificate is not for this station's MQTT key {mqtt_key_path}: "
                                "it was made from another CSR (keys regenerated since?); provision again "
                                "with this station's current station.csr")


def _fp(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", text.lower())


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class Installed:
    bundle: Bundle
    written: tuple[Path, ...]
    config_path: Path


def install(bundle: Bundle, config_path: Path, paths: StationPaths) -> Installed:
    """Write the certificates and the controller key, then point the config at them and the broker."""
    updates: dict[tuple[str, str], Any] = {
        ("mqtt", "host"): bundle.broker.host,
        ("mqtt", "port"): bundle.broker.port,
        ("mqtt", "mount_point"): bundle.broker.mount_point,
        ("mqtt", "tls"): True,
        ("mqtt", "ca_file"): str(paths.ca_cert),
        ("mqtt", "cert_file"): str(paths.client_cert),
        ("mqtt", "key_file"): str(paths.mqtt_key),
        ("keys", "controller_public_key"): str(paths.controller_pub),
    }
    edit = ConfigEdit.prepare(config_path, updates)  # a config we could not update stops us before any write
    files = Files(paths.owner_dir)
    written = []
    for path, data in ((paths.ca_cert, bundle.ca_cert.public_bytes(serialization.Encoding.PEM)),
                       (paths.client_cert, bundle.client_cert.public_bytes(serialization.Encoding.PEM)),
                       (paths.controller_pub, bundle.controller_public_key.encode())):
        files.write(path, data, 0o644)
        written.append(path)
    edit.commit()
    return Installed(bundle, tuple(written), config_path)



"""``rekam station keygen``: the station's two private keys, made here and never carried away."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.files import ec_private_key, load_key
from protocol.keys import SigningKey
from protocol.topics import TopicError, check_station_id
from station.errors import KeyFileError, ProvisioningError
from station.provisioning.paths import Files, StationPaths


@dataclass(frozen=True)
class KeygenResult:
    station_id: str
    paths: StationPaths
    signing_key_id: str

    @property
    def to_carry(self) -> tuple[Path, Path]:
        """The two public files the technician takes to the controller."""
        return (self.paths.csr, self.paths.signing_pub)


def keygen(paths: StationPaths, station_id: str, *, force: bool = False) -> KeygenResult:
    try:
        check_station_id(station_id)
    except TopicError as exc:
        raise ProvisioningError(str(exc)) from None
    if not force:
        for existing in (paths.signing_key, paths.mqtt_key):
            if existing.exists():
                raise KeyFileError(
                    f"{existing} already exists; refusing to replace this station's keys (the controller knows "
                    "the old ones, and outbox packets are signed with the old signing key). Upload the outbox "
                    "first, then use --force and provision the station again.")
    files = Files(paths.owner_dir)
    signing = SigningKey.generate()
    mqtt_key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station_id)]))
        .sign(mqtt_key, hashes.SHA256())
    )
    files.write(paths.signing_key, signing.to_pem(), 0o600)
    files.write(paths.signing_pub, signing.public.to_pem(), 0o644)
    files.write(paths.mqtt_key, mqtt_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()), 0o600)
    files.write(paths.csr, csr.public_bytes(serialization.Encoding.PEM), 0o644)
    return KeygenResult(station_id, paths, signing.public.kid)


def load_mqtt_key(path: Path) -> ec.EllipticCurvePrivateKey:
    return load_key(path, ec_private_key, what="the station's MQTT key", private=True,
                    missing_hint="make it with: rekam station keygen", error=KeyFileError)

"""The fleet certificate authority: one CA key, the certificates it issues.

The broker admits a client only with a certificate from this CA, and takes
the certificate's CN as the MQTT user name (Mosquitto's
``use_identity_as_username``), which the ACL file turns into topic rights.
So the CN *is* the identity, and these rules keep identities apart:

* a station certificate's CN is its station id (``protocol.topics`` rules);
* a controller certificate's CN is ``controller.<controller id>``, which can
  never be a station id (station ids have no '.'), so no station can be
  issued a controller's rights;
* client certificates carry only the clientAuth EKU and the broker's only
  serverAuth, so neither can stand in for the other;
* keys are EC P-256 with ECDSA-SHA256, which Mosquitto 2.0 (OpenSSL 1.1/3),
  Python's ssl and every TLS stack of the last decade accept.

The CA key lives beside the controller's own keys, mode 0600, and never
leaves the controller host; the broker gets only its own certificate and key.
Leaf certificates start one day in the past: a Raspberry Pi has no real-time
clock and may boot with yesterday's time until NTP answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from adapters import files
from controller.config import ControllerConfig
from controller.errors import ControllerError

CA_DAYS = 3650
SERVER_DAYS = 825
CONTROLLER_DAYS = 825
#: Half a year: a lost station's certificate dies on its own within a campaign's season; the
#: controller renews the rest over MQTT well before (controller.provisioning.renewal).
STATION_DAYS = 180
BACKDATE = dt.timedelta(days=1)
ORGANIZATION = "rekam"


class CertificateError(ControllerError):
    """A CA, certificate or CSR file is missing, malformed or not acceptable."""

    reason_id = "certificate"


class Usage(str, Enum):
    CLIENT = "client"
    SERVER = "server"


def controller_identity(controller_id: str) -> str:
    """The CN (and so the MQTT user name) of a controller's client certificate."""
    return f"controller.{controller_id}"


@dataclass(frozen=True)
class CaPaths:
    """Where the CA and the certificates issued at ``ca init`` live."""

    ca_key: Path
    ca_cert: Path
    #: A CA of its own for controller certificates: the controllers' listener trusts only it,
    #: so no station certificate (all from the fleet CA) can join the controllers' share group.
    controllers_ca_key: Path
    controllers_ca_cert: Path
    controller_cert: Path
    controller_key: Path
    broker_cert: Path
    broker_key: Path
    issued_dir: Path
    crl: Path

    @classmethod
    def for_config(cls, cfg: ControllerConfig) -> "CaPaths":
        base = cfg.source.resolve().parent if cfg.source else Path.cwd()
        ca_cert = cfg.mqtt.ca_file or base / "tls" / "ca.crt"
        tls = ca_cert.parent  # the broker's files and the issued copies go beside the CA certificate
        return cls(
            ca_key=cfg.private_key.parent / "fleet-ca.key",
            ca_cert=ca_cert,
            controllers_ca_key=cfg.private_key.parent / "controllers-ca.key",
            controllers_ca_cert=tls / "controllers-ca.crt",
            controller_cert=cfg.mqtt.cert_file or tls / "controller.crt",
            controller_key=cfg.mqtt.key_file or tls / "controller.key",
            broker_cert=tls / "broker.crt",
            broker_key=tls / "broker.key",
            issued_dir=tls / "issued",
            crl=tls / "crl.pem",
        )


# -- keys and files ---------------------------------------------------------------
def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """adapters.files.write_atomic, with a disk or permission failure told as a CertificateError."""
    try:
        files.write_atomic(path, data, mode)
    except OSError as exc:
        raise CertificateError(f"cannot write {path}: {exc.strerror}") from None


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as ``AB:CD:...`` (what ``openssl x509 -fingerprint -sha256`` prints)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def load_cert(path: Path, what: str = "certificate") -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise CertificateError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise CertificateError(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError:
        raise CertificateError(f"{what} {path} is not a PEM certificate") from None


def load_private_key(path: Path, what: str = "private key") -> ec.EllipticCurvePrivateKey:
    """Load an EC key, refusing one that others can read (it would have to be replaced)."""
    return files.load_key(path, files.ec_private_key, what=what, missing_hint="run: rekam controller ca init",
                          error=CertificateError, private=True)

# -- the CA -------------------------------------------------------------------------
@dataclass(frozen=True)
class FleetCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str, days: int = CA_DAYS, *, now: dt.datetime | None = None) -> "FleetCA":
        now = now or _now()
        key = generate_key()
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                             x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load(cls, paths: CaPaths) -> "FleetCA":
        return cls.load_files(paths.ca_key, paths.ca_cert, "fleet CA")

    @classmethod
    def load_controllers(cls, paths: CaPaths) -> "FleetCA":
        return cls.load_files(paths.controllers_ca_key, paths.controllers_ca_cert, "controllers' CA")

    @classmethod
    def load_files(cls, key_path: Path, cert_path: Path, what: str) -> "FleetCA":
        key = load_private_key(key_path, f"{what} key")
        cert = load_cert(cert_path, f"{what} certificate")
        if cert.public_key().public_numbers() != key.public_key().public_numbers():
            raise CertificateError(f"{what} certificate {cert_path} does not belong to the key {key_path}")
        return cls(key, cert)

    def issue(self, public_key, common_name: str, usage: Usage, *, days: int,
              names: tuple[x509.GeneralName, ...] = (), now: dt.datetime | None = None) -> x509.Certificate:
        """Sign a leaf certificate; nothing is copied from a CSR but its public key."""
        now = now or _now()
        _check_leaf_key(public_key)
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        eku = ExtendedKeyUsageOID.CLIENT_AUTH if usage is Usage.CLIENT else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                                     x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + dt.timedelta(days=days), self.cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        return builder.sign(self.key, hashes.SHA256())


def _check_leaf_key(public_key) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in ("secp256r1", "secp384r1"):
            raise CertificateError(f"EC keys must use P-256 or P-384, got {public_key.curve.name}")
    elif isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < 2048:
            raise CertificateError(f"RSA keys must have at least 2048 bits, got {public_key.key_size}")
    else:
        raise CertificateError(f"the key must be EC P-256 (or RSA >= 2048), got {type(public_key).__name__}")


def host_names(hosts: tuple[str, ...]) -> tuple[x509.GeneralName, ...]:
    """SAN entries for a server: IP addresses as such, everything else as DNS names."""
    out: list[x509.GeneralName] = []
    for host in hosts:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            out.append(x509.DNSName(host))
    return tuple(out)


def identity_uri(kind: str, name: str) -> str:
    """``urn:rekam:station:st-01``: the identity again, as a SAN (RFC 5280 path validation wants one)."""
    return f"urn:rekam:{kind}:{name}"


def identity_names(kind: str, name: str) -> tuple[x509.GeneralName, ...]:
    return (x509.UniformResourceIdentifier(identity_uri(kind, name)),)


def server_hosts(cert: x509.Certificate) -> list[str]:
    """Host names and addresses a server certificate is valid for, in order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out: list[str] = []
    for name in san:
        if isinstance(name, x509.DNSName):
            out.append(name.value)
        elif isinstance(name, x509.IPAddress):
            out.append(str(name.value))
    return out


def common_name(cert_or_csr: x509.Certificate | x509.CertificateSigningRequest) -> str | None:
    cns = cert_or_csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1:
        return None
    value = cns[0].value
    return value if isinstance(value, str) else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


# -- ca init ----------------------------------------------------------------------------
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class InitResult:
    paths: CaPaths
    ca: x509.Certificate
    created_ca: bool
    written: tuple[Path, ...]
    controller_cn: str
    broker_hosts: tuple[str, ...]


def init(cfg: ControllerConfig, *, broker_hosts: list[str], days: int = CA_DAYS,
         reissue: bool = False) -> InitResult:
    """Create the fleet CA if there is none; issue the controller's and the broker's certificates.

    An existing CA is never replaced: every station's certificate hangs off it.
    Leaf certificates already present are kept unless ``reissue`` (to add a
    broker host name, or renew before they expire).
    """
    paths = CaPaths.for_config(cfg)
    written: list[Path] = []
    if paths.ca_key.exists():
        ca = FleetCA.load(paths)
        created = False
    else:
        if paths.ca_cert.exists():
            raise CertificateError(f"{paths.ca_cert} exists without its key {paths.ca_key}; "
                                   "restore the key from backup or move the certificate away")
        ca = FleetCA.create(f"rekam fleet CA ({cfg.controller_id})", days)
        write_atomic(paths.ca_key, key_pem(ca.key), 0o600)
        write_atomic(paths.ca_cert, cert_pem(ca.cert), 0o644)
        written += [paths.ca_key, paths.ca_cert]
        created = True
    hosts = tuple(dict.fromkeys([*(h.strip() for h in broker_hosts if h.strip()), *LOCAL_HOSTS]))
    cn = controller_identity(cfg.controller_id)
    if paths.controllers_ca_key.exists():
        controllers_ca = FleetCA.load_controllers(paths)
        new_controllers_ca = False
    else:  # also on an installation from before the controllers had a CA of their own
        controllers_ca = FleetCA.create(f"rekam controllers CA ({cfg.controller_id})", days)
        write_atomic(paths.controllers_ca_key, key_pem(controllers_ca.key), 0o600)
        write_atomic(paths.controllers_ca_cert, cert_pem(controllers_ca.cert), 0o644)
        written += [paths.controllers_ca_key, paths.controllers_ca_cert]
        new_controllers_ca = True
    if reissue or created or new_controllers_ca or not paths.controller_cert.exists():
        key = generate_key()
        cert = controllers_ca.issue(key.public_key(), cn, Usage.CLIENT, days=CONTROLLER_DAYS,
                                    names=identity_names("controller", cfg.controller_id))
        write_atomic(paths.controller_key, key_pem(key), 0o600)
        write_atomic(paths.controller_cert, cert_pem(cert), 0o644)
        written += [paths.controller_key, paths.controller_cert]
    if reissue or created or not paths.broker_cert.exists():
        key = generate_key()
        cert = ca.issue(key.public_key(), hosts[0], Usage.SERVER, days=SERVER_DAYS, names=host_names(hosts))
        # 0600 here; controller-setup.sh copies it to the broker with the group it needs.
        write_atomic(paths.broker_key, key_pem(key), 0o600)
        write_atomic(paths.broker_cert, cert_pem(cert), 0o644)
        written += [paths.broker_key, paths.broker_cert]
    else:
        hosts = tuple(server_hosts(load_cert(paths.broker_cert, "broker certificate")))
    if not paths.crl.exists():  # the broker's crlfile must exist from the start
        write_crl(paths, ca, ())
        written.append(paths.crl)
    return InitResult(paths, ca.cert, created, tuple(written), cn, hosts)


# -- the revocation list (see controller.provisioning.revocation) --------------------------
CRL_DAYS = 365


def write_crl(paths: CaPaths, ca: FleetCA, serials: Iterable[int], *,
              now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca.cert.subject)
               .last_update(now - dt.timedelta(minutes=5))
               .next_update(now + dt.timedelta(days=CRL_DAYS)))
    for serial in sorted(set(serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    crl = builder.sign(ca.key, hashes.SHA256())
    write_atomic(paths.crl, crl.public_bytes(serialization.Encoding.PEM), 0o644)
    return paths.crl


def revoked_serials(paths: CaPaths) -> set[int]:
    if not paths.crl.exists():
        return set()
    try:
        crl = x509.load_pem_x509_crl(paths.crl.read_bytes())
    except ValueError:
        raise CertificateError(f"{paths.crl} is not a PEM certificate revocation list") from None
    return {r.serial_number for r in crl}


def record_issued(paths: CaPaths, cert: x509.Certificate) -> Path:
    """Keep a copy of every certificate issued, named by CN and serial (for audit and revocation)."""
    path = paths.issued_dir / f"{common_name(cert)}-{cert.serial_number:x}.crt"
    write_atomic(path, cert_pem(cert), 0o644)
    return path


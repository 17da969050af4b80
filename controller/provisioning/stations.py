"""Provisioning a station on the controller: CSR and signing key in, certificate and bundle out.

Rules:

* The CSR must carry a valid self-signature and exactly one CN, equal to the
  station id (``protocol.topics`` rules). Only its public key is used; its
  extensions are ignored, so a station cannot ask for more than a station gets.
* The station's Ed25519 signing key is registered in the store. Provisioning
  the same station again with the same key renews its certificate; a
  different key, or a revoked station, is refused (a new key means a new
  identity, decided by an operator).
* The bundle holds public material only: the station's certificate, the CA
  certificate, the controller's public sealing keys, the broker address and
  the station id. The station's private keys never come here.
* The bundle is one JSON file in the format of :mod:`protocol.bundle`, which
  the station reads with the same module.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from adapters.files import write_atomic
from controller import keyfiles
from controller.config import ControllerConfig
from controller.errors import ControllerError
from controller.provisioning import ca as ca_mod
from controller.store import Store
from protocol import bundle as bundle_mod
from protocol.keys import KeyFormatError, VerifyKey
from protocol.topics import TopicError, check_station_id

DEFAULT_PORT = 8883


class ProvisioningError(ControllerError):
    """A station cannot be provisioned as asked; the message says what to fix."""

    reason_id = "provisioning"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int = DEFAULT_PORT

    @classmethod
    def parse(cls, text: str) -> "BrokerAddress":
        """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
        text = text.strip()
        host, port = text, str(DEFAULT_PORT)
        if text.startswith("["):
            host, sep, rest = text[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise ProvisioningError(f"broker address {text!r} must look like [ipv6]:port")
            port = rest[1:] or port
        elif text.count(":") == 1:
            host, port = text.split(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ProvisioningError(f"broker address {text!r} must be HOST:PORT with a port 1-65535")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Provisioned:
    station_id: str
    certificate: x509.Certificate
    ca_certificate: x509.Certificate
    broker: BrokerAddress
    signing_key_id: str
    newly_registered: bool
    bundle: bytes

    @property
    def ca_fingerprint(self) -> str:
        return ca_mod.fingerprint(self.ca_certificate)


def load_csr(data: bytes, station_id: str) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError:
        raise ProvisioningError("the CSR is not a PEM certificate signing request "
                                "(expected the station.csr made by `rekam station keygen`)") from None
    if not csr.is_signature_valid:
        raise ProvisioningError("the CSR's signature is not valid: it was altered or damaged on the way")
    cn = ca_mod.common_name(csr)
    if cn is None:
        raise ProvisioningError("the CSR must name exactly one CN, the station id")
    if cn != station_id:
        raise ProvisioningError(f"the CSR is for {cn!r}, not station {station_id!r}: "
                                "carry the CSR made on this station, or check the station id")
    return csr


def default_broker(cfg: ControllerConfig) -> BrokerAddress:
    """The first broker host name in the broker's certificate that is not loopback."""
    paths = ca_mod.CaPaths.for_config(cfg)
    hosts = ca_mod.server_hosts(ca_mod.load_cert(paths.broker_cert, "broker certificate"))
    remote = [h for h in hosts if h not in ca_mod.LOCAL_HOSTS]
    if not remote:
        raise ProvisioningError("the broker certificate names only loopback addresses; give --broker HOST:PORT, "
                                "or re-issue it with: rekam controller ca init --reissue --broker-host HOST")
    return BrokerAddress(remote[0])


def provision(cfg: ControllerConfig, station_id: str, *, csr_pem: bytes, signing_key_pem: bytes,
              broker: BrokerAddress | None = None, days: int = ca_mod.STATION_DAYS,
              now: dt.datetime | None = None) -> Provisioned:
    """Check everything, register the station, issue its certificate and build its bundle."""
    try:
        check_station_id(station_id)
    except TopicError as exc:
        raise ProvisioningError(str(exc)) from None
    csr = load_csr(csr_pem, station_id)
    try:
        signing = VerifyKey.from_pem(signing_key_pem)
    except KeyFormatError as exc:
        raise ProvisioningError(f"the station signing key is unusable: {exc}") from None
    paths = ca_mod.CaPaths.for_config(cfg)
    fleet = ca_mod.FleetCA.load(paths)
    controller_public = keyfiles.load_public(cfg.public_key)
    broker = broker or default_broker(cfg)
    _check_broker_host(paths, broker)
    cert = fleet.issue(csr.public_key(), station_id, ca_mod.Usage.CLIENT, days=days,
                       names=ca_mod.identity_names("station", station_id), now=now)
    with Store(cfg.store_path) as store:
        existing = store.station(station_id)
        if existing is None:
            store.add_station(station_id, signing.to_pem(), signing.kid)
        elif existing.revoked:
            raise ProvisioningError(f"station {station_id} was revoked ({existing.revoked_reason}); "
                                    "give the replacement a new station id")
        elif existing.key_id != signing.kid:
            raise ProvisioningError(f"station {station_id} is registered with signing key {existing.key_id}, "
                                    f"not {signing.kid}; revoke it and provision the station under a new id")
    ca_mod.record_issued(paths, cert)
    issued_at = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bundle = bundle_mod.encode(bundle_mod.make(
        station_id=station_id, issued_at=issued_at,
        broker=bundle_mod.Broker(broker.host, broker.port, cfg.mqtt.stations_mount_point),
        issued_by=cfg.controller_id, signing_key_id=signing.kid, ca_cert=fleet.cert, client_cert=cert,
        controller_public_pem=controller_public.to_pem()))
    return Provisioned(station_id, cert, fleet.cert, broker, signing.kid, existing is None, bundle)


def _check_broker_host(paths: ca_mod.CaPaths, broker: BrokerAddress) -> None:
    """A station told to use a host the broker's certificate does not name could never connect."""
    if not paths.broker_cert.exists():
        return
    hosts = ca_mod.server_hosts(ca_mod.load_cert(paths.broker_cert, "broker certificate"))
    wanted = _normalise_host(broker.host)
    if wanted not in {_normalise_host(h) for h in hosts}:
        raise ProvisioningError(f"the broker certificate is not valid for {broker.host!r} (it names "
                                f"{', '.join(hosts)}); stations would refuse the broker. Re-issue it with: "
                                f"rekam controller ca init --reissue --broker-host {broker.host}")


def _normalise_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower().rstrip(".")


def write_bundle(path: Path, bundle: bytes) -> None:
    try:
        write_atomic(path, bundle, 0o644)
    except OSError as exc:
        raise ProvisioningError(f"cannot write the bundle {path}: {exc.strerror}") from None

"""The station's side of provisioning: make its keys, then check and install its bundle.

Rules:

* Both private keys are made here and never leave: the Ed25519 signing key
  (packets) and the EC P-256 MQTT client key (TLS). They are written
  atomically with mode 0600 in 0700 directories; only the signing key's
  public half and a CSR (CN = station id) go to the controller.
* Existing keys are never replaced without ``force``: packets in the outbox
  were signed with the old key, and the controller knows only that one.
* A bundle is checked completely before anything is written: it is for this
  station; its client certificate chains to the bundled CA (RFC 5280 path
  validation, clientAuth), names this station, and holds the public half of
  this station's MQTT key; the controller registered this station's signing
  key; the controller's public key parses and offers the configured suite.
  If the technician passes the CA fingerprint the controller printed, it must
  match (the bundle is the station's trust anchor; a swapped bundle would
  point the station at someone else's broker and keys).
* The config is rewritten atomically, line by line, so comments and layout
  stay; the result is parsed and validated before it replaces the original.
* When run as root, new files take the owner of the data directory, so the
  ``rekam`` service user can read what a technician installed with sudo.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

from adapters.files import read_private, write_atomic
from protocol.keys import ControllerPublicKeys, KeyFormatError, SigningKey
from protocol.topics import TopicError, check_station_id
from station import config as config_mod
from station.config import StationConfig
from station.errors import ConfigError, KeyFileError, StationError
from station.keyfiles import load_signing_key

BUNDLE_FORMAT = "rekam-provisioning-bundle"
BUNDLE_VERSION = 1


class ProvisioningError(StationError):
    """A bundle or key cannot be used; the message says what to do."""

    reason_id = "provisioning"


# -- where things go ------------------------------------------------------------
@dataclass(frozen=True)
class StationPaths:
    signing_key: Path
    signing_pub: Path
    mqtt_key: Path
    csr: Path
    ca_cert: Path
    client_cert: Path
    controller_pub: Path
    owner_dir: Path  # new files take this directory's owner when we run as root

    @classmethod
    def from_config(cls, cfg: StationConfig) -> "StationPaths":
        tls = cfg.data_dir / "tls"
        mqtt_key = cfg.mqtt.key_file or tls / "station.key"
        return cls(
            signing_key=cfg.signing_key,
            signing_pub=cfg.signing_key.with_suffix(".pub"),
            mqtt_key=mqtt_key,
            csr=mqtt_key.with_suffix(".csr"),
            ca_cert=cfg.mqtt.ca_file or tls / "ca.crt",
            client_cert=cfg.mqtt.cert_file or tls / "station.crt",
            controller_pub=cfg.controller_public_key,
            owner_dir=cfg.data_dir,
        )

    @classmethod
    def in_dir(cls, d: Path) -> "StationPaths":
        d = d.resolve()
        return cls(d / "station-signing.key", d / "station-signing.pub", d / "station.key", d / "station.csr",
                   d / "ca.crt", d / "station.crt", d / "controller.pub", d)


class _Files:
    """Writes files and makes directories, giving them the data directory's owner when root."""

    def __init__(self, owner_dir: Path) -> None:
        self.owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            probe = owner_dir
            while not probe.exists() and probe != probe.parent:
                probe = probe.parent
            st = probe.stat()
            if (st.st_uid, st.st_gid) != (0, 0):
                self.owner = (st.st_uid, st.st_gid)

    def mkdir(self, d: Path, mode: int = 0o700) -> None:
        if d.exists():
            return
        self.mkdir(d.parent, 0o755)
        try:
            d.mkdir(mode=mode)
            os.chmod(d, mode)  # umask must not widen or narrow what we asked for
        except OSError as exc:
            raise KeyFileError(f"cannot create directory {d}: {exc.strerror} (run as root, or as the station user)") \
                from None
        self._chown(d)

    def write(self, path: Path, data: bytes, mode: int) -> None:
        self.mkdir(path.parent)
        try:
            write_atomic(path, data, mode)
        except OSError as exc:
            raise KeyFileError(f"cannot write {path}: {exc.strerror} (run as root, or as the station user)") from None
        self._chown(path)

    def _chown(self, path: Path) -> None:
        if self.owner is not None:
            os.chown(path, *self.owner)


# -- keygen ------------------------------------------------------------------------
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
    files = _Files(paths.owner_dir)
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


# -- the bundle ----------------------------------------------------------------------
@dataclass(frozen=True)
class Bundle:
    """What ``controller.provision.encode_bundle`` writes, read back and typed."""

    station_id: str
    broker_host: str
    broker_port: int
    issued_at: str
    issued_by: str
    signing_key_id: str
    ca_cert: x509.Certificate
    client_cert: x509.Certificate
    controller_public: ControllerPublicKeys
    controller_public_pem: bytes

    @property
    def ca_fingerprint(self) -> str:
        return fingerprint(self.ca_cert)


def fingerprint(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def read_bundle(data: bytes) -> Bundle:
    """Parse a bundle file; every structural problem is one ProvisioningError."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProvisioningError("the bundle is not a rekam provisioning bundle (not JSON); "
                                "was it copied completely?") from None
    if not isinstance(body, dict) or body.get("format") != BUNDLE_FORMAT:
        raise ProvisioningError("the file is not a rekam provisioning bundle")
    if body.get("version") != BUNDLE_VERSION:
        raise ProvisioningError(f"bundle version {body.get('version')!r} is not supported "
                                f"(this station reads version {BUNDLE_VERSION}); update rekam on the station")

    def text(key: str) -> str:
        v = body.get(key)
        if not isinstance(v, str) or not v:
            raise ProvisioningError(f"the bundle has no {key}")
        return v

    broker = body.get("broker")
    if not isinstance(broker, dict) or not isinstance(broker.get("host"), str) or not broker["host"] \
            or not isinstance(broker.get("port"), int) or not 1 <= broker["port"] <= 65535:
        raise ProvisioningError("the bundle's broker address is missing or malformed")
    try:
        station_id = check_station_id(text("station_id"))
    except TopicError as exc:
        raise ProvisioningError(f"the bundle's station id is invalid: {exc}") from None
    certs = {}
    for key in ("ca_certificate", "client_certificate"):
        try:
            certs[key] = x509.load_pem_x509_certificate(text(key).encode())
        except ValueError:
            raise ProvisioningError(f"the bundle's {key.replace('_', ' ')} is not a PEM certificate") from None
    pub_pem = text("controller_public_key").encode()
    try:
        controller_public = ControllerPublicKeys.from_pem(pub_pem)
    except KeyFormatError as exc:
        raise ProvisioningError(f"the bundle's controller public key is unusable: {exc}") from None
    return Bundle(station_id, broker["host"], broker["port"], text("issued_at"), text("issued_by"),
                  text("signing_key_id"), certs["ca_certificate"], certs["client_certificate"],
                  controller_public, pub_pem)


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
    verifier = (verification.PolicyBuilder().store(verification.Store([bundle.ca_cert])).time(now)
                .build_client_verifier())
    try:
        verifier.verify(bundle.client_cert, [])
    except verification.VerificationError as exc:
        if "not valid at validation time" in str(exc):
            raise ProvisioningError(
                f"the station certificate is valid {bundle.client_cert.not_valid_before_utc:%Y-%m-%d} to "
                f"{bundle.client_cert.not_valid_after_utc:%Y-%m-%d}, but this station's clock says "
                f"{now:%Y-%m-%d %H:%M} UTC: check the clock, or provision again") from None
        raise ProvisioningError("the station certificate does not chain to the bundle's CA as a client "
                                f"certificate ({exc})") from None
    cns = bundle.client_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [c.value for c in cns] != [cfg.station_id]:
        raise ProvisioningError(f"the station certificate names {[c.value for c in cns]}, not {cfg.station_id!r}")
    mqtt_key = load_mqtt_key(paths.mqtt_key)
    if _spki(bundle.client_cert.public_key()) != _spki(mqtt_key.public_key()):
        raise ProvisioningError(f"the station certificate is not for this station's MQTT key {paths.mqtt_key}: "
                                "it was made from another CSR (keys regenerated since?); provision again "
                                "with this station's current station.csr")
    signing = load_signing_key(paths.signing_key)
    if signing.public.kid != bundle.signing_key_id:
        raise ProvisioningError(f"the controller registered signing key {bundle.signing_key_id}, but this "
                                f"station's key is {signing.public.kid}: provision again with this station's "
                                f"{paths.signing_pub.name}")
    try:
        bundle.controller_public.for_suite(cfg.suite)
    except KeyFormatError as exc:
        raise ProvisioningError(f"the bundle's controller key cannot serve keys.suite: {exc}") from None


def _fp(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", text.lower())


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_mqtt_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = read_private(path, "the station's MQTT key", "make it with: rekam station keygen", KeyFileError)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyFileError(f"{path} must be an EC key, got {type(key).__name__}")
    return key


# -- install ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Installed:
    bundle: Bundle
    written: tuple[Path, ...]
    config_path: Path


def install(bundle: Bundle, config_path: Path, paths: StationPaths) -> Installed:
    """Write the certificates and the controller key, then point the config at them and the broker."""
    updates: dict[tuple[str, str], Any] = {
        ("mqtt", "host"): bundle.broker_host,
        ("mqtt", "port"): bundle.broker_port,
        ("mqtt", "tls"): True,
        ("mqtt", "ca_file"): str(paths.ca_cert),
        ("mqtt", "cert_file"): str(paths.client_cert),
        ("mqtt", "key_file"): str(paths.mqtt_key),
        ("keys", "controller_public_key"): str(paths.controller_pub),
    }
    edit = ConfigEdit.prepare(config_path, updates)  # a config we could not update stops us before any write
    files = _Files(paths.owner_dir)
    written = []
    for path, data in ((paths.ca_cert, bundle.ca_cert.public_bytes(serialization.Encoding.PEM)),
                       (paths.client_cert, bundle.client_cert.public_bytes(serialization.Encoding.PEM)),
                       (paths.controller_pub, bundle.controller_public_pem)):
        files.write(path, data, 0o644)
        written.append(path)
    edit.commit()
    return Installed(bundle, tuple(written), config_path)


# -- editing the TOML config, keeping its comments ----------------------------------------
@dataclass(frozen=True)
class ConfigEdit:
    """A station config's new text, checked to load, waiting to replace the file."""

    path: Path
    text: str
    mode: int
    owner: tuple[int, int]

    @classmethod
    def prepare(cls, path: Path, updates: dict[tuple[str, str], Any]) -> "ConfigEdit":
        try:
            st = path.stat()
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        new = set_toml_values(text, updates)
        config_mod.parse(new, base_dir=path.resolve().parent, source=path)  # never write a config that won't load
        return cls(path, new, stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid))

    def commit(self) -> None:
        """Replace the file atomically, keeping its mode and (when root) its owner."""
        try:
            write_atomic(self.path, self.text.encode("utf-8"), self.mode)
            if os.geteuid() == 0:
                os.chown(self.path, *self.owner)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror}") from None


def update_config_file(path: Path, updates: dict[tuple[str, str], Any]) -> None:
    """Set ``table.key`` values in a station config, atomically, keeping mode, owner and comments."""
    ConfigEdit.prepare(path, updates).commit()


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*\]\s*(#.*)?$")
_ARRAY_HEADER = re.compile(r"^\s*\[\[")
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)(.*)$")
_SIMPLE_VALUE = re.compile(r"""^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s#"'\[{]+)(\s*#.*)?$""")


def set_toml_values(text: str, updates: dict[tuple[str, str], Any]) -> str:
    """Replace or add ``key = value`` lines in ``[table]`` sections, leaving every other line as it was.

    Handles the plain layout ``rekam station init`` writes; anything it cannot
    edit safely (dotted keys, inline tables) is caught by comparing the parse
    of the result with what was asked, and reported instead of written.
    """
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the station config is not valid TOML: {exc}") from None
    lines = text.splitlines()
    pending = dict(updates)
    table: str | None = None
    last_in_table: dict[str, int] = {}
    for i, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            table = re.sub(r"\s+", "", header.group(1))
            last_in_table.setdefault(table, i)
            continue
        if _ARRAY_HEADER.match(line):
            table = None
            continue
        m = _KEY.match(line)
        if m and table is not None:
            last_in_table[table] = i
            key = (table, m.group(2))
            if key in pending:
                value = _toml_value(pending.pop(key))
                simple = _SIMPLE_VALUE.match(m.group(4).strip())
                comment = simple.group(2) if simple and simple.group(2) else ""
                lines[i] = f"{m.group(1)}{m.group(2)}{m.group(3)}{value}{comment}"
    inserts: dict[int, list[str]] = {}
    appended: list[str] = []
    for (tbl, key), value in pending.items():
        line = f"{key} = {_toml_value(value)}"
        if tbl in last_in_table:
            inserts.setdefault(last_in_table[tbl], []).append(line)
        else:
            if not any(ln == f"[{tbl}]" for ln in appended):
                appended += ["", f"[{tbl}]"]
            appended.append(line)
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        out.extend(inserts.get(i, []))
    out.extend(appended)
    result = "\n".join(out) + "\n"
    try:
        after = tomllib.loads(result)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"could not update the station config safely ({exc}); set these by hand: "
                          + ", ".join(f"{t}.{k} = {_toml_value(v)}" for (t, k), v in updates.items())) from None
    expected = _apply(before, updates)
    if after != expected:
        raise ConfigError("could not update the station config safely (unusual layout); set these by hand: "
                          + ", ".join(f"{t}.{k} = {_toml_value(v)}" for (t, k), v in updates.items()))
    return result


def _apply(doc: dict[str, Any], updates: dict[tuple[str, str], Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
    for (tbl, key), value in updates.items():
        out.setdefault(tbl, {})[key] = value
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    raise TypeError(f"cannot write {type(value).__name__} to TOML")

"""The provisioning bundle: what the controller hands a station, in one JSON file.

The controller writes it (:func:`encode`), the technician carries it, the
station reads it (:func:`decode`). It holds public material only: the
station's MQTT client certificate, the fleet CA certificate, the controller's
public sealing keys, the broker address, the station id and the id of the
signing key the controller registered. It needs no secrecy but does need
integrity, so the CA fingerprint is printed on both sides for the technician
to compare.

Decoding checks the whole file before anything is used and names the first
field that is wrong: every certificate and key must parse, and the station id
must be one a topic can carry.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from msgspec import Meta

from protocol import topics
from protocol.errors import ProtocolError, explain
from protocol.keys import ControllerPublicKeys, KeyFormatError

FORMAT = "rekam-provisioning-bundle"
VERSION = 1

Pem = Annotated[str, Meta(min_length=1, max_length=64 * 1024)]
Short = Annotated[str, Meta(min_length=1, max_length=253)]


class BundleError(ProtocolError):
    """A bundle that cannot be used; the message says what to do."""

    reason_id = "bad_bundle"


class Broker(msgspec.Struct, frozen=True):
    host: Short
    port: Annotated[int, Meta(ge=1, le=65535)] = 8883
    #: The station listener's mount_point: every topic of the station lives under it on the broker.
    mount_point: Annotated[str, Meta(pattern=r"^([a-z0-9_-]+/)?$")] = ""


class Bundle(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    format: Literal["rekam-provisioning-bundle"]
    version: int
    station_id: Short
    broker: Broker
    issued_at: Short  # UTC, 2026-11-30T08:00:00Z
    issued_by: Short  # the controller id
    ca_fingerprint_sha256: Short
    signing_key_id: Short
    ca_certificate: Pem
    client_certificate: Pem
    controller_public_key: Pem

    @property
    def ca_cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.ca_certificate.encode())

    @property
    def client_cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.client_certificate.encode())

    @property
    def controller_public(self) -> ControllerPublicKeys:
        return ControllerPublicKeys.from_pem(self.controller_public_key.encode())

    @property
    def ca_fingerprint(self) -> str:
        """Computed from the certificate itself, never taken from the file's own claim."""
        return fingerprint(self.ca_cert)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as colon-separated hex (what the technician compares)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def make(*, station_id: str, broker: Broker, issued_at: str, issued_by: str, signing_key_id: str,
         ca_cert: x509.Certificate, client_cert: x509.Certificate, controller_public_pem: bytes) -> Bundle:
    pem = serialization.Encoding.PEM
    return Bundle(format=FORMAT, version=VERSION, station_id=topics.check_station_id(station_id), broker=broker,
                  issued_at=issued_at, issued_by=issued_by, ca_fingerprint_sha256=fingerprint(ca_cert),
                  signing_key_id=signing_key_id, ca_certificate=ca_cert.public_bytes(pem).decode(),
                  client_certificate=client_cert.public_bytes(pem).decode(),
                  controller_public_key=controller_public_pem.decode())


def encode(bundle: Bundle) -> bytes:
    return msgspec.json.format(msgspec.json.encode(bundle), indent=2) + b"\n"


class _Head(msgspec.Struct):
    format: object = None
    version: object = None


def decode(data: bytes) -> Bundle:
    """Parse and check a bundle file; every problem is one BundleError."""
    try:
        head = msgspec.json.decode(data, type=_Head)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        raise BundleError("the file is not a rekam provisioning bundle (not JSON); "
                          "was it copied completely?") from None
    if head.format != FORMAT:
        raise BundleError("the file is not a rekam provisioning bundle")
    if head.version != VERSION:
        raise BundleError(f"bundle version {head.version!r:.20} is not supported (this station reads version "
                          f"{VERSION}); update rekam on the station")
    try:
        bundle = msgspec.json.decode(data, type=Bundle)
    except msgspec.ValidationError as exc:
        raise BundleError(f"the bundle is malformed: {explain('bundle', exc)}") from None
    except (msgspec.DecodeError, RecursionError):
        raise BundleError("the bundle is damaged (not valid JSON throughout); carry it again") from None
    try:
        topics.check_station_id(bundle.station_id)
    except topics.TopicError as exc:
        raise BundleError(f"the bundle's station id is invalid: {exc}") from None
    for name in ("ca_cert", "client_cert"):
        try:
            getattr(bundle, name)
        except ValueError:
            raise BundleError(f"the bundle's {name.replace('_cert', '')} certificate is not a PEM certificate") from None
    try:
        _ = bundle.controller_public  # parsed now, not at the first enrollment
    except KeyFormatError as exc:
        raise BundleError(f"the bundle's controller public key is unusable: {exc}") from None
    return bundle

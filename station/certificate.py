"""A renewed MQTT client certificate from the controller, checked and put in place.

The controller renews a station's certificate over MQTT before it expires,
for the key the station already holds (see controller.provisioning.renewal).
What arrives is public, but the station trusts none of it unchecked: it must
chain to the station's own CA file as a client certificate, be valid now,
name this station, hold this station's MQTT key, and last longer than the one
in use. Only then is it written (atomically) over ``mqtt.cert_file``; the
caller reconnects so the TLS session uses it. Anything else is logged and
ignored: a bad update never costs the station the certificate it has.
"""

from __future__ import annotations

import datetime as dt
import logging

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from adapters.files import write_atomic
from protocol.messages import CertificateUpdate
from station.config import StationConfig
from station.errors import ProvisioningError
from station.provisioning.install import check_client_certificate

log = logging.getLogger(__name__)


def install_renewal(update: CertificateUpdate, cfg: StationConfig, *, now: dt.datetime | None = None) -> bool:
    """True when the renewed certificate was checked and installed (reconnect to use it)."""
    m = cfg.mqtt
    if update.station_id != cfg.station_id or not (m.tls and m.ca_file and m.cert_file and m.key_file):
        return False
    try:
        cert = x509.load_pem_x509_certificate(update.certificate_pem.encode())
        ca = x509.load_pem_x509_certificate(m.ca_file.read_bytes())
        current = x509.load_pem_x509_certificate(m.cert_file.read_bytes())
        if cert.not_valid_after_utc <= current.not_valid_after_utc:
            return False  # the same renewal again (it is retained), or an older one
        check_client_certificate(cert, ca, cfg.station_id, m.key_file, now or dt.datetime.now(dt.timezone.utc))
        write_atomic(m.cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    except (ValueError, OSError, ProvisioningError) as exc:
        log.warning("ignoring a certificate renewal: %s", exc)
        return False
    log.info("installed a renewed certificate, valid until %s", cert.not_valid_after_utc.date())
    return True

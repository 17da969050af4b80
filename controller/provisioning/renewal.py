"""Station certificates renewed over MQTT, before they expire, for the key the station already has.

A station's certificate lasts :data:`~controller.provisioning.ca.STATION_DAYS`;
a lost station's dies on its own within a season. For the others the running
controller issues a new certificate for the same public key (proven when the
station was provisioned; nothing new is trusted) once the newest one has less
than ``RENEW_DAYS`` left, records it, and publishes it retained on the
station's ``certificate`` topic. The station checks it and switches to it (see
:mod:`station.certificate`). A revoked station is never renewed. A station
offline through its last ``RENEW_DAYS`` needs provisioning again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from cryptography import x509

from controller.provisioning import ca as ca_mod
from controller.provisioning.ca import revoked_serials
from controller.provisioning.revocation import issued_to
from controller.store import Store
from protocol.messages import CertificateUpdate

log = logging.getLogger(__name__)

RENEW_DAYS = 45
#: The revocation list is signed again this long before its next-update: an expired CRL makes
#: OpenSSL refuse every certificate of the fleet, stations and controllers alike.
CRL_REFRESH_DAYS = 60


@dataclass(frozen=True)
class Renewal:
    station_id: str
    certificate: x509.Certificate

    def message(self) -> CertificateUpdate:
        return CertificateUpdate(self.station_id, ca_mod.cert_pem(self.certificate).decode(),
                                 self.certificate.not_valid_after_utc.timestamp())


def renew_due(paths: ca_mod.CaPaths, store: Store, *, within_days: int = RENEW_DAYS,
              now: dt.datetime | None = None) -> list[Renewal]:
    """New certificates for every active station whose newest one expires within ``within_days``."""
    if not paths.ca_key.exists():
        return []  # no fleet CA here (a plain broker): nothing to renew
    now = now or dt.datetime.now(dt.timezone.utc)
    ca = None
    revoked = revoked_serials(paths)
    out = []
    for station in store.stations():
        if station.revoked:
            continue
        certs = [c for c in issued_to(paths, station.station_id) if c.serial_number not in revoked]
        if not certs or certs[-1].not_valid_after_utc - now > dt.timedelta(days=within_days):
            continue
        ca = ca or ca_mod.FleetCA.load(paths)
        cert = ca.issue(certs[-1].public_key(), station.station_id, ca_mod.Usage.CLIENT, days=ca_mod.STATION_DAYS,
                        names=ca_mod.identity_names("station", station.station_id), now=now)
        ca_mod.record_issued(paths, cert)
        log.info("renewed the certificate of %s until %s", station.station_id, cert.not_valid_after_utc.date())
        out.append(Renewal(station.station_id, cert))
    return out


def refresh_crl(paths: ca_mod.CaPaths, *, within_days: int = CRL_REFRESH_DAYS,
                now: dt.datetime | None = None) -> bool:
    """Sign the revocation list again (same serials) once it comes within ``within_days`` of its
    next-update; True if it was rewritten (deploy/systemd/rekam-crl.path hands it to Mosquitto)."""
    if not paths.ca_key.exists() or not paths.crl.exists():
        return False
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        crl = x509.load_pem_x509_crl(paths.crl.read_bytes())
    except ValueError:
        raise ca_mod.CertificateError(f"{paths.crl} is not a PEM certificate revocation list") from None
    if crl.next_update_utc is not None and crl.next_update_utc - now > dt.timedelta(days=within_days):
        return False
    ca_mod.write_crl(paths, ca_mod.FleetCA.load(paths), {r.serial_number for r in crl}, now=now)
    log.info("signed the revocation list again (%d revoked) until %s", len(list(crl)),
             (now + dt.timedelta(days=ca_mod.CRL_DAYS)).date())
    return True

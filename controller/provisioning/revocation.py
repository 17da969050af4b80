"""Revoking a station: the store refuses its packets, and the broker its certificates.

``rekam controller ca revoke st-07`` marks the station revoked in the store
(its packets are rejected, its reports ignored) and lists every certificate
ever issued to it (the copies in ``issued/``) in the fleet CA's certificate
revocation list, which the broker's listeners read as ``crlfile``. Mosquitto
rereads it on SIGHUP (``systemctl reload mosquitto``); from then on the TLS
handshake of a revoked station fails. A connection already open stays open
until it drops, but the controller ignores everything on it.

The CRL is rewritten whole each time, signed by the CA, with a next-update a
year out; the running controller signs it again well before that
(:func:`controller.provisioning.renewal.refresh_crl`), because OpenSSL refuses
every certificate once the list is stale. deploy/systemd/rekam-crl.path hands
each new list to Mosquitto and reloads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from controller.config import ControllerConfig
from controller.errors import UnknownStation
from controller.provisioning import ca as ca_mod
from controller.store import Store


@dataclass(frozen=True)
class Revoked:
    station_id: str
    serials: tuple[int, ...]
    crl: Path


def issued_to(paths: ca_mod.CaPaths, station_id: str) -> list[x509.Certificate]:
    """Every certificate the CA issued to this station (the one that lasts longest, last)."""
    certs = [ca_mod.load_cert(p, "issued certificate") for p in sorted(paths.issued_dir.glob(f"{station_id}-*.crt"))]
    return sorted((c for c in certs if ca_mod.common_name(c) == station_id), key=lambda c: c.not_valid_after_utc)


def revoke(cfg: ControllerConfig, station_id: str, reason: str) -> Revoked:
    """Revoke in the store and in the CRL; raise UnknownStation if no such station is registered."""
    with Store(cfg.store_path) as store:
        if store.station(station_id) is None:
            raise UnknownStation(f"no station {station_id} is registered")
        store.revoke_station(station_id, reason)
    paths = ca_mod.CaPaths.for_config(cfg)
    if not paths.ca_key.exists():  # no fleet CA (a plain test broker): the store refusal is all there is
        return Revoked(station_id, (), paths.crl)
    ca = ca_mod.FleetCA.load(paths)
    serials = tuple(c.serial_number for c in issued_to(paths, station_id))
    ca_mod.write_crl(paths, ca, ca_mod.revoked_serials(paths) | set(serials))
    return Revoked(station_id, serials, paths.crl)

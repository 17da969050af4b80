"""``rekam controller ca init`` and ``rekam controller provision``: the operator's side of provisioning.

Wired by ``controller.cli.register`` calling :func:`add_commands`. Errors are :class:`ControllerError`; the
``rekam`` front door prints them as one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from controller import config as config_mod
from controller.errors import ControllerError
from controller.provisioning import ca as ca_mod
from controller.provisioning import stations as prov


def add_commands(csub: argparse._SubParsersAction) -> None:
    """Add ``ca init`` and ``provision`` to the controller command group."""
    ca = csub.add_parser("ca", help="the fleet certificate authority (TLS for the broker)",
                         description="The fleet certificate authority that signs broker, controller and "
                                     "station certificates.")
    ca.set_defaults(func=lambda a: (ca.print_help(), 2)[1])
    casub = ca.add_subparsers(dest="ca_command", metavar="COMMAND")
    init = casub.add_parser(
        "init", help="create the fleet CA; issue the controller's and the broker's certificates",
        description="Create the fleet CA (kept if it exists), and issue the controller's MQTT client "
                    "certificate and the broker's server certificate.")
    init.add_argument("--config", type=Path, default=None, help="controller TOML (see `rekam controller init`)")
    init.add_argument("--days", type=int, default=ca_mod.CA_DAYS,
                      help=f"validity of a new CA in days (default {ca_mod.CA_DAYS})")
    init.add_argument("--broker-host", action="append", default=[], metavar="HOST",
                      help="a name or address stations use for the broker (repeatable; the first is the "
                           "default in bundles); localhost/127.0.0.1/::1 are always added")
    init.add_argument("--reissue", action="store_true",
                      help="issue new controller and broker certificates from the existing CA")
    init.set_defaults(func=_ca_init)

    rev = casub.add_parser(
        "revoke", help="revoke a station: its packets are refused and its certificates go on the CRL",
        description="Mark the station revoked (its packets are rejected, its reports ignored) and put every "
                    "certificate issued to it on the fleet CA's revocation list. The broker must then reread the "
                    "list (deploy/systemd/rekam-crl.path does it: install and systemctl reload mosquitto) so its "
                    "TLS handshake fails. The running controller signs the list again before it expires.")
    rev.add_argument("station_id", help="the station to revoke")
    rev.add_argument("--reason", default="revoked by operator", help="recorded, and sent in rejections")
    rev.add_argument("--config", type=Path, default=None, help="controller TOML")
    rev.set_defaults(func=revoke_command)

    p = csub.add_parser(
        "provision", help="issue a station's certificate, register its key, write its bundle",
        description="Check a station's CSR, issue its MQTT client certificate, register its signing "
                    "key, and write the one-file bundle the technician installs on the station.")
    p.add_argument("station_id", help="the station the bundle is for (registered with `station add`)")
    p.add_argument("--config", type=Path, default=None, help="controller TOML")
    p.add_argument("--csr", type=Path, required=True, help="the station's station.csr (from `rekam station keygen`)")
    p.add_argument("--signing-key", type=Path, required=True, help="the station's station-signing.pub")
    p.add_argument("--broker", default=None, metavar="HOST:PORT",
                   help="broker address for the station (default: the broker certificate's first host, "
                        f"port {prov.DEFAULT_PORT})")
    p.add_argument("--days", type=int, default=ca_mod.STATION_DAYS,
                   help=f"certificate validity in days (default {ca_mod.STATION_DAYS})")
    p.add_argument("--out", type=Path, default=None, help="bundle file (default: ./STATION_ID.rekam-bundle.json)")
    p.set_defaults(func=_provision)


def _cfg(args) -> config_mod.ControllerConfig:
    return config_mod.load(args.config or config_mod.default_path())


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ControllerError(f"cannot read {what} {path}: {exc.strerror}") from None


def _ca_init(args) -> int:
    if not 1 <= args.days <= 36500:
        raise ControllerError("--days must be between 1 and 36500")
    cfg = _cfg(args)
    r = ca_mod.init(cfg, broker_hosts=args.broker_host, days=args.days, reissue=args.reissue)
    print(("created" if r.created_ca else "using existing") + f" fleet CA {r.paths.ca_cert}")
    print(f"  CA key {r.paths.ca_key} (mode 600: never copy it off this machine; back it up offline)")
    print(f"  CA fingerprint (SHA-256) {ca_mod.fingerprint(r.ca)}")
    for path in r.written:
        if path not in (r.paths.ca_key, r.paths.ca_cert, r.paths.controllers_ca_key):
            print(f"wrote {path}")
    print(f"broker certificate names: {', '.join(r.broker_hosts)}")
    missing = [h for h in args.broker_host if h not in r.broker_hosts]
    if missing:
        print(f"warning: the existing broker certificate was kept and does not name {', '.join(missing)}; "
              "add --reissue to issue a new one")
    print(f"controller MQTT user (certificate CN): {r.controller_cn}")
    print("  the broker's ACL file needs a block for it:  user " + r.controller_cn)
    print("point the controller at the broker with TLS, in [mqtt] of its config:")
    print(f'  tls = true\n  port = 8884\n  stations_mount_point = "st/"\n  ca_file = "{r.paths.ca_cert}"\n'
          f'  cert_file = "{r.paths.controller_cert}"\n  key_file = "{r.paths.controller_key}"')
    print(f"install on the broker: {r.paths.ca_cert}, {r.paths.controllers_ca_cert} (the controllers' listener "
          f"trusts only that one), {r.paths.broker_cert}, {r.paths.broker_key}, {r.paths.crl} "
          "(deploy/controller-setup.sh does this)")
    return 0


def _provision(args) -> int:
    if not 1 <= args.days <= 3650:
        raise ControllerError("--days must be between 1 and 3650")
    cfg = _cfg(args)
    broker = prov.BrokerAddress.parse(args.broker) if args.broker else None
    result = prov.provision(cfg, args.station_id, csr_pem=_read(args.csr, "CSR"),
                            signing_key_pem=_read(args.signing_key, "signing key"), broker=broker, days=args.days)
    out = args.out or Path(f"{args.station_id}.rekam-bundle.json")
    prov.write_bundle(out, result.bundle)
    verb = "registered" if result.newly_registered else "already registered"
    print(f"station {result.station_id}: {verb} with signing key {result.signing_key_id}")
    print(f"  certificate serial {result.certificate.serial_number:x}, valid until "
          f"{result.certificate.not_valid_after_utc:%Y-%m-%d}")
    print(f"  broker {result.broker}")
    print(f"wrote {out}: carry it to the station and run `rekam station install-bundle {out.name}`")
    print(f"  the station must show CA fingerprint {result.ca_fingerprint}")
    return 0


def revoke_command(args) -> int:
    """Also `rekam controller station revoke`: one revocation, the store and the CRL together."""
    from controller.provisioning.revocation import revoke

    r = revoke(_cfg(args), args.station_id, args.reason)
    print(f"revoked {r.station_id}: its packets are rejected with reason 'station_revoked'")
    if r.serials:
        print(f"  {len(r.serials)} certificate(s) on the revocation list {r.crl}")
        print("  where deploy/controller-setup.sh set this host up, rekam-crl.path now hands the list to the")
        print("  broker and reloads it; elsewhere do it yourself, so their TLS handshakes fail:")
        print(f"    sudo install -m 0644 -g mosquitto {r.crl} /etc/mosquitto/certs/rekam/crl.pem "
              "&& sudo systemctl reload mosquitto")
    else:
        print("  no certificate of it was issued by this fleet CA; only the store refuses it")
    return 0

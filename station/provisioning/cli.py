"""``rekam station keygen`` and ``rekam station install-bundle``: the technician's side of provisioning.

Wired by the station command group calling :func:`add_commands` with its
sub-parsers. Errors are :class:`StationError`; the ``rekam`` front door
prints them as one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from station import config as config_mod
from station.errors import ConfigError, StationError
from station.provisioning import config_edit, install, keygen
from station.provisioning.paths import StationPaths


def add_commands(ssub: argparse._SubParsersAction) -> None:
    k = ssub.add_parser(
        "keygen", help="make this station's signing key and MQTT key + CSR (private keys stay here)",
        description="Make the station's Ed25519 signing key and its MQTT client key with a certificate "
                    "signing request. The private keys never leave this station; carry the two printed "
                    "files to the controller for `rekam controller provision`.")
    where = k.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, default=None,
                       help="station TOML: keys go where it says (default: $REKAM_STATION_CONFIG, "
                            "/etc/rekam/station.toml, ./station.toml)")
    where.add_argument("--dir", type=Path, default=None, help="put the keys and CSR in DIR; no config is touched")
    k.add_argument("--station-id", required=True, help="this station's id (lower-case letters, digits, - or _)")
    k.add_argument("--force", action="store_true", help="replace existing keys (the station must be provisioned again)")
    k.set_defaults(func=_keygen)

    b = ssub.add_parser(
        "install-bundle", help="verify and install the bundle from `rekam controller provision`",
        description="Check the provisioning bundle against this station's keys and id, install the CA and "
                    "station certificates and the controller's public key, and point the config at them.")
    b.add_argument("bundle", type=Path, help="the bundle file from `rekam controller provision`")
    b.add_argument("--config", type=Path, default=None, help="station TOML (updated in place; comments are kept)")
    b.add_argument("--expect-ca-fingerprint", default=None, metavar="SHA256",
                   help="the CA fingerprint the controller printed; the bundle is refused if it differs")
    b.set_defaults(func=_install)


def _keygen(args) -> int:
    if args.dir is not None:
        result = keygen.keygen(StationPaths.in_dir(args.dir), args.station_id, force=args.force)
        conf = None
    else:
        conf = args.config or config_mod.default_path()
        cfg = config_mod.load(conf)
        result = keygen.keygen(StationPaths.from_config(cfg), args.station_id, force=args.force)
        if cfg.station_id != args.station_id:
            config_edit.update_config_file(conf, {("station", "id"): args.station_id})
    p = result.paths
    print(f"station {result.station_id}: signing key {result.signing_key_id}")
    print(f"  private (mode 600, stays on this station): {p.signing_key}, {p.mqtt_key}")
    if conf is not None and cfg.station_id != args.station_id:
        print(f"  set station.id = \"{args.station_id}\" in {conf} (was {cfg.station_id!r})")
    print("carry these two files to the controller:")
    for path in result.to_carry:
        print(f"  {path}")
    print(f"then on the controller: rekam controller provision {result.station_id} "
          f"--csr {p.csr.name} --signing-key {p.signing_pub.name}")
    return 0


def _install(args) -> int:
    conf = args.config or config_mod.default_path()
    cfg = config_mod.load(conf)
    try:
        data = args.bundle.read_bytes()
    except OSError as exc:
        raise StationError(f"cannot read bundle {args.bundle}: {exc.strerror}") from None
    bundle = install.read_bundle(data)
    paths = StationPaths.from_config(cfg)
    install.verify_bundle(bundle, cfg, paths, expect_ca_fingerprint=args.expect_ca_fingerprint)
    installed = install.install(bundle, conf, paths)
    try:
        config_mod.load(conf)
    except ConfigError as exc:  # cannot happen: install validated it; say so plainly if it does
        raise StationError(f"the updated config does not load: {exc}") from None
    print(f"station {bundle.station_id}: bundle from {bundle.issued_by} ({bundle.issued_at}) installed")
    print(f"  CA fingerprint (SHA-256) {bundle.ca_fingerprint}")
    print("  compare it with the one the controller printed; if they differ, remove this station from service")
    print(f"  certificate valid until {bundle.client_cert.not_valid_after_utc:%Y-%m-%d}")
    for path in installed.written:
        print(f"wrote {path}")
    print(f"updated {conf}: mqtt.host = {bundle.broker.host}, mqtt.port = {bundle.broker.port}, mqtt.tls = true")
    return 0

"""``rekam drivers list|check``: what is installed, and does each configured device work.

For technicians: ``list`` reads the ``rekam.drivers`` entry points (so a
third-party driver package shows up the moment it is installed); ``check``
opens each device from the station config, runs its self-test and prints
device, driver, identity, result and time taken. Without ``--config`` it
checks the emulated station devices, which is also the quickest way to see
that an installation works at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from adapters.terminal import show, table
from drivers import registry
from drivers.registry import DriverContext
from drivers.scene import Person
from drivers.types import DeviceKind
from station import config as station_config
from station.config import DeviceConfig
from station.devices import Devices

EMULATED = {
    DeviceKind.CAMERA: DeviceConfig("emulated"),
    DeviceKind.FINGERPRINT: DeviceConfig("zhiantec-emulated"),
    DeviceKind.SIGNATURE: DeviceConfig("topaz-emulated"),
    DeviceKind.INDICATORS: DeviceConfig("emulated"),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("drivers", help="installed device drivers, and a self-test of the configured devices",
                       description="List installed drivers or check the configured devices.")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    dsub = p.add_subparsers(dest="drivers_command", metavar="COMMAND")
    ls = dsub.add_parser("list", help="drivers installed through the rekam.drivers entry points")
    ls.set_defaults(func=_list)
    ck = dsub.add_parser("check", help="open each configured device and run its self-test")
    ck.add_argument("--config", type=Path, default=None,
                    help="station TOML (default: the station's own config if there is one, else the emulated devices)")
    ck.set_defaults(func=_check)


def _list(args) -> int:
    rows = [[d.kind.value, d.name, d.distribution, d.target] for d in registry.available()]
    show(table(["device", "driver", "package", "entry point"], rows))
    return 0


def _check(args) -> int:
    from station.config import default_path as default_config

    path = args.config or (default_config() if default_config().exists() else None)
    if path is not None:
        print(f"checking the devices of {path}")
        devices_cfg = station_config.load(path).devices
    else:
        devices_cfg = EMULATED
        print("no station config found (--config FILE): checking the EMULATED devices")
    context = DriverContext()
    context.scene.time_scale = 0.0
    context.scene.stand(Person("self-test"))
    with Devices(devices_cfg, context) as devices:
        rows = devices.check()
    show(table(["device", "driver", "identity", "result", "time"],
                [[r.kind.value, r.driver, r.identity.describe() if r.identity else "-",
                  ("ok: " if r.ok else "FAIL: ") + r.detail, f"{r.seconds:.2f}s"] for r in rows]))
    return 0 if all(r.ok for r in rows) else 1

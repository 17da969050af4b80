"""The demo's kiosk: one extra emulated station whose touchscreen UI runs in trainer mode.

The fleet's own stations are driven by scripted residents; this one waits
for a person at a browser. It is registered at the controller like the
others (its packets are stored), records for a Solo kelurahan when it has
no assignment, and has two demo accounts whose PINs are printed.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.scene import Scene
from rekam.sandbox import make_station_dir
from station.kiosk.serve import KioskServer, make_kiosk
from station.runtime import StationRuntime

STATION_ID = "st-kiosk"
KELURAHAN = "33.72.05.1001"  # Kadipiro, Banjarsari
ACCOUNTS = (("supervisor", "2468", "supervisor"), ("operator", "1357", "operator"))


@dataclass
class DemoKiosk:
    runtime: StationRuntime
    server: KioskServer

    @property
    def url(self) -> str:
        return self.server.url + "/login"

    def close(self) -> None:
        self.server.stop()
        self.runtime.stop()


def start_kiosk(fleet) -> DemoKiosk:
    public = (fleet.workdir / "controller" / "keys" / "controller.pub").read_bytes()
    d = make_station_dir(fleet.workdir / "stations" / STATION_ID, fleet.broker.host, fleet.broker.port, public,
                         station_id=STATION_ID,
                         settings={"station": {"language": "id"}, "kiosk": {"kelurahan": KELURAHAN}})
    fleet.store.add_station(STATION_ID, d.signing_key.public.to_pem(), d.signing_key.public.kid)
    scene = Scene(time_scale=1.0)
    runtime = d.runtime(scene, today=fleet.clock.today).start()
    try:
        sup = ACCOUNTS[0]
        runtime.operators.add(sup[0], "Demo supervisor", sup[1], [sup[2]])
        for oid, pin, role in ACCOUNTS[1:]:
            runtime.operators.add(oid, f"Demo {role}", pin, [role], by=(sup[0], sup[1]))
        server = KioskServer(make_kiosk(runtime, trainer=True, scene=scene), port=0).start()
    except BaseException:
        runtime.stop()
        raise
    return DemoKiosk(runtime, server)

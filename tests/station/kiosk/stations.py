"""A started station on emulated devices with its kiosk, for the kiosk tests."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from drivers.scene import Scene
from protocol.keys import ControllerKeys
from station.kiosk.serve import KioskServer, make_kiosk
from tests.fixtures.records import SAMPLE_KELURAHAN
from tests.fixtures.station import make_station_dir

CK = ControllerKeys.generate()
SUPERVISOR = ("sup-1", "2468")
OPERATOR = ("op-1", "1357")
TECHNICIAN = ("tech-1", "8642")


@contextmanager
def kiosk_station(path: Path, broker=None, *, settings: dict | None = None, trainer: bool = True, serve: bool = True):
    scene = Scene(time_scale=0.0)
    kiosk_table = {"kelurahan": SAMPLE_KELURAHAN, "signature_idle_s": 0.4, "finger_timeout_s": 2.0,
                   **((settings or {}).get("kiosk", {}))}
    d = make_station_dir(path, broker, CK, settings={**(settings or {}), "kiosk": kiosk_table})
    rt = d.runtime(scene).start(connect=broker is not None)
    rt.operators.add(*SUPERVISOR[:1], "Sari", SUPERVISOR[1], ["supervisor"])
    rt.operators.add(OPERATOR[0], "Budi", OPERATOR[1], ["operator"], by=SUPERVISOR)
    rt.operators.add(TECHNICIAN[0], "Tono", TECHNICIAN[1], ["technician"], by=SUPERVISOR)
    kiosk = make_kiosk(rt, trainer=trainer, scene=scene)
    server = KioskServer(kiosk, port=0).start() if serve else None
    try:
        yield rt, kiosk, server, scene
    finally:
        if server is not None:
            server.stop()
        else:
            kiosk.stop()
        rt.stop()

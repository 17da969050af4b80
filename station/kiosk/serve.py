"""Running the kiosk: uvicorn inside the station process, beside the uplink and the devices.

:class:`KioskServer` runs uvicorn on a thread (the demo, tests and benches
use it); :func:`serve_kiosk` is ``rekam station kiosk``: the station
runtime, the kiosk, and uvicorn on the main thread until SIGTERM/SIGINT.
Trainer mode is refused unless every device is emulated.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from adapters.sdnotify import Watchdog, notify, watchdog_interval
from drivers.registry import DriverContext
from drivers.scene import Scene
from station.config import StationConfig
from station.errors import ConfigError, StationError
from station.kiosk.app import build_app
from station.kiosk.core import Kiosk
from station.runtime import StationRuntime
from station.trainer import Trainer, TrainerUnavailable

log = logging.getLogger(__name__)


def make_kiosk(runtime: StationRuntime, *, trainer: bool, scene: Scene | None = None) -> Kiosk:
    t = None
    if trainer:
        try:
            t = Trainer(scene or runtime.context.scene, runtime.devices)
        except TrainerUnavailable as exc:
            raise ConfigError(f"--trainer: {exc}; set every [devices.*] driver to its emulated one") from None
    def central(packet_id: str) -> str | None:
        known = runtime.central_statuses.status(packet_id)
        return known.status if known is not None else None

    return Kiosk(runtime, trainer=t, central_status=central)


def _config(kiosk: Kiosk, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(build_app(kiosk), host=host, port=port, log_level="warning", access_log=False,
                          ws="websockets-sansio", lifespan="on", ws_ping_interval=None)


class KioskServer:
    """uvicorn on a background thread; ``port=0`` picks a free one."""

    def __init__(self, kiosk: Kiosk, *, host: str | None = None, port: int | None = None) -> None:
        self.kiosk = kiosk
        self.host = host or kiosk.settings.host
        self.port = kiosk.settings.port if port is None else port
        if self.port == 0:
            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = s.getsockname()[1]
        self._server = uvicorn.Server(_config(kiosk, self.host, self.port))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "KioskServer":
        self._thread = threading.Thread(target=self._server.run, name="kiosk-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise StationError(f"the kiosk could not listen on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.kiosk.stop()


def serve_kiosk(config: StationConfig, *, trainer: bool = False, port: int | None = None) -> int:
    scene = Scene(time_scale=1.0)
    runtime = StationRuntime(config, context=DriverContext(scene=scene))
    runtime.start()
    try:
        kiosk = make_kiosk(runtime, trainer=trainer, scene=scene)
        host = config.kiosk.host
        server = uvicorn.Server(_config(kiosk, host, port or config.kiosk.port))
        log.info("kiosk on http://%s:%d%s", host, port or config.kiosk.port, " (trainer mode)" if trainer else "")
        notify("READY=1")
        interval = watchdog_interval()
        dog = Watchdog(lambda: server.started and (runtime.uplink is None or runtime.uplink.alive),
                       interval).start() if interval else None
        try:
            server.run()
        finally:
            if dog is not None:
                dog.stop()
            kiosk.stop()
    finally:
        notify("STOPPING=1")
        runtime.stop()
    return 0

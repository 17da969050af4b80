"""``rekam controller run``: the long-running controller process.

Loads and checks everything before connecting (config, private key mode,
store migrations), then runs the service until SIGTERM or SIGINT, on which it
finishes the packets in hand before exiting. Exit codes: 0 clean stop,
2 bad config or keys, 1 anything else.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

from controller import config as config_mod
from controller import keyfiles
from controller.errors import ControllerError
from controller.scheduler.service import Planning
from controller.provisioning.ca import CaPaths
from controller.provisioning.renewal import refresh_crl, renew_due
from controller.service import ControllerService
from controller.store import Store

log = logging.getLogger("rekam.controller")


class Renewals:
    """Renews station certificates that are due, and the revocation list before it expires, at most
    once an hour (it reads the CA's files)."""

    EVERY_S = 3600.0

    def __init__(self, paths: CaPaths, store: Store, clock=time.monotonic) -> None:
        self.paths, self.store, self._clock = paths, store, clock
        self._next = 0.0

    def tick(self, service: ControllerService) -> int:
        if self._clock() < self._next:
            return 0
        self._next = self._clock() + self.EVERY_S
        try:
            refresh_crl(self.paths)
            due = renew_due(self.paths, self.store)
        except ControllerError as exc:
            log.error("certificate renewal failed: %s", exc)
            return 0
        for renewal in due:
            service.publish_certificate(renewal.message())
        return len(due)


def run(config_path: Path, *, ready: threading.Event | None = None, stop: threading.Event | None = None) -> int:
    cfg = config_mod.load(config_path)  # a ControllerError here reaches the operator as one line
    keys = keyfiles.load_private(cfg.private_key)
    store = Store(cfg.store_path).open()
    stop = stop or threading.Event()

    def on_signal(signum, frame) -> None:
        log.info("received %s: finishing packets in hand", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    planning = Planning(store, cfg.schedule, silent_after_s=cfg.fleet.silent_after_s)
    renewals = Renewals(CaPaths.for_config(cfg), store)

    def on_tick() -> None:
        planning.tick(service)
        renewals.tick(service)

    try:
        service = ControllerService(cfg, store, keys, assigned_today=planning.assigned_today, on_tick=on_tick)
    except ControllerError:  # e.g. unusable TLS files
        store.close()
        raise
    handoff = None
    dashboard = None
    if cfg.web.enabled:  # the fleet dashboard ([web] in controller.toml)
        from controller.web.wiring import DashboardRuntime

        dashboard = DashboardRuntime(service, planning=planning)
    try:
        service.start()
        if cfg.export.central_url:  # the hand-off to the central system (controller/export)
            from controller.export.worker import HandOffWorker

            handoff = HandOffWorker(cfg, store, keys, lambda t, p: service.link.publish(t, p, qos=1)).start()
        if dashboard is not None:
            dashboard.start()
            log.info("fleet dashboard at %s", dashboard.url)
        log.info("controller %s running: store %s, broker %s:%d", cfg.controller_id, cfg.store_path,
                 cfg.mqtt.host, cfg.mqtt.port)
        if ready is not None:
            ready.set()
        stop.wait()
    finally:
        if handoff is not None:
            handoff.stop()
        if dashboard is not None:
            dashboard.stop()
        service.stop()
        store.close()
        c = service.counts
        log.info("controller stopped: %d stored, %d duplicate, %d rejected, %d dropped",
                 c.stored, c.duplicate, c.rejected, c.dropped)
    return 0

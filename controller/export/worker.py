"""The hand-off inside ``rekam controller run``: export, push, poll, publish, purge on a timer.

Started by the runtime when ``[export] central_url`` is set. Everything it
does is idempotent and resumable (see exporter and delivery), so a stop or a
kill at any moment only postpones work. One bad cycle is logged and the next
one runs as usual; the centre being away only delays delivery.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from controller.config import ControllerConfig
from controller.errors import ControllerError
from controller.export import keys as export_keys
from controller.export.client import CentralClient
from controller.export.delivery import HandOff
from controller.export.exporter import ExportBusy, Exporter
from controller.store import Store
from protocol.keys import ControllerKeys

log = logging.getLogger(__name__)


def build(cfg: ControllerConfig, store: Store, keys: ControllerKeys, *, actor: str) -> tuple[Exporter, HandOff]:
    """The exporter and the hand-off for this config; ControllerError names a missing key or setting."""
    s = cfg.export
    assert s.central_public_key is not None and s.signing_key is not None
    central_key = export_keys.load_central_public(s.central_public_key)
    signing_key = export_keys.load_signing_key(s.signing_key)
    exporter = Exporter(store, keys, s, origin=cfg.controller_id, central_key=central_key, signing_key=signing_key)
    client = CentralClient(s.central_url, ca_file=s.central_ca_file, timeout_s=s.timeout_s) if s.central_url else None
    return exporter, HandOff(store, s, origin=cfg.controller_id, client=client, actor=actor)


class HandOffWorker:
    def __init__(self, cfg: ControllerConfig, store: Store, keys: ControllerKeys,
                 publish: Callable[[str, bytes], bool]) -> None:
        self.exporter, self.handoff = build(cfg, store, keys, actor=f"controller:{cfg.controller_id}")
        self.interval = cfg.export.interval_s
        self._publish = publish
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controller-handoff", daemon=True)
        self.cycles = 0

    def start(self) -> "HandOffWorker":
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        if self.handoff.client is not None:
            self.handoff.client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.exporter.store.export_backlog(retry_refused=False):
                    try:
                        self.exporter.run(self.handoff.actor, retry_refused=False)
                    except ExportBusy as exc:  # an operator's export run has it; this cycle only sends
                        log.info("%s", exc)
                self.handoff.cycle(self._publish)
            except ControllerError as exc:
                log.error("hand-off cycle failed: %s", exc)
            except Exception:  # the controller outlives any one cycle
                log.exception("hand-off cycle failed")
            self.cycles += 1
            self._wake.wait(self.interval)
            self._wake.clear()

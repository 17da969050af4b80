"""The demo's hand-off: an emulated central system over HTTPS and the controller's hand-off worker.

The centre judges each exported record, prints cards on an accelerated
schedule (one stage per half schedule day) from a stock of blank cards that
runs out (the Semarang backlog, made visible), and the statuses come back
to the controller and on to the stations. Payloads keep the real retention
(30 days after confirmation), so nothing is purged during a demo.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Callable

import msgspec

from controller.config import ControllerConfig
from controller.export.keys import create_signing_key
from controller.export.worker import HandOffWorker
from controller.store import Store
from protocol.keys import ControllerKeys
from rekam.central.server import CentralServer
from rekam.central.server import init as central_init


class DemoHandOff:
    def __init__(self, server: CentralServer, worker: HandOffWorker) -> None:
        self.server = server
        self.worker = worker

    @classmethod
    def start(cls, workdir: Path, cfg: ControllerConfig, store: Store, keys: ControllerKeys,
              publish: Callable[[str, bytes], bool], *, day_seconds: float, blank_cards: int,
              say: Callable[[str], None]) -> "DemoHandOff":
        pub = cfg.export.signing_key.with_suffix(".pub")
        create_signing_key(cfg.export.signing_key, pub)
        stage = max(0.5, day_seconds / 2)
        cdir = central_init(workdir / "central", settings={
            "port": 0, "print_ready_after_s": stage, "printed_after_s": stage, "distributed_after_s": stage,
            "blank_cards": blank_cards}, trust=[pub])
        shutil.copyfile(cdir.public_key, cfg.export.central_public_key)
        server = CentralServer(cdir.path).start()
        export = msgspec.structs.replace(cfg.export, central_url=server.url, central_ca_file=cdir.cert, workers=1,
                                         interval_s=max(0.5, day_seconds / 4), retry_min_s=0.5, retry_max_s=5.0)
        worker = HandOffWorker(dataclasses.replace(cfg, export=export), store, keys, publish).start()
        say(f"central system: emulated at {server.url} ({blank_cards} blank cards in stock)")
        return cls(server, worker)

    def finish(self, store: Store, timeout: float = 30.0) -> bool:
        """After the last day: hand over what is left and hear the centre's first answers."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.worker.wake()
            if store.export_backlog() == 0 and not store.batches("sealed"):
                cycles = self.worker.cycles
                while self.worker.cycles < cycles + 2 and time.monotonic() < deadline:
                    self.worker.wake()
                    time.sleep(0.1)
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        self.worker.stop()
        self.server.stop()

"""What every chaos test shares: stations with sealed backlogs, a ledger of what must arrive, the verdict.

A test seals packets (each a valid record with its own NIK) into real
outboxes, lets real uplinks deliver them to real controllers through a real
Mosquitto while it kills and restarts things, and then asks the store:

* lost: a packet some station sealed durably that the store does not hold;
* stored twice: more rows than distinct packets, or a (station, seq) or NIK
  held by two rows (a packet id is the idempotency key; nothing else may
  repeat);
* worst stall: the longest gap between two consecutive stores while packets
  were waiting, from the store's own receive times.

Each verdict is printed (``pytest -m chaos -s`` shows them) and appended to
``$REKAM_CHAOS_REPORT`` when that is set.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from protocol.keys import ControllerKeys, SigningKey
from rekam.sandbox import ControllerDir, seal_backlog, synthetic_niks
from station.config import MqttSettings
from station.outbox import Outbox
from station.uplink import Uplink


@dataclass
class ChaosStation:
    station_id: str
    key: SigningKey
    outbox_path: Path
    outbox: Outbox | None = None
    uplink: Uplink | None = None

    def seal(self, controller: ControllerKeys, niks: list[str]) -> list[str]:
        return seal_backlog(self.outbox_path, self.station_id, self.key, controller, niks)

    def online(self, host: str, port: int, **settings) -> "ChaosStation":
        self.outbox = Outbox(self.outbox_path).open()
        self.uplink = Uplink(self.station_id, MqttSettings(host=host, port=port, **settings), self.outbox).start()
        return self

    def offline(self) -> None:
        if self.uplink is not None:
            self.uplink.stop()
        if self.outbox is not None:
            self.outbox.close()
        self.uplink = self.outbox = None

    def depth(self) -> int:
        with Outbox(self.outbox_path, recover_in_flight=False) as ob:
            return ob.stats().depth


def stations(ctl: ControllerDir, tmp: Path, n: int) -> list[ChaosStation]:
    out = []
    for i in range(1, n + 1):
        sid = f"st-{i:02d}"
        key = SigningKey.generate()
        ctl.register(sid, key)
        out.append(ChaosStation(sid, key, tmp / f"{sid}.db"))
    return out


def niks(count: int, start: int = 0) -> list[str]:
    """Distinct NIKs (so a NIK stored twice can only be a packet stored twice)."""
    return synthetic_niks(start + count)[start:]


@dataclass
class Verdict:
    test: str
    runs: int
    sealed: int
    lost: int
    stored_twice: int
    worst_stall_s: float

    def report(self) -> "Verdict":
        print(f"\nchaos {self.test}: runs {self.runs}, sealed {self.sealed}, lost {self.lost}, "
              f"stored twice {self.stored_twice}, worst stall {self.worst_stall_s:.2f} s")
        path = os.environ.get("REKAM_CHAOS_REPORT")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps(asdict(self)) + "\n")
        return self


def verdict(test: str, ctl: ControllerDir, sealed: set[str], *, runs: int = 1,
            windows: list[tuple[float, float]] | None = None) -> Verdict:
    """``windows`` (wall-clock start, end): where packets were waiting, when the test also idles on purpose."""
    with ctl.store() as store:
        with store.transaction() as db:
            rows = db.execute("SELECT packet_id, station_id, seq, nik, received_at FROM packets").fetchall()
    ids = {r[0] for r in rows}
    twice = (len(rows) - len(ids)) + (len(rows) - len({(r[1], r[2]) for r in rows})) \
        + (len(rows) - len({r[3] for r in rows}))
    spans = windows or [(float("-inf"), float("inf"))]
    stall = 0.0
    for start, end in spans:
        times = sorted(t for t in (r[4] for r in rows) if start <= t <= end)
        if start != float("-inf") and times:
            times.insert(0, start)  # the wait for the first store counts too
        stall = max([stall, *(b - a for a, b in zip(times, times[1:]))])
    return Verdict(test, runs, len(sealed), len(sealed - ids), twice, stall).report()

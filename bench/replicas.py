"""Drain rate with one live controller replica against one live and one killed, in the same run.

A dead replica must take no share of the stream (issue 9, item 2: within
0.8x of a single live replica). Each repeat seals a backlog into real station
outboxes, starts ``rekam controller run`` replicas against one Mosquitto and
times the drain from the stations' first connect to empty outboxes:

(a) one replica, alone;
(b) two replicas, the second killed with SIGKILL and left down once the
    broker has published its will.

Prints each repeat, the medians, their ratio and the publishes per packet
in (b) (1.00: nothing was routed to the dead replica and sent again).

    .venv/bin/python bench/replicas.py [--stations 4] [--packets 250] [--repeats 3]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from controller.store import Store
from protocol import messages, topics
from protocol.keys import SigningKey
from rekam.brokers import MosquittoBroker
from rekam.sandbox import make_controller_dir, seal_backlog, synthetic_niks
from station.config import MqttSettings
from station.outbox import Outbox
from station.uplink import Uplink


def wait_status(broker: MosquittoBroker, controller_id: str, online: bool, timeout: float = 30.0) -> None:
    """Until the replica's retained status says ``online`` (its will says offline)."""
    seen = threading.Event()

    def on_message(_c, _u, msg) -> None:
        if msg.payload and messages.decode(messages.ControllerStatus, msg.payload).online is online:
            seen.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-watch-{time.monotonic_ns()}")
    c.on_message = on_message
    c.on_connect = lambda cl, *_: cl.subscribe(topics.controller_status(controller_id), qos=1)
    c.connect(broker.host, broker.port)
    c.loop_start()
    try:
        if not seen.wait(timeout):
            raise SystemExit(f"{controller_id} did not say {'online' if online else 'offline'} in {timeout:.0f} s")
    finally:
        c.loop_stop()
        c.disconnect()


def drain(fleet: dict[str, Path], broker: MosquittoBroker, store: Store, expect: int) -> tuple[float, int]:
    """Connect the stations, wait for empty outboxes: (packets stored per second, publishes)."""
    start = store.packet_count()
    t0 = time.monotonic()
    links = []
    for sid, path in fleet.items():
        ob = Outbox(path).open()
        links.append((ob, Uplink(sid, MqttSettings(host=broker.host, port=broker.port), ob).start()))
    deadline = t0 + 300
    while any(ob.stats().depth for ob, _ in links):
        if time.monotonic() > deadline:
            raise SystemExit("the stations did not drain in 300 s")
        time.sleep(0.005)
    elapsed = time.monotonic() - t0
    published = sum(up.status.published for _, up in links)
    for ob, up in links:
        up.stop()
        ob.close()
    stored = store.packet_count() - start
    if stored != expect:
        raise SystemExit(f"stored {stored} packets, expected {expect}")
    return stored / elapsed, published


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=4, help="stations draining at once (default 4)")
    ap.add_argument("--packets", type=int, default=250, help="sealed packets per station per drain (default 250)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of (a) and (b) (default 3)")
    args = ap.parse_args()
    per_drain = args.stations * args.packets
    with tempfile.TemporaryDirectory(prefix="rekam-bench-replicas-") as tmp_s, \
            MosquittoBroker(workdir=Path(tmp_s) / "broker") as broker:
        tmp = Path(tmp_s)
        ctl = make_controller_dir(tmp / "controller", broker.host, broker.port,
                                  settings={"mqtt": {"keepalive_s": 5}})
        fleet: dict[str, Path] = {}
        keys: dict[str, SigningKey] = {}
        for i in range(1, args.stations + 1):
            sid = f"st-{i:02d}"
            keys[sid] = SigningKey.generate()
            ctl.register(sid, keys[sid])
            fleet[sid] = tmp / f"{sid}.db"
        niks = iter(synthetic_niks(2 * args.repeats * per_drain))

        def seal_all() -> None:
            for sid, path in fleet.items():
                seal_backlog(path, sid, keys[sid], ctl.keys, [next(niks) for _ in range(args.packets)])

        single_rates, dead_rates, sends = [], [], []
        print(f"{args.stations} stations x {args.packets} packets per drain, {args.repeats} repeats")
        with ctl.store() as store:
            for r in range(1, args.repeats + 1):
                seal_all()
                a = ctl.spawn("controller-a")
                try:
                    wait_status(broker, "controller-a", True)
                    rate, _ = drain(fleet, broker, store, per_drain)
                    single_rates.append(rate)
                finally:
                    a.terminate()
                    a.wait(30)
                seal_all()
                a, b = ctl.spawn("controller-a"), ctl.spawn("controller-b")
                try:
                    wait_status(broker, "controller-a", True)
                    wait_status(broker, "controller-b", True)
                    b.send_signal(signal.SIGKILL)
                    b.wait(10)
                    wait_status(broker, "controller-b", False)
                    rate, published = drain(fleet, broker, store, per_drain)
                    dead_rates.append(rate)
                    sends.append(published / per_drain)
                finally:
                    a.terminate()
                    a.wait(30)
                print(f"  repeat {r}: one live {single_rates[-1]:.0f}/s; one live + one dead {dead_rates[-1]:.0f}/s; "
                      f"{sends[-1]:.2f} publishes per packet", flush=True)
    one, two = statistics.median(single_rates), statistics.median(dead_rates)
    print(f"median: one live replica {one:.0f} packets/s; one live + one killed {two:.0f} packets/s; "
          f"ratio {two / one:.2f} (target >= 0.80); publishes per packet {max(sends):.2f} at worst")
    if two / one < 0.8:
        raise SystemExit("MISSED: the dead replica cost more than a fifth of the rate")


if __name__ == "__main__":
    main()

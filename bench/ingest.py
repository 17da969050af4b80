"""Controller ingest rate against the broker's own rate, draining the same backlog, in one run.

Both sides are timed on a backlog already waiting in Mosquitto, so neither is
bound by the publishers:

(a) a bare paho subscriber (persistent session, auto-PUBACK) drains N
    realistic sealed packets (~300 KB: face JPEG, ten finger images,
    signature): the broker's raw delivery rate;
(b) ``rekam controller run`` (a separate process, through the shared
    subscription, persistent session) drains the same N packets: verified,
    opened, validated, stored durably and acked, timed from the controller's
    online status to the Nth ack.

Prints both rates, their ratio, the controller's CPU time and peak RSS.

    .venv/bin/python bench/ingest.py [--stations 8] [--packets 400]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from controller.store import Store
from protocol import packet, topics
from protocol.keys import SigningKey
from rekam.brokers import MosquittoBroker
from rekam.sandbox import make_controller_dir, synthetic_niks, synthetic_record


def sealed_backlog(ctl, stations: int, packets: int) -> dict[str, list[bytes]]:
    keys = {f"st-{i:02d}": SigningKey.generate() for i in range(1, stations + 1)}
    for sid, k in keys.items():
        ctl.register(sid, k)
    sids = list(keys)
    streams: dict[str, list[bytes]] = {sid: [] for sid in sids}
    for i, nik in enumerate(synthetic_niks(packets)):
        sid = sids[i % len(sids)]
        # A real record's sizes; random filler so nothing compresses or dedups along the way.
        rec = synthetic_record(nik, station_id=sid, face_bytes=55_000, finger_bytes=23_000, signature_bytes=8_000,
                               samples=400, filler=os.urandom(64))
        env = packet.seal(rec.to_cbor(), station_id=sid, seq=i + 1, controller_key=ctl.keys.public.keys[0],
                          station_key=keys[sid])
        streams[sid].append(env.to_bytes())
    return streams


def publish_all(broker, streams: dict[str, list[bytes]]) -> None:
    def one(sid: str, payloads: list[bytes]) -> None:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{sid}", clean_session=True)
        c.max_inflight_messages_set(50)
        c.connect(broker.host, broker.port)
        c.loop_start()
        for info in [c.publish(topics.station(sid, topics.Leaf.PACKETS), p, qos=1) for p in payloads]:
            info.wait_for_publish(120)
        c.loop_stop()
        c.disconnect()

    threads = [threading.Thread(target=one, args=item) for item in streams.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Counter:
    def __init__(self, target: int) -> None:
        self.n, self.target = 0, target
        self.done = threading.Event()
        self.lock = threading.Lock()

    def hit(self) -> None:
        with self.lock:
            self.n += 1
            if self.n >= self.target:
                self.done.set()


def client(broker, client_id: str, *, topic: str | None = None, on_message=None,
           clean: bool = True) -> tuple[mqtt.Client, threading.Event]:
    """A connected paho client; the event is set once its subscription (if any) is granted."""
    ready = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(topic, qos=1) if topic else ready.set()
    c.on_subscribe = lambda *a: ready.set()
    if on_message is not None:
        c.on_message = lambda cl, u, m: on_message(m)
    c.connect(broker.host, broker.port)
    c.loop_start()
    ready.wait(10)
    return c, ready


def stop(c: mqtt.Client) -> None:
    c.disconnect()
    c.loop_stop()


def proc_stat(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    return cpu, hwm / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=8)
    ap.add_argument("--packets", type=int, default=400, help="packets in all")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rekam-ingest-bench-"))
    broker = MosquittoBroker(workdir=tmp / "broker", persistence=False).start()
    # A session that outlives the connection, so the backlog can wait for the controller in the broker.
    ctl = make_controller_dir(tmp / "controller", broker.host, broker.port,
                              settings={"mqtt": {"keepalive_s": 30, "session_expiry_s": 600}})
    streams = sealed_backlog(ctl, args.stations, args.packets)
    n = args.packets
    size = sum(len(p) for s in streams.values() for p in s) / n
    print(f"{n} packets of {size / 1024:.0f} KB from {args.stations} stations, waiting in the broker each time")

    # (a) the broker's own rate: a bare subscriber drains the backlog queued in its session
    sub, _ = client(broker, "bare", topic=topics.all_stations(topics.Leaf.PACKETS), clean=False)
    stop(sub)
    publish_all(broker, streams)
    raw = Counter(n)
    t0 = time.perf_counter()
    sub, _ = client(broker, "bare", topic=topics.all_stations(topics.Leaf.PACKETS), clean=False,
                    on_message=lambda m: raw.hit())
    raw.done.wait(600)
    raw_s = time.perf_counter() - t0
    stop(sub)

    # (b) the controller: join the share group once, leave (killed), let the backlog queue, come back
    acks, online = Counter(n), threading.Event()
    ack_sub, _ = client(broker, "acks", topic=topics.all_stations(topics.Leaf.ACKS), on_message=lambda m: acks.hit())
    from protocol import messages

    def status(m):
        if m.payload and messages.decode(messages.ControllerStatus, m.payload).online:
            online.set()

    watch, _ = client(broker, "watch", topic=topics.ALL_CONTROLLER_STATUS, on_message=status)
    proc = ctl.spawn(log=tmp / "controller.log")
    online.wait(30)
    proc.kill()
    proc.wait(10)
    online.clear()
    publish_all(broker, streams)
    proc = ctl.spawn(log=tmp / "controller.log")
    online.wait(30)
    t0 = time.perf_counter()
    ok = acks.done.wait(900)
    ctl_s = time.perf_counter() - t0
    cpu, rss = proc_stat(proc.pid)
    proc.terminate()
    proc.wait(60)
    for c in (ack_sub, watch):
        stop(c)
    with Store(ctl.config.store_path) as store:
        stored = store.packet_count()
    broker.close()

    raw_rate, ctl_rate = n / raw_s, n / ctl_s
    print(f"(a) broker -> bare subscriber         {raw_rate:7.1f} packets/s  ({raw_rate * size / 2**20:.0f} MB/s)")
    print(f"(b) controller stored + acked         {ctl_rate:7.1f} packets/s  ({stored} stored, all acked: {ok})")
    print(f"ratio controller / broker             {ctl_rate / raw_rate:7.2f}")
    print(f"controller CPU                        {cpu / n * 1000:7.1f} ms per packet ({cpu:.1f} s in all, "
          "start-up included)")
    print(f"controller peak RSS                   {rss:7.0f} MB")


if __name__ == "__main__":
    main()

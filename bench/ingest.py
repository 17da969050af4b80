"""Controller ingest rate against the raw broker rate, in one run.

K stations publish N realistic sealed packets (~300 KB: face JPEG, ten
finger images, signature) through a real Mosquitto:

(a) a bare paho subscriber receives the stream: the broker's raw rate;
(b) the same stream goes to `rekam controller run` (a separate process,
    through the shared subscription): the rate of packets durably stored and
    acked, timed at the stations by the acks they receive.

Prints both rates, the ratio (target: controller >= 50% of raw) and the
controller process's peak RSS.

    .venv/bin/python bench/ingest.py [--stations 4] [--packets 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt  # noqa: E402

from controller.store import Store  # noqa: E402
from protocol import packet, topics  # noqa: E402
from protocol.keys import SigningKey  # noqa: E402
from protocol.record import (  # noqa: E402
    ChainBuilder,
    EnrollmentRecord,
    FaceEntry,
    FingerEntry,
    Quality,
    SignatureEntry,
    pack_samples,
)
from rekam.brokers import MosquittoBroker  # noqa: E402
from tests.fixtures.controller import make_controller_dir  # noqa: E402
from tests.fixtures.records import sample_niks  # noqa: E402

Q = Quality(True, False, 1, {"score": 0.9})


def realistic_record(nik: str, station_id: str) -> EnrollmentRecord:
    """Sizes of a real record: ~55 KB JPEG face, ten ~23 KB finger PNGs, an 8 KB signature + samples."""
    started = time.time()
    chain = ChainBuilder(nik, station_id, started)
    face = chain.add(FaceEntry(b"\xff\xd8" + os.urandom(55_000), 480, 640, started, Q))
    fingers = tuple(chain.add(FingerEntry(p, started, image=b"\x89PNG" + os.urandom(23_000), width=256, height=288,
                                          dpi=500, template=os.urandom(512), template_format="zhiantec", quality=Q))
                    for p in range(1, 11))
    samples = pack_samples((i * 8, float(i % 2000), float(i % 700), 1.0, True) for i in range(400))
    sig = chain.add(SignatureEntry(b"\x89PNG" + os.urandom(8_000), samples, (2000, 700), started, Q))
    return EnrollmentRecord(nik, "33.72.05.1001", station_id, "bench", None, started, started + 1, face, fingers,
                            sig, ())


def publish_all(broker, streams: dict[str, list[bytes]]) -> None:
    def one(sid: str, payloads: list[bytes]) -> None:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{sid}", clean_session=True)
        c.max_inflight_messages_set(20)
        c.connect(broker.host, broker.port)
        c.loop_start()
        infos = [c.publish(topics.station(sid, topics.Leaf.PACKETS), p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(60)
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

    def hit(self, *_args) -> None:
        with self.lock:
            self.n += 1
            if self.n >= self.target:
                self.done.set()


def subscriber(broker, client_id: str, topic: str, counter: Counter) -> mqtt.Client:
    ready = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(topic, qos=1)
    c.on_subscribe = lambda *a: ready.set()
    c.on_message = lambda cl, u, m: counter.hit()
    c.connect(broker.host, broker.port)
    c.loop_start()
    ready.wait(10)
    return c


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=4)
    ap.add_argument("--packets", type=int, default=200, help="packets in all")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rekam-ingest-bench-"))
    broker = MosquittoBroker(workdir=tmp / "broker", persistence=False).start()
    ctl = make_controller_dir(tmp / "controller", broker)
    keys = {f"st-{i:02d}": SigningKey.generate() for i in range(1, args.stations + 1)}
    for sid, k in keys.items():
        ctl.register(sid, k)
    niks = sample_niks(args.packets)
    streams: dict[str, list[bytes]] = {sid: [] for sid in keys}
    sids = list(keys)
    for i, nik in enumerate(niks):
        sid = sids[i % len(sids)]
        rec = realistic_record(nik, sid)
        env = packet.seal(rec.to_cbor(), station_id=sid, seq=i, controller_key=ctl.keys.public.keys[0],
                          station_key=keys[sid])
        streams[sid].append(env.to_bytes())
    size = sum(len(p) for s in streams.values() for p in s) / args.packets
    print(f"{args.packets} packets of {size / 1024:.0f} KB from {args.stations} stations")

    # (a) the raw broker rate
    raw = Counter(args.packets)
    sub = subscriber(broker, "bare", topics.all_stations(topics.Leaf.PACKETS), raw)
    t0 = time.perf_counter()
    publish_all(broker, streams)
    raw.done.wait(300)
    raw_s = time.perf_counter() - t0
    sub.loop_stop()
    sub.disconnect()

    # (b) the controller: stored durably and acked
    proc = ctl.spawn(log=tmp / "controller.log")
    acks = Counter(args.packets)
    ack_sub = subscriber(broker, "acks", topics.all_stations(topics.Leaf.ACKS), acks)
    status = Counter(1)
    watch = subscriber(broker, "watch", topics.CONTROLLER_STATUS, status)
    status.done.wait(20)
    t0 = time.perf_counter()
    publish_all(broker, streams)
    ok = acks.done.wait(600)
    ctl_s = time.perf_counter() - t0
    rss = peak_rss_mb(proc.pid)
    proc.terminate()
    proc.wait(30)
    for c in (ack_sub, watch):
        c.loop_stop()
        c.disconnect()
    with Store(ctl.config.store_path) as store:
        stored = store.packet_count()
    broker.close()

    raw_rate, ctl_rate = args.packets / raw_s, args.packets / ctl_s
    print(f"(a) raw broker -> bare paho subscriber   {raw_rate:7.1f} packets/s  ({raw_rate * size / 2**20:.0f} MB/s)")
    print(f"(b) controller stored + acked            {ctl_rate:7.1f} packets/s  "
          f"({stored} stored, all acked: {ok})")
    print(f"ratio controller / raw                   {ctl_rate / raw_rate:7.2f}   (target >= 0.50)")
    print(f"controller peak RSS                      {rss:7.0f} MB")


if __name__ == "__main__":
    main()

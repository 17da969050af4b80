"""Export throughput: N stored packets opened, converted (ANSI/NIST-ITL, WSQ), sealed and sent, in records/s.

Builds its own installation: a controller store holding N sealed packets of
realistic records (a JPEG portrait, ten 500-dpi finger images from the
synthetic sensor with their templates, a signature; a pool of distinct
residents re-used under distinct NIKs, each record re-chained and sealed as a
station would), and the emulated centre as a separate process over HTTPS
(receiving and holding batches; its judging is switched off so only the
controller's work is timed). Then times, in this process:

(a) export: open + verify + decrypt + validate, de-dup 1:N, WSQ + ANSI/NIST-ITL
    in worker processes, seal to the centre, sign, write, record;
(b) send: every sealed batch to the centre over HTTPS until confirmed.

Prints both phases, the whole rate, and the ingest rate beside it (from
bench/ingest.py, run here unless --ingest-rate is given).

    .venv/bin/python bench/export.py [--packets 10000] [--workers 0] [--ingest-rate R]
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from controller.export.client import CentralClient
from controller.export.delivery import HandOff
from controller.export.exporter import Exporter
from controller.export.keys import create_signing_key, load_central_public
from controller.store import PacketIndex, Store
from protocol import packet
from protocol.keys import SigningKey
from protocol.record import ChainBuilder, EnrollmentRecord
from rekam.central.residents import realistic_record
from rekam.central.server import init as central_init
from rekam.sandbox import make_controller_dir, synthetic_niks

KEL = "33.72.05.1001"


def composite(pool: list[EnrollmentRecord], i: int, nik: str, station_id: str,
              started_at: float) -> EnrollmentRecord:
    """Record i: the pool's captures, each finger position from a different pool resident (so two
    records rarely share fingers, as distinct residents would not), re-chained under its own NIK."""
    rng = random.Random(i)
    rec = pool[i % len(pool)]
    chain = ChainBuilder(nik, station_id, started_at)
    face = chain.add(rec.face)
    fingers = tuple(chain.add(next(f for f in pool[rng.randrange(len(pool))].fingers if f.position == pos))
                    for pos in range(1, 11))
    return msgspec.structs.replace(rec, nik=nik, station_id=station_id, started_at=started_at,
                                   finished_at=started_at + 5, face=face, fingers=fingers,
                                   signature=chain.add(rec.signature))


def ingest_rate(packets: int) -> float | None:
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("ingest.py")), "--packets", str(packets)],
                         capture_output=True, text=True, timeout=1800)
    m = re.search(r"\(b\) controller stored \+ acked\s+([\d.]+) packets/s", out.stdout)
    return float(m.group(1)) if m else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=10_000)
    ap.add_argument("--pool", type=int, default=100, help="distinct residents whose captures are re-used")
    ap.add_argument("--stations", type=int, default=8)
    ap.add_argument("--workers", type=int, default=0, help="conversion processes (0 = one per CPU)")
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--ingest-rate", type=float, default=None, help="skip running bench/ingest.py")
    ap.add_argument("--ingest-packets", type=int, default=400)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="rekam-export-bench-"))
    central = None
    try:
        t0 = time.perf_counter()
        ctl = make_controller_dir(tmp / "controller", "127.0.0.1", 1)
        cfg = ctl.config
        keys = {f"st-{i:02d}": SigningKey.generate() for i in range(1, args.stations + 1)}
        for sid, k in keys.items():
            ctl.register(sid, k)
        pub = cfg.export.signing_key.with_suffix(".pub")
        signing = create_signing_key(cfg.export.signing_key, pub)
        cdir = central_init(tmp / "central", settings={"port": 0, "judge": False}, trust=[pub])
        shutil.copyfile(cdir.public_key, cfg.export.central_public_key)
        pool = [realistic_record(nik, KEL, person_id=f"bench-{i}")
                for i, nik in enumerate(synthetic_niks(args.pool, "33.72.01"))]
        print(f"pool of {len(pool)} residents made in {time.perf_counter() - t0:.0f} s", flush=True)
        t0 = time.perf_counter()
        sids = list(keys)
        size = 0
        with Store(cfg.store_path) as store:
            batch = []
            for i, nik in enumerate(synthetic_niks(args.packets)):
                sid = sids[i % len(sids)]
                rec = composite(pool, i, nik, sid, 1.7e9 + i)
                env = packet.seal(rec.to_cbor(), station_id=sid, seq=i + 1, controller_key=ctl.keys.public.keys[0],
                                  station_key=keys[sid])
                data = env.to_bytes()
                size += len(data)
                batch.append((PacketIndex(env.packet_id, sid, i + 1, nik, KEL, "a-1", "op-1", rec.started_at,
                                          env.header.sealed_at), data))
                if len(batch) == 500:
                    store.store_packets(batch)
                    batch = []
            if batch:
                store.store_packets(batch)
        n = args.packets
        print(f"{n} packets of {size / n / 1024:.0f} KB stored in {time.perf_counter() - t0:.0f} s", flush=True)

        central = subprocess.Popen([sys.executable, "-m", "rekam.cli", "central", "run", "--dir", str(cdir.path)],
                                   stdout=open(tmp / "central.log", "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not cdir.url_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = cdir.url_file.read_text()
        settings = msgspec.structs.replace(cfg.export, central_url=url, central_ca_file=cdir.cert,
                                           workers=args.workers, batch_size=args.batch_size)
        with Store(cfg.store_path) as store:
            exporter = Exporter(store, ctl.keys, settings, origin=cfg.controller_id,
                                central_key=load_central_public(cfg.export.central_public_key), signing_key=signing)
            t0 = time.perf_counter()
            report = exporter.run("bench")
            export_s = time.perf_counter() - t0
            handoff = HandOff(store, settings, origin=cfg.controller_id,
                              client=CentralClient(url, ca_file=cdir.cert, timeout_s=300), actor="bench")
            t1 = time.perf_counter()
            delivered, failed = handoff.push(force=True)
            send_s = time.perf_counter() - t1
            handoff.client.close()
            accepted = len(store.batches("accepted"))
            flagged = report.flagged
        total_s = export_s + send_s
        rate = report.exported / total_s
        print(f"(a) open+dedup+WSQ/NIST+seal+write   {report.exported / export_s:7.1f} records/s "
              f"({export_s:.1f} s, {len(report.batches)} batches, {report.refused} refused, {flagged} flagged)")
        print(f"(b) send over HTTPS until confirmed  {report.exported / send_s:7.1f} records/s "
              f"({send_s:.1f} s, {delivered} delivered, {failed} failed, {accepted} confirmed)")
        print(f"export throughput (a)+(b)            {rate:7.1f} records/s for {n} stored packets "
              f"({settings.workers or 'one per CPU'} conversion workers)")
        ingest = args.ingest_rate if args.ingest_rate is not None else ingest_rate(args.ingest_packets)
        if ingest:
            print(f"ingest rate (bench/ingest.py)         {ingest:7.1f} packets/s -> export / ingest "
                  f"{rate / ingest:.2f} (target >= 1)")
    finally:
        if central is not None and central.poll() is None:
            central.send_signal(signal.SIGTERM)
            central.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

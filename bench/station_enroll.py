"""Station CPU per enrollment and peak memory, on emulated devices at zero delay.

Measures, over N enrollments (default 200) through the real workflow, the
enrollment thread's CPU time in what the station itself computes: the 12
quality gates, assembling the record (lossless PNG of each finger, the
capture chain), and sealing + the outbox commit. Target on this machine:
< 50 ms per enrollment (a Pi 4 is roughly 4x slower). For the whole picture
it also prints the thread's total CPU, which adds the drivers' byte handling
(a 4-bit image arrives as 288 UART frames per finger), and the process's
peak RSS (target < 150 MB; the device simulators live in the same process,
so it is an upper bound for the station). Device simulation (rendering
portraits, fingerprints, pen strokes) runs on other threads, or is measured
and taken out where it runs in the caller's thread (the emulated camera).

    .venv/bin/python bench/station_enroll.py [--enrollments 200] [--people 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from drivers.camera.emulated import EmulatedCamera
from drivers.scene import Scene
from protocol.keys import ControllerKeys
from rekam.demo.population import Population
from devices_apart import SplitScene, start_devices
from rekam.sandbox import make_station_dir
from station import sealer as sealer_mod
from station import workflow
from station.scripted import ScriptedOperator


class Meter:
    """Adds up the calling thread's CPU time spent inside wrapped functions."""

    def __init__(self) -> None:
        self.total = 0.0

    def wrap(self, fn):
        def timed(*a, **kw):
            t0 = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                self.total += time.thread_time() - t0
        return timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enrollments", type=int, default=200)
    ap.add_argument("--people", type=int, default=20, help="distinct synthetic residents, cycled")
    ap.add_argument("--devices", choices=["subprocess", "inprocess"], default="subprocess",
                    help="subprocess: the fingerprint and pad simulators run in another process, as hardware "
                         "would, and the station uses the real drivers on their ptys (default)")
    args = ap.parse_args()

    gates, sealing, camera, assembly = Meter(), Meter(), Meter(), Meter()
    for name in ("check_face", "check_finger", "check_signature"):
        setattr(workflow, name, gates.wrap(getattr(workflow, name)))
    sealer_mod.Sealer.seal = sealing.wrap(sealer_mod.Sealer.seal)
    workflow._png = assembly.wrap(workflow._png)
    workflow.pack_samples = assembly.wrap(workflow.pack_samples)
    workflow.Enrollment._record = assembly.wrap(workflow.Enrollment._record)
    # The emulated camera renders its portrait in the caller's thread: that is the
    # simulated hardware's work, not the station's, so it is measured and taken out.
    EmulatedCamera.capture = camera.wrap(EmulatedCamera.capture)

    ck = ControllerKeys.generate()
    scene = Scene(time_scale=0.0)
    child = None
    acting: Scene | SplitScene = scene
    devices = {}
    if args.devices == "subprocess":
        child, here, devices = start_devices()
        acting = SplitScene(scene, here)
    # Never connected: the broker address is a placeholder.
    d = make_station_dir(Path(tempfile.mkdtemp(prefix="rekam-bench-")), "127.0.0.1", 1, ck.public.to_pem(),
                         settings={"devices": devices})
    rt = d.runtime(scene).start(connect=False)
    code = "33.72.05.1001"
    people = Population({code: args.people}, today=dt.date(2013, 10, 1), seed=7).take(code, args.people)
    per, gate_per, seal_per, cam_per, asm_per = [], [], [], [], []
    t_wall = time.monotonic()
    try:
        for i in range(args.enrollments):
            r = people[i % len(people)]
            op = ScriptedOperator(acting, r.script)
            g0, s0, c0, a0 = gates.total, sealing.total, camera.total, assembly.total
            t0 = time.thread_time()
            outcome = rt.enrollment(op, "bench", kelurahan_code=code, signature_idle_s=0.05).run()
            per.append(time.thread_time() - t0 - (camera.total - c0))
            cam_per.append(camera.total - c0)
            asm_per.append(assembly.total - a0)
            gate_per.append(gates.total - g0)
            seal_per.append(sealing.total - s0)
            assert outcome is not None
            if (i + 1) % 20 == 0:
                print(f"  {i + 1}/{args.enrollments} enrollments, median {statistics.median(per) * 1000:.1f} ms CPU",
                      file=sys.stderr, flush=True)
    finally:
        rt.stop()
        if child is not None:
            acting.conn.send(None)
            child.join(10)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    p95 = lambda xs: sorted(xs)[int(0.95 * (len(xs) - 1))] * 1000  # noqa: E731
    print(f"enrollments                 {len(per)} ({args.people} residents cycled), wall {time.monotonic() - t_wall:.0f} s")
    own = [g + a + c for g, a, c in zip(gate_per, asm_per, seal_per)]
    print(f"station's own CPU per enrollment: median {ms(own):.1f} ms, p95 {p95(own):.1f} ms   (target < 50 ms)")
    print(f"  quality gates (12)          median {ms(gate_per):.1f} ms")
    print(f"  record assembly             median {ms(asm_per):.1f} ms")
    print(f"  seal + outbox commit        median {ms(seal_per):.1f} ms")
    print(f"enrollment thread in all:     median {ms(per):.1f} ms (adds driver byte handling "
          f"{ms([t - o for t, o in zip(per, own)]):.1f} ms)")
    print(f"(emulated camera rendering, excluded: median {ms(cam_per):.1f} ms)")
    where = "station only; serial simulators in another process" if child else "simulators included"
    print(f"peak RSS of the process     {rss_mb:.0f} MB ({where})   (target < 150 MB)")


if __name__ == "__main__":
    main()

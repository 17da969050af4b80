"""Station CPU per enrollment and peak memory, on emulated devices at zero delay.

Measures, over N enrollments (default 200) through the real workflow:
the enrollment thread's own CPU time (driver byte handling, quality gates,
record building, sealing, outbox commit; the device simulators run on other
threads and are not counted), and within it the quality gates and the
seal + commit; plus the process's peak RSS (simulators included, so an upper
bound for the station). Targets on this machine: < 50 ms per enrollment
(a Pi 4 is roughly 4x slower), peak RSS < 150 MB.

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.camera.emulated import EmulatedCamera  # noqa: E402
from drivers.scene import Scene  # noqa: E402
from protocol.keys import ControllerKeys  # noqa: E402
from rekam.actors import ScriptedOperator  # noqa: E402
from rekam.demo.population import Population  # noqa: E402
from station import sealer as sealer_mod  # noqa: E402
from station import workflow  # noqa: E402
from tests.fixtures.station import make_station_dir  # noqa: E402


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
    args = ap.parse_args()

    gates, sealing, camera = Meter(), Meter(), Meter()
    for name in ("check_face", "check_finger", "check_signature"):
        setattr(workflow, name, gates.wrap(getattr(workflow, name)))
    sealer_mod.Sealer.seal = sealing.wrap(sealer_mod.Sealer.seal)
    # The emulated camera renders its portrait in the caller's thread: that is the
    # simulated hardware's work, not the station's, so it is measured and taken out.
    EmulatedCamera.capture = camera.wrap(EmulatedCamera.capture)

    ck = ControllerKeys.generate()
    scene = Scene(time_scale=0.0)
    d = make_station_dir(Path(tempfile.mkdtemp(prefix="rekam-bench-")), None, ck)
    rt = d.runtime(scene).start(connect=False)
    code = "33.72.05.1001"
    people = Population({code: args.people}, today=dt.date(2013, 10, 1), seed=7).take(code, args.people)
    per, gate_per, seal_per, cam_per = [], [], [], []
    t_wall = time.monotonic()
    try:
        for i in range(args.enrollments):
            r = people[i % len(people)]
            op = ScriptedOperator(scene, r.script)
            g0, s0, c0 = gates.total, sealing.total, camera.total
            t0 = time.thread_time()
            outcome = rt.enrollment(op, "bench", kelurahan_code=code, signature_idle_s=0.05).run()
            per.append(time.thread_time() - t0 - (camera.total - c0))
            cam_per.append(camera.total - c0)
            gate_per.append(gates.total - g0)
            seal_per.append(sealing.total - s0)
            assert outcome is not None
            if (i + 1) % 20 == 0:
                print(f"  {i + 1}/{args.enrollments} enrollments, median {statistics.median(per) * 1000:.1f} ms CPU",
                      file=sys.stderr, flush=True)
    finally:
        rt.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    p95 = lambda xs: sorted(xs)[int(0.95 * (len(xs) - 1))] * 1000  # noqa: E731
    print(f"enrollments                 {len(per)} ({args.people} residents cycled), wall {time.monotonic() - t_wall:.0f} s")
    print(f"station CPU per enrollment  median {ms(per):.1f} ms, p95 {p95(per):.1f} ms   (target < 50 ms)")
    print(f"  quality gates (12)        median {ms(gate_per):.1f} ms")
    print(f"  seal + outbox commit      median {ms(seal_per):.1f} ms")
    print(f"  the rest (drivers, record) median {ms([a - b - c for a, b, c in zip(per, gate_per, seal_per)]):.1f} ms")
    print(f"(emulated camera rendering, excluded: median {ms(cam_per):.1f} ms)")
    print(f"peak RSS of the process     {rss_mb:.0f} MB (simulators included)   (target < 150 MB)")


if __name__ == "__main__":
    main()

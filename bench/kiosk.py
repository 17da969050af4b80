"""Kiosk: live preview rate and latency at 800x480, station CPU per enrollment and RSS with the kiosk up.

Builds a throwaway station on emulated devices (rekam.sandbox), starts its
kiosk in trainer mode, and drives Debian's headless Chromium (Playwright,
/usr/bin/chromium) at 800x480 to the face step with the resident in front of
the camera. For ``--seconds`` it counts the preview frames the page decoded
and painted, and for each the time from the camera returning the frame to
the page painting it (same machine clock). Targets: >= 10 fps, < 150 ms.

Then, with the kiosk and the browser still connected, it runs ``--enrollments``
whole enrollments through the same workflow (scripted resident) and prints
the station process's CPU seconds per enrollment, and the process's RSS and
peak RSS (target <= 150 MB; the device simulators share the process, so it
is an upper bound). bench/station_enroll.py breaks the CPU down further.

    .venv/bin/python bench/kiosk.py [--seconds 10] [--enrollments 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from drivers.scene import Person, Scene
from protocol.keys import ControllerKeys
from rekam.sandbox import make_station_dir
from station.kiosk.serve import KioskServer, make_kiosk
from station.scripted import ResidentScript, ScriptedOperator

NIK = "3372054512900001"  # a woman born 1990 in Banjarsari, Kota Surakarta
KELURAHAN = "33.72.05.1001"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def rss_mb() -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--enrollments", type=int, default=5)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        keys = ControllerKeys.generate()
        d = make_station_dir(Path(tmp) / "st", "127.0.0.1", 1, keys.public.to_pem(),
                             settings={"kiosk": {"kelurahan": KELURAHAN, "signature_idle_s": 0.3},
                                       "station": {"language": "id"}})
        scene = Scene(time_scale=0.0)
        rt = d.runtime(scene).start(connect=False)
        rt.operators.add("sup-1", "Supervisor", "2468", ["supervisor"])
        rt.operators.add("op-1", "Operator", "1357", ["operator"], by=("sup-1", "2468"))
        kiosk = make_kiosk(rt, trainer=True, scene=scene)
        server = KioskServer(kiosk, port=0).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 800, "height": 480}, has_touch=True)
                page.goto(server.url + "/login")
                page.fill("#operator_id", "op-1")
                page.fill("#pin", "1357")
                page.click("#login-button")
                page.click("#new-enrollment")
                page.fill("#nik", NIK)
                page.click("#nik-ok")
                page.click("#confirm-yes")
                page.wait_for_selector("#capture")
                idle_rss = rss_mb()[0]
                page.click("#t-step-up")
                page.wait_for_function("window.kioskStats.frames >= 3")
                page.evaluate("window.kioskStats.latencies = []; window.kioskStats.frames = 0")
                cpu0, t0 = time.process_time(), time.monotonic()
                time.sleep(args.seconds)
                stats = page.evaluate("window.kioskStats")
                elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
                lat = sorted(stats["latencies"])
                fps = stats["frames"] / elapsed
                print(f"preview at 800x480: {fps:.1f} fps (target >= 10), frame to screen median "
                      f"{statistics.median(lat):.1f} ms, p95 {lat[int(len(lat) * 0.95) - 1]:.1f} ms, "
                      f"max {lat[-1]:.1f} ms (target < 150 ms); station CPU while previewing "
                      f"{100 * cpu / elapsed:.0f}% of one core")
                page.click("#cancel")
                kiosk.cancel_enrollment()

                # Whole enrollments with the kiosk and its page still up.
                person = Person("bench-resident", "F", 1990)
                cpu0, t0 = time.process_time(), time.monotonic()
                for _ in range(args.enrollments):
                    op = ScriptedOperator(scene, ResidentScript(person, NIK))
                    outcome = rt.enrollment(op, "op-1", kelurahan_code=KELURAHAN, signature_idle_s=0.3).run()
                    assert outcome is not None
                    scene.clear()
                per = (time.process_time() - cpu0) / args.enrollments
                print(f"station process CPU per enrollment with the kiosk up: {per * 1000:.0f} ms "
                      f"({(time.monotonic() - t0) / args.enrollments:.1f} s wall each; simulators included)")
                rss, peak = rss_mb()
                print(f"station process RSS with the kiosk running: {idle_rss:.0f} MB with the page open at the "
                      f"face step (target <= 150 MB); after the enrollments {rss:.0f} MB, peak {peak:.0f} MB "
                      f"(ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; the "
                      "device simulators and their synthetic renderers share this process)")
                browser.close()
        finally:
            server.stop()
            rt.stop()


if __name__ == "__main__":
    main()

"""Kiosk: live preview rate and latency at 800x480, station CPU per enrollment and RSS with the kiosk up.

The station runs in its own process, as on a Pi: its runtime and kiosk in
on a throwaway station (rekam.sandbox), the emulated camera in
it, and the scanner's and the pad's simulators in a third process on
pseudo-terminals (bench/devices_apart.py), opened with the real drivers. The
station process runs with MALLOC_ARENA_MAX=2, as deploy/systemd sets it.

This process drives Debian's headless Chromium (Playwright, /usr/bin/chromium)
at 800x480 to the face step with the resident in front of the camera. For
``--seconds`` it counts the preview frames the page decoded and painted, and
for each the time from the camera returning the frame to the page painting it
(same machine clock). Targets: >= 10 fps, < 150 ms. Then, with the page still
open, the station runs ``--enrollments`` whole enrollments through the same
workflow (scripted resident); it prints the station process's CPU seconds per
enrollment and its RSS and peak RSS (target <= 150 MB).

    .venv/bin/python bench/kiosk.py [--seconds 10] [--enrollments 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
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


def station_process(conn, tmp: str) -> None:
    """The station: runtime, kiosk and camera here; scanner and pad simulators in a process of their own."""
    from devices_apart import SplitScene, start_devices

    devices_proc, devices_conn, devices = start_devices()
    keys = ControllerKeys.generate()
    d = make_station_dir(Path(tmp) / "st", "127.0.0.1", 1, keys.public.to_pem(),
                         settings={"kiosk": {"kelurahan": KELURAHAN, "signature_idle_s": 0.3},
                                   "station": {"language": "id"}, "devices": devices})
    scene = Scene(time_scale=0.0)
    rt = d.runtime(scene).start(connect=False)
    rt.operators.add("sup-1", "Supervisor", "2468", ["supervisor"])
    rt.operators.add("op-1", "Operator", "1357", ["operator"], by=("sup-1", "2468"))
    kiosk = make_kiosk(rt, trainer=False)  # the scanner and the pad are real drivers here
    server = KioskServer(kiosk, port=0).start()
    conn.send(server.url)
    try:
        while (msg := conn.recv()) is not None:
            if msg == "usage":
                conn.send((time.process_time(), *rss_mb()))
            elif msg == "stand":  # the resident steps up to the camera
                scene.stand(Person("bench-resident", "F", 1990))
                conn.send(True)
            elif msg == "cancel":
                kiosk.cancel_enrollment()
                conn.send(True)
            elif msg[0] == "enroll":
                person = Person("bench-resident", "F", 1990)
                acting = SplitScene(scene, devices_conn)
                for _ in range(msg[1]):
                    op = ScriptedOperator(acting, ResidentScript(person, NIK))
                    assert rt.enrollment(op, "op-1", kelurahan_code=KELURAHAN, signature_idle_s=0.3).run()
                    acting.clear()
                conn.send(True)
    finally:
        server.stop()
        rt.stop()
        devices_conn.send(None)
        devices_proc.join(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--enrollments", type=int, default=5)
    args = ap.parse_args()
    # Inherited by the station process, as the systemd unit sets them: few malloc arenas for its
    # threads, and large buffers (frames, images) always returned to the system when freed.
    os.environ.update(MALLOC_ARENA_MAX="2", MALLOC_MMAP_THRESHOLD_="131072")
    with tempfile.TemporaryDirectory() as tmp:
        conn, there = multiprocessing.Pipe()
        station = multiprocessing.get_context("spawn").Process(target=station_process, args=(there, tmp))
        station.start()
        url = conn.recv()

        def usage() -> tuple[float, float, float]:
            conn.send("usage")
            return conn.recv()

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 800, "height": 480}, has_touch=True)
                page.goto(url + "/login")
                page.fill("#operator_id", "op-1")
                page.fill("#pin", "1357")
                page.click("#login-button")
                page.click("#new-enrollment")
                page.fill("#nik", NIK)
                page.click("#nik-ok")
                page.click("#confirm-yes")
                page.wait_for_selector("#capture")
                conn.send("stand")
                conn.recv()
                page.wait_for_function("window.kioskStats.frames >= 3")
                page.evaluate("window.kioskStats.latencies = []; window.kioskStats.frames = 0")
                cpu0, t0 = usage()[0], time.monotonic()
                time.sleep(args.seconds)  # a measurement window, not synchronisation
                stats = page.evaluate("window.kioskStats")
                elapsed = time.monotonic() - t0
                cpu, preview_rss, _ = usage()
                lat = sorted(stats["latencies"])
                fps = stats["frames"] / elapsed
                print(f"preview at 800x480: {fps:.1f} fps (target >= 10), frame to screen median "
                      f"{statistics.median(lat):.1f} ms, p95 {lat[int(len(lat) * 0.95) - 1]:.1f} ms, "
                      f"max {lat[-1]:.1f} ms (target < 150 ms); station CPU while previewing "
                      f"{100 * (cpu - cpu0) / elapsed:.0f}% of one core")
                page.click("#cancel")
                conn.send("cancel")
                conn.recv()

                # Whole enrollments with the kiosk and its page still up.
                cpu0, t0 = usage()[0], time.monotonic()
                conn.send(("enroll", args.enrollments))
                conn.recv()
                cpu, rss, peak = usage()
                per = (cpu - cpu0) / args.enrollments
                print(f"station process CPU per enrollment with the kiosk up: {per * 1000:.0f} ms "
                      f"({(time.monotonic() - t0) / args.enrollments:.1f} s wall each; the serial devices' "
                      "simulators in their own process)")
                print(f"station process RSS with the kiosk running: {preview_rss:.0f} MB while previewing "
                      f"(target <= 150 MB); after the enrollments {rss:.0f} MB, peak {peak:.0f} MB")
                browser.close()
        finally:
            conn.send(None)
            station.join(30)


if __name__ == "__main__":
    main()

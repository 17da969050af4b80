"""How close the ZhianTec driver gets to the UART's line rate.

Runs the real driver against the simulator on a pty with wire time modelled
(``pace=True``: 10 bit times a byte each way), at 57600 and then 115200 baud
(switched with SetSysPara, as a station would), and times:

* GenImg + UpImage (the image: ~40 kB on the wire at 128-byte packets), and
* GenImg + Img2Tz + UpChar (the template: ~0.6 kB),

each several times, reporting the median beside its line-rate bound
(bytes on the wire in both directions x 10 / baud). Target: ratio <= 1.10.

The module's own work (imaging, feature extraction) is not wire time; the
simulator renders the next capture while the link is idle and each timed run
starts once it is ready, so the ratio measures the driver and the link.

Run: ``.venv/bin/python bench/fingerprint_uart.py [--repeats N] [--model R307]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

from drivers.fingerprint.zhiantec.driver import ZhianTecScanner
from drivers.fingerprint.zhiantec.simulator import ZhianTecSimulator
from drivers.scene import Person, Scene
from drivers.synthetic.fingerprint import render_cost_ms

TARGET = 1.10


def timed(sim: ZhianTecSimulator, baud: int, run: Callable[[], None], steps: int, repeats: int) -> tuple[float, float]:
    """Median seconds of ``run`` and the median line-rate bound of the same runs."""
    times, bounds = [], []
    for _ in range(repeats):
        if not sim.wait_frame_ready(timeout=10):
            raise RuntimeError("simulator never rendered the next capture")
        before = sim.bytes_in + sim.bytes_out
        sent = sim.replies_sent
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
        # The simulator counts a reply's bytes just after its last byte leaves.
        sim.wait_replies_sent(sent + steps, timeout=5)
        bounds.append((sim.bytes_in + sim.bytes_out - before) * 10 / baud)
    return statistics.median(times), statistics.median(bounds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs of the image transfer (the template runs 4x as many)")
    ap.add_argument("--model", default="R307")
    args = ap.parse_args(argv)

    scene = Scene()
    scene.place_finger(Person("bench-resident"), 2)
    print(f"synthetic render: {render_cost_ms():.1f} ms per capture (master cached)")
    worst = 0.0
    with ZhianTecSimulator(scene, model=args.model, baud=57600, pace=True) as sim:
        scanner = ZhianTecScanner(sim.port, baud=57600, model=args.model)
        with scanner:
            for baud in (57600, 115200):
                if scanner.baud != baud:
                    scanner.set_baud(baud)

                def image() -> None:
                    scanner.take_image(timeout=2)
                    scanner.upload_image()

                def template() -> None:
                    scanner.take_image(timeout=2)
                    scanner.image_to_template(1)
                    scanner.upload_template(1)

                print(f"\n{args.model} at {baud} baud, packet {scanner.sys_para.packet_size} bytes (medians)")
                runs = (
                    ("GenImg + UpImage", image, 2, args.repeats),
                    ("GenImg + Img2Tz + UpChar", template, 3, 4 * args.repeats),
                )
                for name, run, steps, repeats in runs:
                    took, bound = timed(sim, baud, run, steps, repeats)
                    ratio = took / bound
                    worst = max(worst, ratio)
                    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
                    print(
                        f"  {name:26s} {took * 1000:8.1f} ms   line rate {bound * 1000:8.1f} ms   "
                        f"ratio {ratio:.3f}  {verdict}"
                    )
    print(f"\nworst ratio {worst:.3f} (target <= {TARGET})")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Quality gates: per-gate timings, false accepts/rejects, and the margin on each measure.

Renders a panel of synthetic residents (portraits as the emulated camera's
JPEG, prints for three sensor geometries, signings through a Topaz
calibration), runs each gate with the default thresholds, and prints:

* the median and 90th-percentile time per call (budget on the station:
  face <= 8 ms for a 480x640 JPEG, finger <= 2.5 ms for 256x288,
  signature <= 1 ms), as wall time and as this thread's CPU time (the
  difference is other processes competing for the cores);
* false rejects (good captures failed) and false accepts (bad ones passed),
  and how often the expected problem came first;
* for each bad condition, the measure that names it: the worst good value,
  the threshold, and the worst bad value.

    .venv/bin/python bench/quality_gates.py [--people 24] [--repeat 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import time
from typing import Callable

import numpy as np
from PIL import Image as PILImage

from drivers.scene import Backdrop, FaceCondition, FaceView, FingerCondition, Person, SignatureCondition
from drivers.signature.calibration import KNOWN_MODELS
from drivers.signature.render import render_strokes
from drivers.signature.topaz import split_strokes
from drivers.synthetic import fingerprint, portrait
from drivers.synthetic.signature import trajectory
from drivers.types import FingerCapture, Image, ImageFormat, PenSample, SignatureCapture
from station.quality import (
    GateResult,
    QualityThresholds,
    check_face,
    check_finger,
    check_signature,
    expected_background,
)

#: condition -> (expected first problem, measure, "min" if the measure must be at least the threshold)
FACE = {
    FaceCondition.BLURRED: ("blurred", "sharpness", "min_sharpness"),
    FaceCondition.UNDEREXPOSED: ("underexposed", "mean_luma", "min_mean_luma"),
    FaceCondition.OVEREXPOSED: ("overexposed", "clipped_fraction", "max_clipped_fraction"),
    FaceCondition.OFF_CENTRE: ("off_centre", "centre_offset_x", "max_centre_offset_x"),
    FaceCondition.TOO_FAR: ("face_too_small", "face_width", "min_face_width"),
    FaceCondition.NO_FACE: ("no_face", "faces", None),
    FaceCondition.TWO_FACES: ("multiple_faces", "second_face_area", "max_second_face_area"),
    FaceCondition.WRONG_BACKDROP: ("wrong_background", "background_expected", "min_background_fraction"),
}
FINGER = {
    FingerCondition.SMUDGED: ("smudged", "valley_fill", "max_valley_fill"),
    FingerCondition.PARTIAL: ("partial", "area_fraction", "min_area_fraction"),
    FingerCondition.DRY: ("low_contrast", "contrast", "min_contrast"),
}
SIGNATURE = {
    SignatureCondition.SHAKY: ("shaky", "jitter", "max_jitter"),
    SignatureCondition.TOO_SHORT: ("too_short", "path_length", "min_path_length"),
}
SENSORS = ((256, 288, 500, 4), (192, 192, 508, 4), (258, 202, 450, 8))


def timed(fn: Callable[[], GateResult], repeat: int, times: list[tuple[float, float]]) -> GateResult:
    """Run ``fn`` once to warm up, then ``repeat`` timed calls: (wall, this thread's CPU) seconds."""
    result = fn()
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.thread_time()
        fn()
        times.append((time.perf_counter() - w0, time.thread_time() - c0))
    return result


def ms(times: list[tuple[float, float]], which: int, q: float) -> float:
    return float(np.percentile([t[which] for t in times], q)) * 1000


def face_inputs(people: list[Person], condition: FaceCondition, seed: int) -> list[tuple[Image, str]]:
    out = []
    for i, p in enumerate(people):
        view = FaceView(p, condition, Backdrop.for_birth_year(p.birth_year))
        buf = io.BytesIO()
        PILImage.fromarray(portrait.render(view, capture_seed=seed + i), "RGB").save(buf, format="JPEG", quality=90)
        out.append((Image(buf.getvalue(), 480, 640, ImageFormat.JPEG), expected_background(p.birth_year)))
    return out


def finger_inputs(n: int, condition: FingerCondition, seed: int) -> list[tuple[FingerCapture, tuple[int, int]]]:
    out = []
    for i in range(n):
        w, h, dpi, bits = SENSORS[i % len(SENSORS)]
        a = fingerprint.render(f"bench-{i}", 1 + i % 10, condition, width=w, height=h, capture_seed=seed + i)
        if bits == 4:
            a = (a >> 4) * 17
        out.append((FingerCapture(Image(a.tobytes(), w, h, ImageFormat.GRAY8, metadata={"dpi": dpi})), (w, h)))
    return out


def signature_inputs(people: list[Person], condition: SignatureCondition, seed: int) -> list[SignatureCapture]:
    cal = KNOWN_MODELS["T-LBK462"].calibration
    out = []
    for i, p in enumerate(people):
        samples = []
        for q in trajectory(p, condition, capture_seed=seed + i, rate_hz=120.0, aspect=cal.width / cal.height):
            if q.in_proximity:
                x, y = cal.to_logical(*cal.normalised_to_raw(q.x, q.y))
                samples.append(PenSample(round(q.t_s * 1000), x, y, 1.0 if q.pen_down else 0.0, q.pen_down))
        strokes = split_strokes(samples)
        image = render_strokes(strokes, cal.extent, max_width_px=200, supersample=1)
        out.append(SignatureCapture(tuple(samples), strokes, image, cal.extent))
    return out


def report(name: str, results: dict, table: dict, thresholds: object, times: list[tuple[float, float]],
           budget_ms: float) -> None:
    good = results["good"]
    bad = {c: rs for c, rs in results.items() if c != "good"}
    fr = sum(not r.passed for r in good)
    fa = sum(r.passed for rs in bad.values() for r in rs)
    n_bad = sum(len(rs) for rs in bad.values())
    print(f"\n== {name}: median {ms(times, 0, 50):.2f} ms wall, {ms(times, 1, 50):.2f} ms CPU; "
          f"p90 {ms(times, 0, 90):.2f} wall, {ms(times, 1, 90):.2f} CPU (budget {budget_ms} ms, {len(times)} calls)")
    print(f"   false rejects {fr}/{len(good)}, false accepts {fa}/{n_bad}")
    print(f"   {'condition':16s} {'first ok':>9s} {'measure':20s} {'worst good':>11s} {'threshold':>10s} {'worst bad':>10s}")
    for condition, (problem, measure, field) in table.items():
        rs = bad[condition.value]
        first = sum(r.problems[:1] == (problem,) for r in rs)
        g = [r.measures.get(measure, float("nan")) for r in good]
        b = [r.measures.get(measure, float("nan")) for r in rs]
        at_least = field is None or field.startswith("min")
        worst_good = min(g) if at_least else max(g)
        worst_bad = np.nanmax(b) if at_least else np.nanmin(b)
        th = getattr(thresholds, field) if field else float("nan")
        print(f"   {condition.value:16s} {first:>4d}/{len(rs):<4d} {measure:20s} {worst_good:11.4g} {th:10.4g} {worst_bad:10.4g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per capture")
    args = parser.parse_args()
    th = QualityThresholds()
    people = [Person(f"bench-{i:03d}", sex="F" if i % 2 else "M", birth_year=1945 + 3 * i) for i in range(args.people)]

    results: dict[str, list[GateResult]] = {}
    times: list[tuple[float, float]] = []
    for c, condition in enumerate(FaceCondition):
        rs = []
        for image, background in face_inputs(people, condition, 1000 * c):
            r = timed(lambda: check_face(image, th.face, expected_background=background), args.repeat, times)
            share = r.measures["background_" + background]
            rs.append(dataclasses.replace(r, measures={**r.measures, "background_expected": share}))
        results[condition.value] = rs
    report("face (480x640 JPEG q90)", results, FACE, th.face, times, 8.0)

    results, by_size = {}, {}
    for c, condition in enumerate(FingerCondition):
        rs = []
        for capture, size in finger_inputs(2 * args.people, condition, 1000 * c):
            t_size = by_size.setdefault(size, [])
            rs.append(timed(lambda: check_finger(capture, th.finger), args.repeat, t_size))
        results[condition.value] = rs
    report("finger (R307 256x288, R503 192x192, GT-521 258x202)", results, FINGER, th.finger, by_size[(256, 288)], 2.5)
    for (w, h), ts in by_size.items():
        print(f"   {w}x{h}: median {ms(ts, 0, 50):.2f} ms wall, {ms(ts, 1, 50):.2f} ms CPU")

    results, times = {}, []
    for c, condition in enumerate(SignatureCondition):
        results[condition.value] = [
            timed(lambda: check_signature(capture, th.signature), args.repeat, times)
            for capture in signature_inputs(people, condition, 1000 * c)
        ]
    report("signature (T-LBK462, 120 Hz)", results, SIGNATURE, th.signature, times, 1.0)


if __name__ == "__main__":
    main()

"""The finger gate against synthetic fingerprints: good prints pass, each bad press is named.

Prints come from :mod:`drivers.synthetic.fingerprint` directly (three sensor
geometries, full 8-bit and the ZhianTec's 4-bit grey) and end to end through
the emulated ZhianTec and GT-521 modules from the driver registry, so the gate
sees exactly what a station's scanner driver hands it.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image as PILImage

from drivers import registry
from drivers.registry import DriverContext
from drivers.scene import FingerCondition, Person, Scene
from drivers.synthetic import fingerprint as synthetic
from drivers.types import DeviceKind, FingerCapture, Image, ImageFormat
from station.quality import FingerThresholds, GateResult, check_finger
from station.quality.finger import PROBLEMS

pytestmark = pytest.mark.timeout(120)

THRESHOLDS = FingerThresholds()
#: (width, height, dpi, bits): ZhianTec R307, ZhianTec R503, GT-521F52.
SENSORS = ((256, 288, 500, 4), (192, 192, 508, 4), (258, 202, 450, 8))
GOOD_FINGERS = tuple((f"q-finger-{i:02d}", 1 + (3 * i) % 10) for i in range(30))
BAD_FINGERS = GOOD_FINGERS[:12]
FIRST_PROBLEM = {
    FingerCondition.SMUDGED: "smudged",
    FingerCondition.PARTIAL: "partial",
    FingerCondition.DRY: "low_contrast",
}


def capture_of(pixels: np.ndarray, dpi: int = 500, bits: int = 8, **metadata) -> FingerCapture:
    if bits == 4:  # the ZhianTec sends 4 bits a pixel
        pixels = (pixels >> 4) * 17
    h, w = pixels.shape
    return FingerCapture(Image(pixels.astype(np.uint8).tobytes(), w, h, ImageFormat.GRAY8, metadata={"dpi": dpi, **metadata}))


def empty_glass(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(rng.uniform(200, 230), 6.0, (height, width)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def results() -> dict[str, list[GateResult]]:
    out: dict[str, list[GateResult]] = {}
    for s, (w, h, dpi, bits) in enumerate(SENSORS):
        for c, condition in enumerate(FingerCondition):
            fingers = GOOD_FINGERS if condition is FingerCondition.GOOD else BAD_FINGERS
            for i, (who, position) in enumerate(fingers):
                pixels = synthetic.render(who, position, condition, width=w, height=h, capture_seed=100 * s + 10 * c + i)
                out.setdefault(condition.value, []).append(check_finger(capture_of(pixels, dpi, bits), THRESHOLDS))
        for i in range(6):
            out.setdefault("empty", []).append(check_finger(capture_of(empty_glass(w, h, i), dpi, bits), THRESHOLDS))
    return out


def test_good_prints_of_many_fingers_pass(results) -> None:
    rejected = [(r.problems, r.measures) for r in results["good"] if not r.passed]
    assert rejected == [], f"false rejects {len(rejected)}/{len(results['good'])}"


@pytest.mark.parametrize("condition", list(FIRST_PROBLEM), ids=lambda c: c.value)
def test_each_bad_press_fails_with_its_own_problem_first(results, condition: FingerCondition) -> None:
    rs = results[condition.value]
    assert sum(r.passed for r in rs) == 0, f"false accepts for {condition.value}"
    assert [r.problems[0] for r in rs] == [FIRST_PROBLEM[condition]] * len(rs), [r.problems for r in rs]


def test_empty_glass_is_no_finger(results) -> None:
    assert [r.problems for r in results["empty"]] == [("no_finger",)] * len(results["empty"])


def test_false_accept_and_reject_counts_over_the_sample(results) -> None:
    false_rejects = sum(not r.passed for r in results["good"])
    bad = [r for k, rs in results.items() if k != "good" for r in rs]
    false_accepts = sum(r.passed for r in bad)
    assert (false_rejects, false_accepts) == (0, 0), (
        f"FRR {false_rejects}/{len(results['good'])}, FAR {false_accepts}/{len(bad)}")


def test_good_prints_hold_a_ridge_pattern_on_every_sensor(results) -> None:
    """The ridge-structure measure: nearly every window of a good print has one ridge period
    across a coherent flow, and the period is a finger's (0.3-0.8 mm) on all three sensors."""
    good = results["good"]
    assert min(r.measures["ridge_fraction"] for r in good) >= 1.5 * THRESHOLDS.min_ridge_fraction
    assert max(r.measures["ridge_period_spread"] for r in good) <= THRESHOLDS.max_ridge_period_spread
    assert min(r.measures["orientation_flow"] for r in good) >= THRESHOLDS.min_orientation_flow
    assert all(0.35 <= r.measures["ridge_period_mm"] <= 0.65 for r in good)


def test_a_passing_print_always_outranks_a_failing_one(results) -> None:
    good = [r.score for r in results["good"]]
    bad = [r.score for k, rs in results.items() if k != "good" for r in rs]
    assert min(good) > max(bad)


def test_measures_are_plain_finite_numbers_and_problems_known(results) -> None:
    for rs in results.values():
        for r in rs:
            assert all(isinstance(v, float) and math.isfinite(v) for v in r.measures.values()), r.measures
            assert set(r.problems) <= set(PROBLEMS) and r.passed == (r.problems == ())


def test_a_texture_without_ridge_flow_has_no_ridges() -> None:
    """Dark spots at a ridge-like spacing but running no way at all (a scarred or worn
    print, or a fabric): enough contact and contrast, no orientation, so no ridge pattern."""
    rng = np.random.default_rng(1)
    h, w = 288, 256
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    band = np.exp(-((np.hypot(fx, fy) - 1 / 9) ** 2) / (2 * 0.03**2))  # isotropic, period ~9 px
    texture = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((h, w))) * band, s=(h, w))
    ink = 1 / (1 + np.exp(-3 * texture / texture.std()))
    yy, xx = np.mgrid[0:h, 0:w]
    contact = ((xx - 128) / 110) ** 2 + ((yy - 170) / 170) ** 2 < 1
    pixels = np.clip(215 - 150 * ink * contact + rng.normal(0, 5, (h, w)), 0, 255).astype(np.uint8)
    result = check_finger(capture_of(pixels), THRESHOLDS)
    assert result.problems == ("no_ridges", "unclear_ridges"), result.measures
    assert result.measures["ridge_fraction"] < THRESHOLDS.min_ridge_fraction and result.forceable


def test_the_verdict_comes_from_pixels_not_metadata() -> None:
    """A driver's own opinion (a template error) changes nothing; only the pixels count."""
    pixels = synthetic.render("q-meta", 2, FingerCondition.SMUDGED, capture_seed=1)
    plain = check_finger(capture_of(pixels), THRESHOLDS)
    told = check_finger(capture_of(pixels, template_error="image too messy", condition="good"), THRESHOLDS)
    assert plain == told and plain.problems[0] == "smudged"


def test_unreadable_images() -> None:
    tiny = FingerCapture(Image(bytes(16 * 16), 16, 16, ImageFormat.GRAY8))
    garbage = FingerCapture(Image(b"\x89PNG not really", 256, 288, ImageFormat.PNG))
    for capture in (tiny, garbage):
        result = check_finger(capture, THRESHOLDS)
        assert (result.passed, result.problems, result.score) == (False, ("image_unreadable",), 0.0)


def test_a_png_from_a_third_party_driver_is_decoded() -> None:
    pixels = synthetic.render("q-png", 7, capture_seed=3)
    buf = io.BytesIO()
    PILImage.fromarray(pixels, "L").save(buf, format="PNG")
    png = FingerCapture(Image(buf.getvalue(), pixels.shape[1], pixels.shape[0], ImageFormat.PNG))
    assert check_finger(png, THRESHOLDS) == check_finger(capture_of(pixels), THRESHOLDS)


def test_thresholds_decide_the_verdict() -> None:
    capture = capture_of(synthetic.render("q-thr", 1, capture_seed=5))
    assert check_finger(capture, THRESHOLDS).passed
    strict = FingerThresholds(min_contrast=250.0, min_area_fraction=0.99)
    assert check_finger(capture, strict).problems == ("partial", "low_contrast")


def _scanner_results(driver: str, options: dict) -> dict[str, GateResult]:
    scene = Scene(time_scale=0)
    resident = Person("3372015508900001", sex="F")
    out = {}
    with registry.create(DeviceKind.FINGERPRINT, driver, options, DriverContext(scene=scene)) as scanner:
        for position, condition in ((2, FingerCondition.GOOD), (7, FingerCondition.GOOD), (3, FingerCondition.SMUDGED),
                                    (4, FingerCondition.PARTIAL), (5, FingerCondition.DRY)):
            scene.place_finger(resident, position, condition)
            out[f"{position}:{condition.value}"] = check_finger(scanner.capture(timeout=5.0), THRESHOLDS)
            scene.lift_finger()
    return out


@pytest.mark.parametrize(
    ("driver", "options"),
    [("zhiantec-emulated", {}), ("zhiantec-emulated", {"model": "R503"}), ("gt521-emulated", {})],
    ids=["zhiantec-r307", "zhiantec-r503", "gt521"],
)
def test_emulated_scanners_end_to_end(driver: str, options: dict) -> None:
    """Registry scanner -> GRAY8 image over the real serial protocol -> gate."""
    results = _scanner_results(driver, options)
    problems = {k: r.problems for k, r in results.items()}
    assert problems["2:good"] == () and problems["7:good"] == (), problems
    assert problems["3:smudged"][:1] == ("smudged",), problems
    assert problems["4:partial"][:1] == ("partial",), problems
    assert problems["5:dry"][:1] == ("low_contrast",), problems

"""The finger gate tells a fingerprint from anything else on the glass.

Synthetic prints of three sensor geometries pass the ridge-structure measure
(:mod:`station.quality.ridges`); the same real photographs the face gate is
tested with (see :mod:`tests.station.real_photos`), cut to each sensor's size
and grey depth, fail with ``no_ridges`` even when their contrast is stretched
to the full range, and so does noise; a flat grey image is no finger at all.
No maintained package we could find ships real fingerprint images inside its
wheel, so the real side of this test is what a finger is not.
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.types import FingerCapture, Image, ImageFormat
from station.quality import FingerThresholds, GateResult, check_finger
from tests.station.real_photos import NON_FACES, PORTRAITS, load_rgb

THRESHOLDS = FingerThresholds()
#: (width, height, dpi, bits): ZhianTec R307, ZhianTec R503, GT-521F52.
SENSORS = ((256, 288, 500, 4), (192, 192, 508, 4), (258, 202, 450, 8))
PHOTOS = {**{n: src for n, src in NON_FACES.items()}, **{n: (p.package, p.path) for n, p in PORTRAITS.items()}}


def sensor_image(grey: np.ndarray, width: int, height: int, dpi: int, bits: int, *, stretch: bool) -> GateResult:
    """The middle of a greyscale picture, as the scanner would send it, through the gate."""
    h, w = grey.shape
    if h < height or w < width:  # small pictures are scaled up to cover the glass
        k = max(height / h, width / w)
        rows = np.minimum((np.arange(int(np.ceil(h * k))) / k).astype(int), h - 1)
        cols = np.minimum((np.arange(int(np.ceil(w * k))) / k).astype(int), w - 1)
        grey = grey[rows][:, cols]
        h, w = grey.shape
    y0, x0 = (h - height) // 2, (w - width) // 2
    cut = grey[y0 : y0 + height, x0 : x0 + width].astype(np.float32)
    if stretch:  # the whole grey range: contrast is no longer what tells it apart
        lo, hi = np.percentile(cut, (1, 99))
        cut = (cut - lo) * (255.0 / max(hi - lo, 1.0))
    pixels = np.clip(cut, 0, 255).astype(np.uint8)
    if bits == 4:
        pixels = (pixels >> 4) * 17
    image = Image(pixels.tobytes(), width, height, ImageFormat.GRAY8, metadata={"dpi": dpi})
    return check_finger(FingerCapture(image), THRESHOLDS)


def grey_of(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)


@pytest.mark.parametrize("sensor", SENSORS, ids=["r307", "r503", "gt521"])
@pytest.mark.parametrize("name", list(PHOTOS))
def test_a_photograph_on_the_glass_has_no_ridges(name: str, sensor: tuple[int, int, int, int]) -> None:
    grey = grey_of(load_rgb(*PHOTOS[name]))
    for stretch in (False, True):
        result = sensor_image(grey, *sensor, stretch=stretch)
        assert not result.passed, (name, stretch, result.measures)
        assert "no_ridges" in result.problems, (name, stretch, result.problems, result.measures)
        assert result.measures["ridge_fraction"] < THRESHOLDS.min_ridge_fraction


@pytest.mark.parametrize("sensor", SENSORS, ids=["r307", "r503", "gt521"])
def test_noise_and_a_flat_grey_image_are_not_fingerprints(sensor: tuple[int, int, int, int]) -> None:
    width, height, dpi, bits = sensor
    rng = np.random.default_rng(width)
    noises = {
        "uniform": rng.integers(0, 256, (height, width)),
        "gaussian": rng.normal(128, 40, (height, width)),
        "gaussian, weaker": rng.normal(170, 25, (height, width)),
    }
    for name, noise in noises.items():
        result = sensor_image(noise.clip(0, 255).astype(np.uint8), *sensor, stretch=False)
        assert "no_ridges" in result.problems and not result.passed, (name, result.problems, result.measures)
    # Noise too faint to be contact is empty glass.
    faint = sensor_image(rng.normal(170, 6, (height, width)).clip(0, 255).astype(np.uint8), *sensor, stretch=False)
    assert faint.problems == ("no_finger",), faint.measures
    flat = sensor_image(np.full((height, width), 128, np.uint8), *sensor, stretch=False)
    assert flat.problems == ("no_finger",) and not flat.forceable


def test_the_counts_on_the_real_set() -> None:
    """Every photograph on every sensor, plain and stretched: none passes, none is taken for ridges."""
    results = [sensor_image(grey_of(load_rgb(*src)), *sensor, stretch=stretch)
               for src in PHOTOS.values() for sensor in SENSORS for stretch in (False, True)]
    assert len(results) == len(PHOTOS) * 6 and len(PHOTOS) >= 8
    assert sum(r.passed for r in results) == 0
    ridges = [r.measures["ridge_fraction"] for r in results if "ridge_fraction" in r.measures]
    assert ridges and max(ridges) < THRESHOLDS.min_ridge_fraction, max(ridges)

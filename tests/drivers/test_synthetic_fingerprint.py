"""Synthetic fingerprints: determinism, real ridge structure, conditions in the pixels, match rates."""

from __future__ import annotations

import hashlib
import itertools
import math
import subprocess
import sys

import numpy as np
import pytest

from drivers.scene import FingerCondition
from drivers.synthetic import fingerprint as fp
from drivers.synthetic.fingerprint import rendering

pytestmark = pytest.mark.timeout(120)


def centre(img: np.ndarray, size: int = 128) -> np.ndarray:
    h, w = img.shape
    return img[h // 2 - size // 2 + 20 : h // 2 + size // 2 + 20, w // 2 - size // 2 : w // 2 + size // 2].astype(float)


def ridge_contrast(img: np.ndarray) -> float:
    """Std of the image minus its 9x9 local mean, in the finger's middle: ridge/valley separation."""
    c = centre(img)
    k = 9
    pad = np.pad(c, k // 2, mode="reflect")
    cs = pad.cumsum(0).cumsum(1)
    cs = np.pad(cs, ((1, 0), (1, 0)))
    local = (cs[k:, k:] - cs[:-k, k:] - cs[k:, :-k] + cs[:-k, :-k]) / (k * k)
    return float((c - local).std())


def contact_blocks(img: np.ndarray) -> float:
    """Fraction of 16x16 blocks with ridge texture."""
    h, w = (s // 16 * 16 for s in img.shape)
    blocks = img[:h, :w].astype(float).reshape(h // 16, 16, w // 16, 16)
    return float((blocks.std(axis=(1, 3)) > 15).mean())


def designs_of(pattern: str, n: int) -> list[str]:
    out = []
    for i in range(2000):
        pid = f"pattern-{i}"
        if fp.finger_design(pid, 1).pattern == pattern:
            out.append(pid)
            if len(out) == n:
                return out
    raise AssertionError(f"no {pattern} among 2000 designs")


# -- basics ---------------------------------------------------------------


def test_render_shape_type_and_polarity() -> None:
    img = fp.render("ani-0001", 2)
    assert img.shape == (288, 256) and img.dtype == np.uint8
    # Light background above the fingertip, dark ridges inside it.
    assert img[:12, :40].mean() > 180 and img[:12, -40:].mean() > 180
    mid = centre(img)
    assert np.percentile(mid, 5) < 90 and np.percentile(mid, 95) > 160


def test_render_other_sizes_for_other_sensors() -> None:
    assert fp.render("ani-0001", 2, width=192, height=192).shape == (192, 192)
    assert fp.render("ani-0001", 2, width=258, height=202).shape == (202, 258)
    with pytest.raises(ValueError, match="outside"):
        fp.render("ani-0001", 2, width=1000, height=1000)


def test_same_finger_same_seed_is_identical_and_seeds_vary() -> None:
    a = fp.render("budi-2002", 6, capture_seed=3)
    assert np.array_equal(a, fp.render("budi-2002", 6, capture_seed=3))
    b = fp.render("budi-2002", 6, capture_seed=4)
    assert not np.array_equal(a, b)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 5  # moved/pressed differently, not just noise


def test_render_is_deterministic_across_processes() -> None:
    code = (
        "import hashlib; from drivers.synthetic.fingerprint import render;"
        "print(hashlib.sha256(render('cita-3003', 4, capture_seed=9).tobytes()).hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    here = hashlib.sha256(fp.render("cita-3003", 4, capture_seed=9).tobytes()).hexdigest()
    assert out.stdout.strip() == here


def test_different_fingers_differ() -> None:
    a = fp.render("dedi-4004", 1)
    assert not np.array_equal(a, fp.render("dedi-4004", 2))
    assert not np.array_equal(a, fp.render("dedi-4005", 1))


def test_a_second_capture_of_a_finger_reuses_its_cached_master() -> None:
    """What keeps a capture to a few ms (bench/fingerprint_uart.py times it): the master ridge pattern is made
    once per finger, and the cache that holds them is bounded."""
    rendering._master.cache_clear()
    fp.render("eka-5005", 3, capture_seed=1)
    first = rendering._master.cache_info()
    fp.render("eka-5005", 3, capture_seed=2)
    again = rendering._master.cache_info()
    assert (first.misses, again.misses) == (1, 1) and again.hits == first.hits + 1
    assert again.maxsize is not None and again.maxsize <= 128


# -- ridge structure -------------------------------------------------------


def radial_band_fraction(img: np.ndarray) -> tuple[float, float]:
    """(peak frequency, fraction of non-DC power between 1/13 and 1/6 cycles per pixel)."""
    c = centre(img)
    c = (c - c.mean()) * np.outer(np.hanning(c.shape[0]), np.hanning(c.shape[1]))
    power = np.abs(np.fft.fft2(c)) ** 2
    fy = np.fft.fftfreq(c.shape[0])[:, None]
    fx = np.fft.fftfreq(c.shape[1])[None, :]
    r = np.sqrt(fx * fx + fy * fy)
    keep = r > 1 / 40
    band = keep & (r >= 1 / 13) & (r <= 1 / 6)
    peak = float(r[keep].ravel()[np.argmax(power[keep])])
    return peak, float(power[band].sum() / power[keep].sum())


def test_spectrum_has_a_dominant_ridge_frequency_band() -> None:
    for pid in ("eka-5005", "fajar-6006", "gita-7007"):
        peak, fraction = radial_band_fraction(fp.render(pid, 3))
        period = fp.finger_design(pid, 3).period
        assert 1 / 13 <= peak <= 1 / 6
        assert abs(1 / peak - period) < 2.0
        assert fraction > 0.6
    # Control: noise of the same grey levels has no such band.
    noise = np.random.default_rng(0).integers(40, 220, (288, 256)).astype(np.uint8)
    assert radial_band_fraction(noise)[1] < 0.3


def poincare(theta: np.ndarray, cx: int, cy: int, r: int) -> float:
    """Winding of the ridge direction around the ring of blocks at Chebyshev radius r."""
    ring = (
        [(x, cy - r) for x in range(cx - r, cx + r)]
        + [(cx + r, y) for y in range(cy - r, cy + r)]
        + [(x, cy + r) for x in range(cx + r, cx - r, -1)]
        + [(cx - r, y) for y in range(cy + r, cy - r, -1)]
    )
    total = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=False):
        d = float(theta[y1, x1] - theta[y0, x0])
        total += (d + math.pi / 2) % math.pi - math.pi / 2
    return total / (2 * math.pi)


@pytest.mark.parametrize("pattern, index", [("left_loop", 0.5), ("right_loop", 0.5), ("whorl", 1.0), ("arch", 0.0)])
def test_singular_points_are_measurable_in_the_pixels(pattern: str, index: float) -> None:
    """Around the core, the orientation read back from the pixels winds by half a turn for a
    loop, a whole turn for a whorl (two cores) and not at all for an arch."""
    for pid in designs_of(pattern, 3):
        design = fp.finger_design(pid, 1)
        analysis = fp.analyse(fp.render(pid, 1))
        cores = design.cores or ((0.0, -10.0),)
        cx = int((np.mean([c[0] for c in cores]) + 128) // 16)
        cy = int((np.mean([c[1] for c in cores]) + 144) // 16)
        assert abs(abs(poincare(analysis.orientation, cx, cy, 3)) - index) < 0.1, pid


def test_fingers_come_in_all_pattern_classes_loops_most_often() -> None:
    counts: dict[str, int] = {}
    for i in range(300):
        pattern = fp.finger_design(f"census-{i // 10}", 1 + i % 10).pattern
        counts[pattern] = counts.get(pattern, 0) + 1
    assert set(counts) == {"arch", "tented_arch", "left_loop", "right_loop", "whorl"}
    assert counts["left_loop"] + counts["right_loop"] > counts["whorl"] > counts["arch"]


# -- conditions --------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conditions_show_in_the_pixels(seed: int) -> None:
    pid, pos = "hadi-8008", 2
    good = fp.render(pid, pos, capture_seed=seed)
    smudged = fp.render(pid, pos, FingerCondition.SMUDGED, capture_seed=seed)
    partial = fp.render(pid, pos, FingerCondition.PARTIAL, capture_seed=seed)
    dry = fp.render(pid, pos, FingerCondition.DRY, capture_seed=seed)
    # Smudged: ridges run together, little ridge/valley separation, and dark.
    assert ridge_contrast(smudged) < 0.45 * ridge_contrast(good)
    assert centre(smudged).mean() < centre(good).mean()
    # Partial: a small contact area.
    assert contact_blocks(partial) < 0.45 * contact_blocks(good)
    # Dry: faint (low contrast, brighter) and broken (fewer textured blocks).
    assert ridge_contrast(dry) < 0.6 * ridge_contrast(good)
    assert centre(dry).mean() > centre(good).mean()
    assert contact_blocks(dry) < contact_blocks(good)


def test_the_template_reader_finds_the_conditions_too() -> None:
    good = fp.analyse(fp.render("indah-9009", 5))
    partial = fp.analyse(fp.render("indah-9009", 5, FingerCondition.PARTIAL))
    smudged = fp.analyse(fp.render("indah-9009", 5, FingerCondition.SMUDGED))
    assert len(good.minutiae) >= 20 and good.contact_fraction > 0.5
    assert partial.contact_fraction < 0.5 * good.contact_fraction
    assert len(smudged.minutiae) < 0.3 * len(good.minutiae)
    assert "minutiae" in repr(good) and "[" not in repr(good)


# -- templates and matching ---------------------------------------------------------


def test_template_size_and_padding() -> None:
    img = fp.render("joko-1010", 1)
    t512 = fp.template_from_image(img)
    t498 = fp.template_from_image(img, size=498)
    assert len(t512) == 512 and len(t498) == 498 and t512[:2] == b"RK"
    assert fp.match_score(t512, t498) >= fp.MATCH_THRESHOLD
    small = fp.template_from_image(img, size=64)
    assert len(small) == 64
    with pytest.raises(ValueError):
        fp.template_from_image(img, size=8)


def test_template_comes_from_the_pixels() -> None:
    blank = np.full((288, 256), 220, np.uint8)
    t = fp.template_from_image(blank)
    assert t[3] == 0  # no minutiae on an empty sensor
    assert fp.match_score(t, t) == 0
    img = fp.render("kiki-1111", 1)
    flipped = fp.template_from_image(img[:, ::-1].copy())
    assert fp.match_score(fp.template_from_image(img), flipped) < fp.MATCH_THRESHOLD


def test_match_score_edges() -> None:
    t = fp.template_from_image(fp.render("lina-1212", 1))
    assert fp.match_score(t, t) == 1000
    assert fp.match_score(t, b"\x00" * 512) == 0
    assert fp.match_score(b"garbage", t) == 0


def test_match_rates_over_a_sample() -> None:
    """Same finger, different GOOD captures: >= 99% match. Different fingers or people: >= 99.9% do not."""
    fingers = [(f"rate-{i // 4}", 1 + (i * 3) % 10) for i in range(20)]
    captures = 3
    templates = {
        f: [fp.template_from_image(fp.render(*f, capture_seed=100 + s)) for s in range(captures)] for f in fingers
    }
    genuine = [fp.match_score(a, b) for ts in templates.values() for a, b in itertools.combinations(ts, 2)]
    impostor = [fp.match_score(templates[f][0], templates[g][1]) for f, g in itertools.permutations(fingers, 2)]
    accept = sum(s >= fp.MATCH_THRESHOLD for s in genuine) / len(genuine)
    reject = sum(s < fp.MATCH_THRESHOLD for s in impostor) / len(impostor)
    print(
        f"genuine {len(genuine)} pairs: {accept:.1%} match (min {min(genuine)}); "
        f"impostor {len(impostor)} pairs: {reject:.2%} rejected (max {max(impostor)}); threshold {fp.MATCH_THRESHOLD}"
    )
    assert accept >= 0.99
    assert reject >= 0.999

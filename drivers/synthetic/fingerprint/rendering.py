"""Synthetic fingerprint captures: one finger's ridge pattern, pressed on a sensor.

:func:`render` draws one capture of one finger as an optical sensor gives it
(dark ridges on a light background). Each finger (person id, position) has a
fixed *master* ridge pattern grown by iterated oriented band-pass filtering
of noise along an orientation field with real core/delta singularities (the
Sherlock-Monro zero-pole model), so fingers come out as arches, tented arches,
left/right loops and whorls with ridge endings and bifurcations. A capture
moves, turns and presses that master, adds sensor noise, and renders the
finger's condition (smudged, partial, dry) into the pixels.

Rules: deterministic per (person id, position) through
:func:`drivers.synthetic.seed.rng_for`; per-capture variation only from
``capture_seed``; the master pattern is cached (bounded LRU) so a capture costs
a few milliseconds (see :func:`render_cost_ms`). Nothing here logs or prints
pixels.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from drivers.scene import FingerCondition
from drivers.synthetic.fingerprint.filters import ORIENT_BINS, band_bank, box_blur, oriented_filter
from drivers.synthetic.seed import rng_for

#: Pixels per inch of the rendered images (ZhianTec/Grow optical sensors give ~500).
DPI = 500

_PATTERNS = ("arch", "tented_arch", "left_loop", "right_loop", "whorl")
# Rough population frequencies: loops dominate, then whorls, arches are rare.
_PATTERN_WEIGHTS = (0.05, 0.05, 0.33, 0.32, 0.25)

#: Master canvas (height, width) in sensor pixels; captures are windows into it.
_CANVAS = (416, 384)
_GROW_ITERATIONS = 6


# ---------------------------------------------------------------------------
# Finger design: which pattern, where its singular points sit, ridge period.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FingerDesign:
    """What one finger looks like before any capture: the pattern class and its geometry.

    Coordinates are sensor pixels relative to the finger's pattern centre
    (x right, y down); a GOOD capture of a 256x288 window puts that centre at
    the window centre, give or take the per-capture shift.
    """

    pattern: str
    cores: tuple[tuple[float, float], ...]
    deltas: tuple[tuple[float, float], ...]
    period: float  # ridge period in pixels (about 9 at 500 dpi)
    tilt: float  # far-field ridge direction, radians
    arch_strength: float  # bow of the ridges for arches

    def __repr__(self) -> str:  # what a finger looks like stays out of logs
        return "FingerDesign(...)"


def finger_design(person_id: str, position: int) -> FingerDesign:
    """The fixed design of a finger; the same for every capture of it."""
    rng = rng_for("fingerprint-design", person_id, position)
    pattern = _PATTERNS[int(rng.choice(len(_PATTERNS), p=_PATTERN_WEIGHTS))]
    cx = float(rng.normal(0.0, 10.0))
    cy = float(rng.normal(-12.0, 14.0))
    side = 1.0 if pattern == "left_loop" else -1.0
    cores: tuple[tuple[float, float], ...] = ()
    deltas: tuple[tuple[float, float], ...] = ()
    if pattern in ("left_loop", "right_loop"):
        cores = ((cx, cy),)
        deltas = ((cx + side * rng.uniform(70, 105), cy + rng.uniform(80, 115)),)
    elif pattern == "whorl":
        spin = rng.uniform(-0.6, 0.6)
        gap = rng.uniform(8, 22)
        cores = (
            (cx - gap * math.sin(spin), cy - gap * math.cos(spin)),
            (cx + gap * math.sin(spin), cy + gap * math.cos(spin)),
        )
        deltas = (
            (cx - rng.uniform(85, 115), cy + rng.uniform(85, 120)),
            (cx + rng.uniform(85, 115), cy + rng.uniform(85, 120)),
        )
    elif pattern == "tented_arch":
        cores = ((cx, cy),)
        deltas = ((cx + rng.normal(0, 4), cy + rng.uniform(30, 48)),)
    return FingerDesign(
        pattern=pattern,
        cores=tuple((float(x), float(y)) for x, y in cores),
        deltas=tuple((float(x), float(y)) for x, y in deltas),
        period=float(rng.uniform(8.2, 10.2)),
        tilt=float(rng.normal(0.0, 0.08)),
        arch_strength=float(rng.uniform(0.6, 1.1)),
    )


def _orientation_field(design: FingerDesign, h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Ridge direction (radians, image coordinates) on an h x w grid of ``scale`` pixels a cell."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    x = (xs + 0.5) * scale - _CANVAS[1] / 2
    y = (ys + 0.5) * scale - _CANVAS[0] / 2
    # Zero-pole model in maths orientation (y up), turned into image angles at the end.
    theta = np.full((h, w), -design.tilt)
    for px, py in design.cores:
        theta += 0.5 * np.arctan2(-(y - py), x - px)
    for px, py in design.deltas:
        theta -= 0.5 * np.arctan2(-(y - py), x - px)
    theta = -theta
    if design.pattern == "arch":
        # Ridges bow upwards over the finger's middle, more strongly lower down.
        cy = design.cores[0][1] if design.cores else -10.0
        lift = design.arch_strength * np.clip((y - cy + 160) / 220, 0, 1.2)
        theta = theta + np.arctan(lift * (x / 70) * np.exp(-((x / 90) ** 2)))
    # Every finger's flow wanders a little on its own: a smooth random warp.
    warp = _smooth_noise(rng, h, w, cells=5) * 0.16
    return theta + warp


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Zero-mean noise varying over about ``cells`` wavelengths across the grid, roughly in [-1, 1]."""
    coarse = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    return _resize(coarse, h, w) / 1.2


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize of a 2-D array (corners aligned); enough for smooth fields."""
    ah, aw = a.shape
    ys = np.linspace(0, ah - 1, h, dtype=np.float32)
    xs = np.linspace(0, aw - 1, w, dtype=np.float32)
    y0 = np.minimum(ys.astype(np.int64), ah - 2) if ah > 1 else np.zeros(h, np.int64)
    x0 = np.minimum(xs.astype(np.int64), aw - 2) if aw > 1 else np.zeros(w, np.int64)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    y1 = np.minimum(y0 + 1, ah - 1)
    x1 = np.minimum(x0 + 1, aw - 1)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bottom = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


@dataclass(frozen=True)
class _Master:
    """A finger's ridge pattern on the full canvas: > 0 on ridges, < 0 in valleys."""

    ridges: np.ndarray  # float32, _CANVAS shape, roughly [-1, 1]
    smeared: np.ndarray  # the same, low-passed: what a wet, smeared press gives
    design: FingerDesign

    def __repr__(self) -> str:
        return f"_Master({self.ridges.shape[1]}x{self.ridges.shape[0]})"


@lru_cache(maxsize=64)
def _master(person_id: str, position: int) -> _Master:
    design = finger_design(person_id, position)
    rng = rng_for("fingerprint-master", person_id, position)
    # Grow at half resolution (4-5 px ridge period), then upsample spectrally.
    h, w = _CANVAS[0] // 2, _CANVAS[1] // 2
    theta = _orientation_field(design, h, w, 2.0, rng)
    normal = (theta + math.pi / 2).astype(np.float32)
    bank = band_bank(h, w, round(design.period / 2, 2), ORIENT_BINS)
    x = (rng.random((h, w)) < 0.03).astype(np.float32) * rng.choice(np.array([-1.0, 1.0], np.float32), (h, w))
    for _ in range(_GROW_ITERATIONS):
        y = oriented_filter(x, normal, bank)
        x = np.clip(y / (y.std() * 0.6 + 1e-9), -1.0, 1.0)
    y = oriented_filter(x, normal, bank)
    full = _upsample2(y)
    full /= np.percentile(np.abs(full), 90) + 1e-9
    ridges = np.clip(full, -1.0, 1.0).astype(np.float32)
    smeared = box_blur(box_blur(ridges, 3), 3)
    ridges.setflags(write=False)
    smeared.setflags(write=False)
    return _Master(ridges=ridges, smeared=smeared, design=design)


def _upsample2(a: np.ndarray) -> np.ndarray:
    """Double the resolution of a band-limited field by zero-padding its spectrum."""
    h, w = a.shape
    spec = np.fft.rfft2(a)
    big = np.zeros((2 * h, w + 1), np.complex64)
    big[: h // 2, : w // 2 + 1] = spec[: h // 2]
    big[-(h // 2) :, : w // 2 + 1] = spec[-(h // 2) :]
    return (np.fft.irfft2(big, s=(2 * h, 2 * w)) * 4).astype(np.float32)


# ---------------------------------------------------------------------------
# One capture.
# ---------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _window_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs - width / 2 + 0.5, ys - height / 2 + 0.5


def _sample(field: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``field`` at canvas coordinates (X, Y); outside reads the edge.

    Works in place on X and Y (callers pass fresh arrays) to keep a capture cheap.
    """
    h, w = field.shape
    np.clip(X, 0.5, w - 1.6, out=X)
    np.clip(Y, 0.5, h - 1.6, out=Y)
    X -= np.float32(0.5)
    Y -= np.float32(0.5)
    x0 = X.astype(np.int32)
    y0 = Y.astype(np.int32)
    fx = X - x0.astype(np.float32)
    fy = Y - y0.astype(np.float32)
    i = y0 * w + x0
    flat = field.ravel()
    a = flat[i]
    b = flat[i + 1]
    c = flat[i + w]
    d = flat[i + w + 1]
    a += (b - a) * fx
    c += (d - c) * fx
    a += (c - a) * fy
    return a


def render(
    person_id: str,
    position: int,
    condition: FingerCondition = FingerCondition.GOOD,
    *,
    width: int = 256,
    height: int = 288,
    capture_seed: int = 0,
) -> np.ndarray:
    """One capture of a finger: uint8 (height, width), dark ridges on a light background.

    Same (person_id, position) gives the same finger; ``capture_seed`` varies
    placement, rotation, pressure and sensor noise; ``condition`` is drawn
    into the pixels, never reported.
    """
    if width < 32 or height < 32 or width > _CANVAS[1] - 40 or height > _CANVAS[0] - 40:
        raise ValueError(f"fingerprint size {width}x{height} is outside 32..{_CANVAS[1] - 40}x{_CANVAS[0] - 40}")
    condition = FingerCondition(condition)
    master = _master(person_id, int(position))
    rng = rng_for("fingerprint-capture", person_id, position, condition.value, capture_seed)

    # Placement: a few pixels of shift and a few degrees of turn, as a finger guide allows.
    dx, dy = (float(d) for d in np.clip(rng.normal(0.0, 4.0, 2), -10, 10))
    angle = float(np.clip(rng.normal(0.0, 0.035), -0.08, 0.08))
    pressure = float(rng.uniform(-1.0, 1.0))
    u, v = _window_grid(height, width)
    ca, sa = np.float32(math.cos(angle)), np.float32(math.sin(angle))
    dx, dy = np.float32(dx), np.float32(dy)
    fu = ca * u - sa * v + dx  # finger coordinates, relative to the pattern centre
    fv = sa * u + ca * v + dy
    X = fu + np.float32(_CANVAS[1] / 2)
    Y = fv + np.float32(_CANVAS[0] / 2)

    field = master.smeared if condition is FingerCondition.SMUDGED else master.ridges
    r = _sample(field, X, Y)

    # Contact area: the fingertip's ellipse, a little larger when pressed harder.
    a, b, ey = 122.0 * (1 + 0.04 * pressure), 190.0 * (1 + 0.04 * pressure), 78.0
    ex = 0.0
    if condition is FingerCondition.PARTIAL:
        # Only the tip or one side touches: a small ellipse pushed off-centre.
        shrink = rng.uniform(0.42, 0.52)
        a, b = a * shrink, b * shrink * 0.8
        side = rng.integers(0, 3)
        ex = (-1, 0, 1)[side] * rng.uniform(60, 80)
        ey = -rng.uniform(45, 75) if side == 1 else rng.uniform(-20, 20)
    rho = np.sqrt(((fu - np.float32(ex)) * np.float32(1 / a)) ** 2 + ((fv - np.float32(ey)) * np.float32(1 / b)) ** 2)
    contact = np.clip((np.float32(1.0) - rho) * np.float32(9.0), 0.0, 1.0)

    bias, gain, contrast = 0.08 * pressure, 5.0, rng.uniform(145, 170)
    background = rng.uniform(205, 228)
    noise_sigma = rng.uniform(4.0, 7.0)
    if condition is FingerCondition.SMUDGED:
        # Wet or smeared: ridges widen and run together, valleys fill in.
        blot = _smooth_noise(rng, height, width, cells=4)
        bias = 0.55 + 0.3 * blot
        gain = 2.2
        contrast *= 0.85
    elif condition is FingerCondition.DRY:
        # Dry skin: thin, faint, broken ridges.
        bias = -0.45
        contrast *= 0.42
        background = min(background + 12, 240)
        gaps = _smooth_noise(rng, height, width, cells=14)
        contact = contact * np.clip((gaps + np.float32(0.25)) * np.float32(2.5), 0.0, 1.0)
    r += np.float32(bias)
    r *= np.float32(-gain)
    ink = np.exp(r, out=r)
    ink += np.float32(1.0)
    np.reciprocal(ink, out=ink)
    ink *= contact
    ink *= np.float32(-contrast)
    ink += _vignette(height, width) * np.float32(background)
    ink += rng.standard_normal((height, width), dtype=np.float32) * np.float32(noise_sigma)
    return np.clip(ink, 0, 255).astype(np.uint8)


@lru_cache(maxsize=8)
def _vignette(height: int, width: int) -> np.ndarray:
    """Optics darken the corners a little."""
    u, v = _window_grid(height, width)
    return (1.0 - 0.24 * ((u / width) ** 2 + (v / height) ** 2)).astype(np.float32)


def render_cost_ms(repeats: int = 20) -> float:
    """Median milliseconds per :func:`render` once the finger's master is cached."""
    render("render-cost", 1)
    times = []
    for seed in range(repeats):
        t0 = time.perf_counter()
        render("render-cost", 1, capture_seed=seed + 1)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)

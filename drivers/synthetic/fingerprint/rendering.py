"""Synthetic fingerprints: ridge patterns, captures, and templates made from pixels.

Owns three things every fingerprint simulator shares:

* :func:`render` draws one capture of one finger as an optical sensor gives it
  (dark ridges on a light background). Each finger (person id, position) has a
  fixed *master* ridge pattern grown by iterated oriented band-pass filtering
  of noise along an orientation field with real core/delta singularities (the
  Sherlock-Monro zero-pole model), so fingers come out as arches, tented arches,
  left/right loops and whorls with ridge endings and bifurcations. A capture
  moves, turns and presses that master, adds sensor noise, and renders the
  finger's condition (smudged, partial, dry) into the pixels.
* :func:`template_from_image` reads a template back FROM THE PIXELS (block
  orientation field, ridge period, and minutiae found by thinning the enhanced
  ridges), so a bad capture gives a bad template without anyone being told.
* :func:`match_score` aligns two templates' minutiae (rotation search plus a
  translation vote) and scores the paired fraction, discounted where the
  orientation fields disagree.

Rules: deterministic per (person id, position) through
:func:`drivers.synthetic.seed.rng_for`; per-capture variation only from
``capture_seed``; the master pattern is cached (bounded LRU) so a capture costs
a few milliseconds (see :func:`render_cost_ms`). Nothing here logs or prints
pixels or template bytes.
"""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from drivers.scene import FingerCondition
from drivers.synthetic.seed import rng_for

#: Scores at or above this mean "same finger" (scale 0..1000).
MATCH_THRESHOLD: int = 325

#: Pixels per inch of the rendered images (ZhianTec/Grow optical sensors give ~500).
DPI = 500

_PATTERNS = ("arch", "tented_arch", "left_loop", "right_loop", "whorl")
# Rough population frequencies: loops dominate, then whorls, arches are rare.
_PATTERN_WEIGHTS = (0.05, 0.05, 0.33, 0.32, 0.25)

#: Master canvas (height, width) in sensor pixels; captures are windows into it.
_CANVAS = (416, 384)
_ORIENT_BINS = 8
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


@lru_cache(maxsize=32)
def _band_bank(h: int, w: int, period: float, bins: int) -> np.ndarray:
    """Oriented band-pass filters (rfft layout), one per ridge-normal direction."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f0 = 1.0 / period
    sf, sa = 0.28 * f0, 0.38 * f0
    bank = np.empty((bins, h, w // 2 + 1), np.float32)
    for k in range(bins):
        phi = math.pi * k / bins
        along = fx * math.cos(phi) + fy * math.sin(phi)
        across = -fx * math.sin(phi) + fy * math.cos(phi)
        g = np.exp(-((along - f0) ** 2) / (2 * sf * sf) - across**2 / (2 * sa * sa))
        g += np.exp(-((along + f0) ** 2) / (2 * sf * sf) - across**2 / (2 * sa * sa))
        bank[k] = g
    return bank


def _oriented_filter(x: np.ndarray, normal: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Filter ``x`` with the band-pass whose direction follows ``normal`` pixel by pixel.

    The image is filtered once per direction bin (via FFT) and each pixel takes
    a blend of the two bins either side of its own direction.
    """
    bins = bank.shape[0]
    t = np.mod(normal, math.pi) * (bins / math.pi)
    k0 = np.floor(t).astype(np.int64) % bins
    k1 = (k0 + 1) % bins
    w1 = (t - np.floor(t)).astype(np.float32)
    spectrum = np.fft.rfft2(x.astype(np.float32))
    responses = np.fft.irfft2(spectrum[None] * bank, s=x.shape, axes=(-2, -1))
    r0 = np.take_along_axis(responses, k0[None], 0)[0]
    r1 = np.take_along_axis(responses, k1[None], 0)[0]
    return r0 * (1 - w1) + r1 * w1


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
    bank = _band_bank(h, w, round(design.period / 2, 2), _ORIENT_BINS)
    x = (rng.random((h, w)) < 0.03).astype(np.float32) * rng.choice(np.array([-1.0, 1.0], np.float32), (h, w))
    for _ in range(_GROW_ITERATIONS):
        y = _oriented_filter(x, normal, bank)
        x = np.clip(y / (y.std() * 0.6 + 1e-9), -1.0, 1.0)
    y = _oriented_filter(x, normal, bank)
    full = _upsample2(y)
    full /= np.percentile(np.abs(full), 90) + 1e-9
    ridges = np.clip(full, -1.0, 1.0).astype(np.float32)
    smeared = _box_blur(_box_blur(ridges, 3), 3)
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


def _box_blur(a: np.ndarray, radius: int) -> np.ndarray:
    """Separable mean filter of width 2*radius+1 (edges padded by reflection)."""
    k = 2 * radius + 1
    p = np.pad(a, radius, mode="reflect").astype(np.float32)
    c = np.cumsum(p, axis=0, dtype=np.float32)
    c = np.concatenate([np.zeros((1, c.shape[1]), np.float32), c], axis=0)
    p = (c[k:] - c[:-k]) / k
    c = np.cumsum(p, axis=1, dtype=np.float32)
    c = np.concatenate([np.zeros((c.shape[0], 1), np.float32), c], axis=1)
    return (c[:, k:] - c[:, :-k]) / k


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


# ---------------------------------------------------------------------------
# Reading a template back from pixels.
# ---------------------------------------------------------------------------

_BLOCK = 16
_MAGIC = b"RK"
_VERSION = 1
_HEADER = struct.Struct(">2sBBHHBBBBH2x")  # magic, version, minutiae, w, h, block, grid w, grid h, period*16, flags
_MAX_MINUTIAE = 80
_GRID_LEVELS = 15  # orientation bins in the grid; 0 means background
_FLAG_GRID = 1


@dataclass(frozen=True)
class RidgeAnalysis:
    """What :func:`analyse` reads from a fingerprint image (all from the pixels)."""

    width: int
    height: int
    foreground: np.ndarray  # bool, one per block: finger in contact there
    orientation: np.ndarray  # ridge direction per block, radians in [0, pi)
    coherence: np.ndarray  # 0..1 per block: how clearly ridges run one way
    period: float  # dominant ridge period in pixels
    minutiae: np.ndarray  # (n, 4) float: x, y, direction (mod pi), kind (1 ending, 3 bifurcation)

    @property
    def contact_fraction(self) -> float:
        return float(self.foreground.mean())

    def __repr__(self) -> str:  # the arrays describe a finger: keep them out of logs
        return (
            f"RidgeAnalysis({self.width}x{self.height}, contact {self.contact_fraction:.0%}, "
            f"period {self.period:.1f}px, {len(self.minutiae)} minutiae)"
        )


def analyse(image: np.ndarray) -> RidgeAnalysis:
    """Find the finger, its ridge flow, period and minutiae in a greyscale image."""
    img = np.asarray(image)
    if img.ndim != 2 or img.shape[0] < 2 * _BLOCK or img.shape[1] < 2 * _BLOCK:
        raise ValueError(f"need a 2-D greyscale image of at least {2 * _BLOCK}x{2 * _BLOCK}")
    height, width = img.shape
    gh, gw = height // _BLOCK, width // _BLOCK
    g = img[: gh * _BLOCK, : gw * _BLOCK].astype(np.float32)
    g = 255.0 - g  # ridges bright from here on

    blocks = g.reshape(gh, _BLOCK, gw, _BLOCK)
    spread = blocks.std(axis=(1, 3))
    level = float(np.percentile(spread, 95))
    foreground = (spread > max(10.0, 0.3 * level)) & (spread > 0)
    foreground = _clean_mask(foreground)

    orientation, coherence = _block_orientation(g, gh, gw)
    period = _ridge_period(g, foreground)
    if foreground.sum() < 4:
        return RidgeAnalysis(width, height, foreground, orientation, coherence, period, np.zeros((0, 4)))
    ridges = _enhance(g, orientation, foreground, period)
    skeleton = _thin(ridges)
    minutiae = _minutiae(skeleton, orientation, _erode(foreground), period)
    return RidgeAnalysis(width, height, foreground, orientation, coherence, period, minutiae)


def _clean_mask(mask: np.ndarray) -> np.ndarray:
    """Fill single-block holes and drop single-block islands."""
    p = np.pad(mask, 1).astype(np.int8)
    n = sum(np.roll(np.roll(p, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)[1:-1, 1:-1]
    return (mask & (n >= 2)) | (~mask & (n >= 6))


def _erode(mask: np.ndarray) -> np.ndarray:
    p = np.pad(mask, 1)
    out = mask.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out &= p[1 + dy : 1 + dy + mask.shape[0], 1 + dx : 1 + dx + mask.shape[1]]
    return out


def _block_orientation(g: np.ndarray, gh: int, gw: int) -> tuple[np.ndarray, np.ndarray]:
    """Ridge direction and coherence per block from the smoothed gradient tensor."""
    s = _box_blur(g, 1)
    gy, gx = np.gradient(s)

    def block_sum(a: np.ndarray) -> np.ndarray:
        return a.reshape(gh, _BLOCK, gw, _BLOCK).sum(axis=(1, 3))

    gxx, gyy, gxy = block_sum(gx * gx), block_sum(gy * gy), block_sum(gx * gy)
    # Average the doubled-angle vectors over 3x3 blocks so one noisy block cannot flip.
    c, sn, e = gxx - gyy, 2 * gxy, gxx + gyy
    c, sn, e = (_box_blur(a, 1) for a in (c, sn, e))
    normal = 0.5 * np.arctan2(sn, c)
    coherence = np.sqrt(c * c + sn * sn) / (e + 1e-6)
    return np.mod(normal + math.pi / 2, math.pi).astype(np.float32), np.clip(coherence, 0, 1).astype(np.float32)


def _ridge_period(g: np.ndarray, foreground: np.ndarray) -> float:
    """Dominant ridge period: the peak of the radial power spectrum between 5 and 16 pixels."""
    mask = np.repeat(np.repeat(foreground, _BLOCK, 0), _BLOCK, 1)
    if mask.sum() < _BLOCK * _BLOCK:
        return 9.0
    x = np.where(mask, g - g[mask].mean(), 0.0)
    power = np.abs(np.fft.rfft2(x)) ** 2
    fy = np.fft.fftfreq(x.shape[0])[:, None]
    fx = np.fft.rfftfreq(x.shape[1])[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    edges = np.linspace(1 / 16, 1 / 5, 24)
    idx = np.digitize(radius, edges)
    sums = np.bincount(idx.ravel(), power.ravel(), minlength=len(edges) + 1)[1 : len(edges)]
    centres = (edges[:-1] + edges[1:]) / 2
    return float(1.0 / centres[int(np.argmax(sums))])


def _enhance(g: np.ndarray, orientation: np.ndarray, foreground: np.ndarray, period: float) -> np.ndarray:
    """Binary ridge map: oriented band-pass along the block flow, thresholded at zero."""
    h, w = g.shape
    x = g - _box_blur(g, _BLOCK // 2)
    gh, gw = orientation.shape
    # Interpolate the doubled-angle field so the direction varies smoothly between blocks.
    c = _resize_centres(np.cos(2 * orientation), h, w)
    s = _resize_centres(np.sin(2 * orientation), h, w)
    normal = 0.5 * np.arctan2(s, c) + math.pi / 2
    bank = _band_bank(h, w, round(period, 1), _ORIENT_BINS)
    y = _oriented_filter(x, normal.astype(np.float32), bank)
    mask = np.repeat(np.repeat(foreground, _BLOCK, 0), _BLOCK, 1)
    return (y > 0) & mask


def _resize_centres(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear upsampling of a block grid to pixels, with block values at block centres."""
    gh, gw = a.shape
    p = np.pad(a, 1, mode="edge")
    ys = (np.arange(h, dtype=np.float32) + 0.5) / _BLOCK - 0.5 + 1
    xs = (np.arange(w, dtype=np.float32) + 0.5) / _BLOCK - 0.5 + 1
    y0 = np.clip(ys.astype(np.int64), 0, gh)
    x0 = np.clip(xs.astype(np.int64), 0, gw)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    top = p[y0][:, x0] * (1 - fx) + p[y0][:, x0 + 1] * fx
    bottom = p[y0 + 1][:, x0] * (1 - fx) + p[y0 + 1][:, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _neighbours(p: np.ndarray) -> list[np.ndarray]:
    """P2..P9 of each interior pixel of padded ``p``, clockwise from north."""
    return [
        p[:-2, 1:-1],
        p[:-2, 2:],
        p[1:-1, 2:],
        p[2:, 2:],
        p[2:, 1:-1],
        p[2:, :-2],
        p[1:-1, :-2],
        p[:-2, :-2],
    ]


def _thin(binary: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning to one-pixel ridge lines (vectorised; bounded iterations)."""
    img = np.pad(binary.astype(np.uint8), 1)
    for _ in range(20):
        changed = False
        for step in (0, 1):
            n = _neighbours(img)
            b = sum(n)
            seq = n + [n[0]]
            a = sum(((seq[i] == 0) & (seq[i + 1] == 1)).astype(np.uint8) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                c1, c2 = p2 * p4 * p6, p4 * p6 * p8
            else:
                c1, c2 = p2 * p4 * p8, p2 * p6 * p8
            core = img[1:-1, 1:-1]
            remove = (core == 1) & (b >= 2) & (b <= 6) & (a == 1) & (c1 == 0) & (c2 == 0)
            if remove.any():
                core[remove] = 0
                changed = True
        if not changed:
            break
    return img[1:-1, 1:-1].astype(bool)


def _minutiae(skeleton: np.ndarray, orientation: np.ndarray, inner: np.ndarray, period: float) -> np.ndarray:
    """Ridge endings and bifurcations by crossing number, minus the spurious ones."""
    p = np.pad(skeleton.astype(np.int8), 1)
    n = _neighbours(p)
    seq = n + [n[0]]
    crossings = sum(np.abs(seq[i + 1] - seq[i]) for i in range(8)) // 2
    ys, xs = np.nonzero(skeleton & ((crossings == 1) | (crossings == 3)))
    if len(xs) == 0:
        return np.zeros((0, 4))
    kinds = crossings[ys, xs]
    by, bx = np.minimum(ys // _BLOCK, inner.shape[0] - 1), np.minimum(xs // _BLOCK, inner.shape[1] - 1)
    keep = inner[by, bx]
    xs, ys, kinds, by, bx = xs[keep], ys[keep], kinds[keep], by[keep], bx[keep]
    if len(xs) == 0:
        return np.zeros((0, 4))
    # Breaks, spurs, bridges and holes make minutiae in close pairs: drop both.
    d = np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])
    np.fill_diagonal(d, np.inf)
    lone = d.min(axis=1) > 0.8 * period
    pts = np.stack([xs, ys, orientation[by, bx], kinds], axis=1)[lone].astype(np.float64)
    if len(pts) > _MAX_MINUTIAE:
        centre = pts[:, :2].mean(axis=0)
        order = np.argsort(np.hypot(*(pts[:, :2] - centre).T))
        pts = pts[order[:_MAX_MINUTIAE]]
    return pts


def template_from_image(image: np.ndarray, size: int = 512) -> bytes:
    """A compact template read from the pixels, zero-padded or cut to ``size`` bytes.

    Layout (big-endian): a 16-byte header (magic ``RK``, version, minutiae
    count, image width and height, block size, grid width and height, ridge
    period x16, flags), then the block orientation grid at 4 bits a block
    (0 = no finger, 1..15 = direction bin), then 4 bytes per minutia
    (x:10, y:10, direction:8, bifurcation:1). Minutiae nearest the finger's
    centre are kept when ``size`` cannot hold them all.
    """
    return template_from_analysis(analyse(image), size)


def template_from_analysis(a: RidgeAnalysis, size: int = 512) -> bytes:
    """The template of an image already analysed (see :func:`template_from_image`)."""
    if size < _HEADER.size + 16:
        raise ValueError(f"template size must be at least {_HEADER.size + 16} bytes, got {size}")
    gh, gw = a.foreground.shape
    bins = np.where(
        a.foreground,
        1 + np.minimum((a.orientation / math.pi * _GRID_LEVELS).astype(np.int64), _GRID_LEVELS - 1),
        0,
    ).ravel()
    if len(bins) % 2:
        bins = np.append(bins, 0)
    grid = ((bins[0::2] << 4) | bins[1::2]).astype(np.uint8).tobytes()
    flags = 0
    room = size - _HEADER.size
    if len(grid) <= room - 16:
        flags |= _FLAG_GRID
        room -= len(grid)
    else:
        grid = b""
    count = min(len(a.minutiae), room // 4, _MAX_MINUTIAE)
    body = bytearray()
    for x, y, direction, kind in a.minutiae[:count]:
        word = (int(x) & 0x3FF) << 22 | (int(y) & 0x3FF) << 12
        word |= (int(direction / math.pi * 256) & 0xFF) << 4 | (1 if kind == 3 else 0)
        body += word.to_bytes(4, "big")
    period = min(255, int(round(a.period * 16)))
    header = _HEADER.pack(_MAGIC, _VERSION, count, a.width, a.height, _BLOCK, gw, gh, period, flags)
    out = header + grid + bytes(body)
    return out[:size].ljust(size, b"\0")


@dataclass(frozen=True)
class _Parsed:
    width: int
    height: int
    grid: np.ndarray | None  # int (gh, gw): 0 background, 1..15 direction bin
    points: np.ndarray  # (n, 4): x, y, direction, bifurcation

    def __repr__(self) -> str:
        return f"_Parsed({self.width}x{self.height}, {len(self.points)} minutiae)"


@lru_cache(maxsize=4096)
def _parse(template: bytes) -> _Parsed | None:
    if len(template) < _HEADER.size:
        return None
    magic, version, count, width, height, block, gw, gh, _period, flags = _HEADER.unpack_from(template)
    if magic != _MAGIC or version != _VERSION or block != _BLOCK:
        return None
    off = _HEADER.size
    grid = None
    if flags & _FLAG_GRID:
        n = (gw * gh + 1) // 2
        raw = np.frombuffer(template, np.uint8, n, off)
        off += n
        grid = np.stack([raw >> 4, raw & 0x0F], axis=1).ravel()[: gw * gh].reshape(gh, gw).astype(np.int64)
    count = min(count, (len(template) - off) // 4)
    words = np.frombuffer(template, ">u4", count, off).astype(np.int64)
    pts = np.stack(
        [(words >> 22) & 0x3FF, (words >> 12) & 0x3FF, ((words >> 4) & 0xFF) * (math.pi / 256), words & 1], axis=1
    ).astype(np.float64)
    return _Parsed(width, height, grid, pts)


_ROTATIONS = np.deg2rad(np.arange(-12, 13, 2))
_ANGLE_TOL = math.radians(15)
_DIST_TOL = 7.0
_VOTE_BIN = 8.0


def match_score(a: bytes, b: bytes) -> int:
    """How alike two templates are, 0..1000; >= MATCH_THRESHOLD means the same finger.

    Every candidate rotation votes for a shift with its angle-compatible
    minutia pairs (one vectorised pass); the best-voted rotations are then
    scored by one-to-one pairing within a distance and angle tolerance, over
    the minutiae each finger area shares with the other, discounted where the
    orientation fields disagree.
    """
    pa, pb = _parse(bytes(a)), _parse(bytes(b))
    if pa is None or pb is None or len(pa.points) < 4 or len(pb.points) < 4:
        return 0
    A, B = pa.points, pb.points
    cx, cy = pa.width / 2, pa.height / 2
    rots = _ROTATIONS[:, None]
    cos, sin = np.cos(rots), np.sin(rots)
    rx, ry = A[None, :, 0] - cx, A[None, :, 1] - cy
    ax = cos * rx - sin * ry + cx  # (rotations, na)
    ay = sin * rx + cos * ry + cy
    at = np.mod(A[None, :, 2] + rots, math.pi)
    diff = np.abs(at[:, :, None] - B[None, None, :, 2])
    compatible = np.minimum(diff, math.pi - diff) < _ANGLE_TOL  # (rotations, na, nb)
    dx = B[None, None, :, 0] - ax[:, :, None]
    dy = B[None, None, :, 1] - ay[:, :, None]
    ok = compatible & (np.abs(dx) < 64) & (np.abs(dy) < 64)
    ri, _, _ = np.nonzero(ok)
    if len(ri) < 3:
        return 0
    vx = ((dx[ok] + 64) // _VOTE_BIN).astype(np.int64)
    vy = ((dy[ok] + 64) // _VOTE_BIN).astype(np.int64)
    acc = np.zeros((len(_ROTATIONS), 17, 17), np.int64)
    np.add.at(acc, (ri, vy, vx), 1)
    acc2 = acc[:, :-1, :-1] + acc[:, 1:, :-1] + acc[:, :-1, 1:] + acc[:, 1:, 1:]
    votes = acc2.reshape(len(_ROTATIONS), -1)
    best = (0, 0.0, 0.0, 0.0)
    for r in np.argsort(votes.max(axis=1))[::-1][:2]:
        by, bx = divmod(int(np.argmax(votes[r])), 16)
        cell_y = (dy[r] + 64) // _VOTE_BIN
        cell_x = (dx[r] + 64) // _VOTE_BIN
        sel = ok[r] & (cell_y >= by) & (cell_y <= by + 1) & (cell_x >= bx) & (cell_x <= bx + 1)
        if not sel.any():
            continue
        tx, ty = float(dx[r][sel].mean()), float(dy[r][sel].mean())
        dist = np.hypot(dx[r] - tx, dy[r] - ty)
        paired = _pair(np.where(compatible[r] & (dist < _DIST_TOL), dist, np.inf))
        if paired > best[0]:
            best = (paired, float(_ROTATIONS[r]), tx, ty)
    paired, rot, tx, ty = best
    if paired < 3:
        return 0
    na, nb, agree = _overlap(pa, pb, rot, tx, ty)
    score = 1000.0 * paired * paired / (max(na, paired) * max(nb, paired)) * agree
    return int(min(1000, round(score)))


def _pair(cost: np.ndarray) -> int:
    """Greedy one-to-one pairing of finite entries, nearest first; returns the pair count."""
    ii, jj = np.nonzero(np.isfinite(cost))
    if len(ii) == 0:
        return 0
    order = np.argsort(cost[ii, jj], kind="stable")
    used_i: set[int] = set()
    used_j: set[int] = set()
    for k in order:
        i, j = int(ii[k]), int(jj[k])
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
    return len(used_i)


def _overlap(pa: _Parsed, pb: _Parsed, rot: float, tx: float, ty: float) -> tuple[int, int, float]:
    """Minutiae of each inside the other's finger area, and how well the flows agree there."""
    centre = np.array([pa.width / 2, pa.height / 2])
    c, s = math.cos(rot), math.sin(rot)

    def a_to_b(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rx, ry = x - centre[0], y - centre[1]
        return c * rx - s * ry + centre[0] + tx, s * rx + c * ry + centre[1] + ty

    def b_to_a(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rx, ry = x - tx - centre[0], y - ty - centre[1]
        return c * rx + s * ry + centre[0], -s * rx + c * ry + centre[1]

    def inside(grid: np.ndarray | None, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if grid is None:
            return np.ones(len(x), bool)
        gx, gy = np.floor(x / _BLOCK).astype(np.int64), np.floor(y / _BLOCK).astype(np.int64)
        ok = (gx >= 0) & (gy >= 0) & (gx < grid.shape[1]) & (gy < grid.shape[0])
        out = np.zeros(len(x), bool)
        out[ok] = grid[gy[ok], gx[ok]] > 0
        return out

    A, B = pa.points, pb.points
    na = int(inside(pb.grid, *a_to_b(A[:, 0], A[:, 1])).sum())
    nb = int(inside(pa.grid, *b_to_a(B[:, 0], B[:, 1])).sum())
    agree = 1.0
    if pa.grid is not None and pb.grid is not None:
        gh, gw = pb.grid.shape
        yy, xx = np.mgrid[0:gh, 0:gw]
        bx, by = (xx.ravel() + 0.5) * _BLOCK, (yy.ravel() + 0.5) * _BLOCK
        ax, ay = b_to_a(bx, by)
        gx, gy = np.floor(ax / _BLOCK).astype(np.int64), np.floor(ay / _BLOCK).astype(np.int64)
        ok = (gx >= 0) & (gy >= 0) & (gx < pa.grid.shape[1]) & (gy < pa.grid.shape[0])
        vb = pb.grid.ravel()[ok]
        va = pa.grid[gy[ok], gx[ok]]
        both = (va > 0) & (vb > 0)
        if both.sum() >= 6:
            ta = (va[both] - 0.5) * (math.pi / _GRID_LEVELS) + rot
            tb = (vb[both] - 0.5) * (math.pi / _GRID_LEVELS)
            mean_cos = float(np.mean(np.cos(2 * (ta - tb))))
            agree = float(np.clip((mean_cos - 0.2) / 0.6, 0.0, 1.0))
    return na, nb, agree

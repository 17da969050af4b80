"""Fingerprint templates read from the pixels, and their byte format.

:func:`analyse` finds the finger in a greyscale image, its block orientation
field and ridge period, and minutiae found by thinning the enhanced ridges;
:func:`template_from_image` packs that into a compact template, and
:func:`parse_template` reads one back. The template comes FROM THE PIXELS, so
a bad capture gives a bad template without anyone being told.

Rules: pure numpy, deterministic for the same pixels. Analyses and templates
describe a finger: their reprs show sizes and counts, and nothing here logs
pixels or template bytes.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from drivers.synthetic.fingerprint.filters import ORIENT_BINS, band_bank, box_blur, oriented_filter

#: Side in pixels of the square blocks the finger, its flow and the grid are read in.
BLOCK = 16
#: Orientation bins in a template's grid; 0 means background.
GRID_LEVELS = 15
_MAGIC = b"RK"
_VERSION = 1
_HEADER = struct.Struct(">2sBBHHBBBBH2x")  # magic, version, minutiae, w, h, block, grid w, grid h, period*16, flags
_MAX_MINUTIAE = 80
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
    if img.ndim != 2 or img.shape[0] < 2 * BLOCK or img.shape[1] < 2 * BLOCK:
        raise ValueError(f"need a 2-D greyscale image of at least {2 * BLOCK}x{2 * BLOCK}")
    height, width = img.shape
    gh, gw = height // BLOCK, width // BLOCK
    g = img[: gh * BLOCK, : gw * BLOCK].astype(np.float32)
    g = 255.0 - g  # ridges bright from here on

    blocks = g.reshape(gh, BLOCK, gw, BLOCK)
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
    s = box_blur(g, 1)
    gy, gx = np.gradient(s)

    def block_sum(a: np.ndarray) -> np.ndarray:
        return a.reshape(gh, BLOCK, gw, BLOCK).sum(axis=(1, 3))

    gxx, gyy, gxy = block_sum(gx * gx), block_sum(gy * gy), block_sum(gx * gy)
    # Average the doubled-angle vectors over 3x3 blocks so one noisy block cannot flip.
    c, sn, e = gxx - gyy, 2 * gxy, gxx + gyy
    c, sn, e = (box_blur(a, 1) for a in (c, sn, e))
    normal = 0.5 * np.arctan2(sn, c)
    coherence = np.sqrt(c * c + sn * sn) / (e + 1e-6)
    return np.mod(normal + math.pi / 2, math.pi).astype(np.float32), np.clip(coherence, 0, 1).astype(np.float32)


def _ridge_period(g: np.ndarray, foreground: np.ndarray) -> float:
    """Dominant ridge period: the peak of the radial power spectrum between 5 and 16 pixels."""
    mask = np.repeat(np.repeat(foreground, BLOCK, 0), BLOCK, 1)
    if mask.sum() < BLOCK * BLOCK:
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
    x = g - box_blur(g, BLOCK // 2)
    gh, gw = orientation.shape
    # Interpolate the doubled-angle field so the direction varies smoothly between blocks.
    c = _resize_centres(np.cos(2 * orientation), h, w)
    s = _resize_centres(np.sin(2 * orientation), h, w)
    normal = 0.5 * np.arctan2(s, c) + math.pi / 2
    bank = band_bank(h, w, round(period, 1), ORIENT_BINS)
    y = oriented_filter(x, normal.astype(np.float32), bank)
    mask = np.repeat(np.repeat(foreground, BLOCK, 0), BLOCK, 1)
    return (y > 0) & mask


def _resize_centres(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear upsampling of a block grid to pixels, with block values at block centres."""
    gh, gw = a.shape
    p = np.pad(a, 1, mode="edge")
    ys = (np.arange(h, dtype=np.float32) + 0.5) / BLOCK - 0.5 + 1
    xs = (np.arange(w, dtype=np.float32) + 0.5) / BLOCK - 0.5 + 1
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
    by, bx = np.minimum(ys // BLOCK, inner.shape[0] - 1), np.minimum(xs // BLOCK, inner.shape[1] - 1)
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
        1 + np.minimum((a.orientation / math.pi * GRID_LEVELS).astype(np.int64), GRID_LEVELS - 1),
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
    header = _HEADER.pack(_MAGIC, _VERSION, count, a.width, a.height, BLOCK, gw, gh, period, flags)
    out = header + grid + bytes(body)
    return out[:size].ljust(size, b"\0")


@dataclass(frozen=True)
class ParsedTemplate:
    """A template read back: what matching compares."""

    width: int
    height: int
    grid: np.ndarray | None  # int (gh, gw): 0 background, 1..15 direction bin
    points: np.ndarray  # (n, 4): x, y, direction, bifurcation

    def __repr__(self) -> str:  # minutiae describe a finger: counts only
        return f"ParsedTemplate({self.width}x{self.height}, {len(self.points)} minutiae)"


@lru_cache(maxsize=4096)
def parse_template(template: bytes) -> ParsedTemplate | None:
    """The minutiae and grid of one of our templates; None for anything else (cached)."""
    if len(template) < _HEADER.size:
        return None
    magic, version, count, width, height, block, gw, gh, _period, flags = _HEADER.unpack_from(template)
    if magic != _MAGIC or version != _VERSION or block != BLOCK:
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
    return ParsedTemplate(width, height, grid, pts)

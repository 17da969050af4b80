"""The finger gate: is this scanner image a usable fingerprint?

Owns measuring a GRAY8 fingerprint (dark ridges on a light background, about
500 dpi) from its pixels and judging it against
:class:`~station.quality.thresholds.FingerThresholds`. Work is done on a
half-resolution copy (2x2 means: ridges stay 4-5 px apart, sensor noise
halves) cut into blocks of 16 sensor pixels. The measures:

* contact: a block is finger when its grey levels vary (ridges) or it is
  clearly darker than the bare glass; the covered share of the sensor and of
  its largest contiguous region (after closing one-block gaps) decide
  ``no_finger`` and ``partial``;
* contrast: per finger block, the mean of its lighter pixels (valleys) minus
  its darker ones (ridges), median over the finger: ``low_contrast`` (dry,
  faint prints);
* valley fill: how far the valleys sit below the bare glass (the brightest
  block): ridges that ran together leave no light valleys (``smudged``: wet
  or smeared);
* ridge structure (:mod:`station.quality.ridges`): per window of about
  1.6 mm, orientation coherence, the ridge frequency (one clear spectral
  peak at a ridge period a finger can have, across the gradients' axis);
  the share of finger windows with such a ridge pattern, how much the ridge
  period varies between them and how smoothly their direction turns:
  ``no_ridges`` (a photograph, paper, cloth, noise: not a fingerprint);
* ridge clarity: orientation coherence of the gradients per block, and the
  share of each 32-px window's spectral energy at a plausible ridge period
  (5-16 px at 500 dpi): ``unclear_ridges``.

Rules: pixels only (the image's dpi is the sole metadata used, to scale the
ridge band); nothing is logged; measures are numbers, never pixels.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

from drivers.types import FingerCapture, ImageFormat
from station.quality.regions import close3, regions
from station.quality.result import Check, GateResult, at_least, at_most, combine, unmeasured
from station.quality.ridges import ridge_structure
from station.quality.thresholds import FingerThresholds

#: Most important first: no finger or a partial press makes the rest moot,
#: a smudge or a dry finger explains missing and unclear ridges.
PROBLEMS: tuple[str, ...] = (
    "image_unreadable", "no_finger", "partial", "smudged", "low_contrast", "no_ridges", "unclear_ridges",
)

_B = 8  # block size on the half-resolution copy (16 sensor pixels)
_W = 16  # spectral window on the half-resolution copy (32 sensor pixels)
#: Grey-level spread (std, half resolution) above which a block holds ridges.
_RIDGE_STD = 8.0
#: A block this much darker than the bare glass is finger, ridges or not (a smudge).
_DARK_STEP = 40.0
#: Plausible ridge periods at 500 dpi, sensor pixels (0.3 - 0.8 mm).
_PERIOD_PX = (5.0, 16.0)
_NOMINAL_DPI = 500.0


def check_finger(capture: FingerCapture, thresholds: FingerThresholds) -> GateResult:
    """Measure a fingerprint image and judge it; see the module docstring."""
    img = _pixels(capture)
    if img is None:
        return combine([Check("image_unreadable", False, 0.0)], {}, order=PROBLEMS)
    t = thresholds
    dpi = capture.image.metadata.get("dpi", _NOMINAL_DPI)
    if not isinstance(dpi, (int, float)) or isinstance(dpi, bool) or not 100 <= dpi <= 2000:
        dpi = _NOMINAL_DPI

    # Half resolution, cropped to whole 16-px blocks: sums of the four phases.
    h2, w2 = (img.shape[0] // 16) * 8, (img.shape[1] // 16) * 8
    g = img[: 2 * h2, : 2 * w2].astype(np.float32)
    half = (g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2]) * np.float32(0.25)
    gh, gw = h2 // _B, w2 // _B
    blocks = _blocks(half, _B)  # (gh, gw, 64), contiguous
    mean = blocks.mean(axis=2)
    std = blocks.std(axis=2)

    # Contact: ridges vary; a smudge is flat but dark against the bare glass.
    glass = float(mean.max())  # the brightest block: bare glass wherever the finger leaves some
    finger = (std > _RIDGE_STD) | (mean < glass - _DARK_STEP)
    joined = close3(finger)
    area = float(joined.mean())
    largest = regions(joined)
    contiguous = largest[0].area / joined.size if largest else 0.0
    m: dict[str, float] = {"area_fraction": round(area, 4), "contiguous_fraction": round(contiguous, 4)}
    if area < t.min_presence_fraction:
        checks = [Check("no_finger", False, area / max(t.min_presence_fraction, 1e-9) * 0.5)]
        checks += [unmeasured(p) for p in ("partial", "smudged", "low_contrast", "no_ridges", "unclear_ridges")]
        return combine(checks, m, order=PROBLEMS)
    checks = [
        Check("no_finger", True, 1.0),
        _worst(at_least("partial", area, t.min_area_fraction), at_least("partial", contiguous, t.min_contiguous_fraction)),
    ]

    # Ridge/valley levels per finger block: pixels above / below the block mean.
    fb = blocks[finger]
    bm = mean[finger][:, None]
    lighter = fb > bm
    n_light = lighter.sum(axis=1)
    sum_light = np.where(lighter, fb, 0.0).sum(axis=1)
    valley = sum_light / np.maximum(n_light, 1)
    ridge = (bm[:, 0] * fb.shape[1] - sum_light) / np.maximum(fb.shape[1] - n_light, 1)
    contrast = float(np.median(valley - ridge))
    valley_fill = max(0.0, 1.0 - float(np.median(valley)) / max(glass, 1.0))
    m["contrast"] = round(contrast, 2)
    m["valley_fill"] = round(valley_fill, 4)
    checks.append(at_most("smudged", valley_fill, t.max_valley_fill))
    checks.append(at_least("low_contrast", contrast, t.min_contrast))

    # Ridge structure: is there a fingerprint's ridge pattern at all?
    rs = ridge_structure(img, finger, dpi)
    m.update(
        ridge_fraction=round(rs.ridge_fraction, 4),
        ridge_period_mm=round(rs.ridge_period_mm, 4),
        ridge_period_spread=round(rs.ridge_period_spread, 4),
        orientation_flow=round(rs.orientation_flow, 4),
    )
    checks.append(
        min(
            at_least("no_ridges", rs.ridge_fraction, t.min_ridge_fraction),
            at_most("no_ridges", rs.ridge_period_spread, t.max_ridge_period_spread),
            at_least("no_ridges", rs.orientation_flow, t.min_orientation_flow),
            key=lambda c: c.margin,
        )
    )

    # Ridge clarity: one flow direction per block (coherence) and energy at a ridge
    # period (an isotropic texture has the second without the first, a smear neither).
    coherence = float(_coherence(half, gh, gw)[finger].mean())
    ridge_energy = _ridge_energy(half, finger, dpi)
    m["coherence"] = round(coherence, 4)
    m["ridge_energy"] = round(ridge_energy, 4)
    checks.append(
        _worst(
            at_least("unclear_ridges", coherence, t.min_coherence),
            at_least("unclear_ridges", ridge_energy, t.min_ridge_energy),
        )
    )
    return combine(checks, m, order=PROBLEMS)


def _worst(a: Check, b: Check) -> Check:
    """Two measures of one property: the property is as good as the worse of them."""
    return a if a.margin <= b.margin else b


def _pixels(capture: FingerCapture) -> np.ndarray | None:
    """The image as a 2-D uint8 array, or None when it is not a usable greyscale image.

    Scanners give GRAY8; a PNG or JPEG from a third-party driver is decoded too.
    """
    image = capture.image
    try:
        if image.format is ImageFormat.GRAY8:
            img = np.frombuffer(image.data, np.uint8).reshape(image.height, image.width)
        else:
            with PILImage.open(io.BytesIO(image.data)) as decoded:
                img = np.asarray(decoded.convert("L"))
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError):
        return None
    if img.shape[0] < 32 or img.shape[1] < 32:
        return None
    return img


def _blocks(a: np.ndarray, b: int) -> np.ndarray:
    """(rows, cols, b*b) contiguous copy of ``a`` cut into b x b blocks."""
    gh, gw = a.shape[0] // b, a.shape[1] // b
    return np.ascontiguousarray(a[: gh * b, : gw * b].reshape(gh, b, gw, b).transpose(0, 2, 1, 3)).reshape(gh, gw, b * b)


def _coherence(half: np.ndarray, gh: int, gw: int) -> np.ndarray:
    """Orientation coherence per block (0 no direction .. 1 one clean direction).

    From the gradient structure tensor summed over the block: ridges running
    one way give gradients along one axis.
    """
    gx = np.zeros_like(half)
    gy = np.zeros_like(half)
    gx[:, 1:-1] = half[:, 2:] - half[:, :-2]
    gy[1:-1] = half[2:] - half[:-2]
    gxx = _blocks(gx * gx, _B).sum(axis=2)
    gyy = _blocks(gy * gy, _B).sum(axis=2)
    gxy = _blocks(gx * gy, _B).sum(axis=2)
    return np.sqrt((gxx - gyy) ** 2 + 4.0 * gxy * gxy) / (gxx + gyy + 1e-6)


def _ridge_energy(half: np.ndarray, finger: np.ndarray, dpi: float) -> float:
    """Mean share of spectral energy at a plausible ridge period, over finger windows."""
    wins = _blocks(half, _W)
    sh, sw = wins.shape[:2]
    # A window counts as finger when most of its four blocks are.
    cover = finger[: 2 * sh, : 2 * sw].reshape(sh, 2, sw, 2).sum(axis=(1, 3)) >= 3
    if not cover.any():
        return 0.0
    w = wins[cover].reshape(-1, _W, _W)
    w = w - w.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.rfft2(w)) ** 2
    band = _band(dpi)
    total = power.sum(axis=(1, 2)) + 1e-6
    return float((power[:, band].sum(axis=1) / total).mean())


def _band(dpi: float) -> np.ndarray:
    """Frequencies (rfft2 layout, half resolution) of ridge periods in the plausible range."""
    k = dpi / _NOMINAL_DPI
    lo, hi = _PERIOD_PX[0] * k / 2, _PERIOD_PX[1] * k / 2  # periods at half resolution
    fy = np.fft.fftfreq(_W)[:, None]
    fx = np.fft.rfftfreq(_W)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    return (radius >= 1.0 / hi) & (radius <= 1.0 / lo)

"""Ridge structure: does this greyscale image hold a fingerprint's ridge pattern?

Owns one measure for the finger gate, after the classic fingerprint
enhancement literature (Hong, Wan and Jain 1998: orientation field from the
gradient structure tensor, ridge frequency per block): the image is cut into
windows of about 1.6 mm (32 px at 500 dpi) and each window inside the finger
is asked three things:

* orientation coherence: do its gradients share one axis (ridges run one way)?
* ridge frequency: does its spectrum have one clear peak at a ridge period a
  finger can have (0.3-0.8 mm), holding a fair share of the window's energy?
* agreement: does that peak point across the ridges the gradients describe?

A window answering yes to all three is a *ridge window*. Over the finger:

* ``ridge_fraction``: the share of finger windows that are ridge windows;
  a fingerprint, even a dry or wet one, has them nearly everywhere, a
  photograph, a fabric, paper, noise or a flat surface almost nowhere;
* ``ridge_period_spread``: how much the ridge period varies between ridge
  windows (interquartile range over the median); one finger's ridges keep
  one spacing, the strokes and edges of a picture do not;
* ``orientation_flow``: how smoothly the ridge direction turns from window
  to neighbouring window (mean cosine of twice the angle difference, 1 for
  parallel); a finger's flow is smooth, a texture's jumps.

Rules: pixels only (the dpi scales the window and the period band); numbers
out, never pixels; vectorised numpy, well under a millisecond per window grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Window side at 500 dpi, pixels.
_WINDOW_PX = 32
#: Ridge periods a finger can have, millimetres.
_PERIOD_MM = (0.3, 0.8)
#: A window's gradients share one axis at least this well.
_MIN_COHERENCE = 0.5
#: Its spectral peak (with its neighbours) holds at least this share of its energy.
_MIN_PEAK_SHARE = 0.3
#: The peak's direction within this many degrees of the gradients' axis.
_MAX_ANGLE_DEG = 25.0


@dataclass(frozen=True)
class RidgeStructure:
    windows: int  # finger windows looked at
    ridge_fraction: float  # share of them with a clean ridge pattern
    ridge_period_mm: float  # median ridge period over ridge windows (0 when none)
    ridge_period_spread: float  # IQR / median of the period over ridge windows (1 when too few)
    orientation_flow: float  # mean cos(2 dtheta) between neighbouring ridge windows (0 when too few)


def ridge_structure(img: np.ndarray, finger_blocks: np.ndarray, dpi: float) -> RidgeStructure:
    """Measure ``img`` (2-D, sensor pixels) over the windows ``finger_blocks`` marks as finger.

    ``finger_blocks`` is the gate's contact map, one cell per 16 sensor
    pixels; a window counts as finger when most of the cells it covers do.
    """
    win = max(16, int(round(_WINDOW_PX * dpi / 500.0 / 2)) * 2)
    rows, cols = img.shape[0] // win, img.shape[1] // win
    if rows == 0 or cols == 0:
        return RidgeStructure(0, 0.0, 0.0, 1.0, 0.0)
    a = img[: rows * win, : cols * win].astype(np.float32)
    cover = _cover(finger_blocks, rows, cols, win)
    wins = a.reshape(rows, win, cols, win).transpose(0, 2, 1, 3)  # (rows, cols, win, win)

    # Orientation: the gradient structure tensor per window.
    gy, gx = np.gradient(a)
    gxx = _sum_windows(gx * gx, rows, cols, win)
    gyy = _sum_windows(gy * gy, rows, cols, win)
    gxy = _sum_windows(gx * gy, rows, cols, win)
    coherence = np.sqrt((gxx - gyy) ** 2 + 4 * gxy**2) / (gxx + gyy + 1e-6)
    # Angle of the dominant gradient (across the ridges), doubled to remove the sign.
    grad_2theta = np.arctan2(2 * gxy, gxx - gyy)

    # Frequency: the strongest peak of each window's spectrum (Hann-windowed, DC removed).
    hann = np.hanning(win).astype(np.float32)
    taper = hann[:, None] * hann[None, :]
    w = wins - wins.mean(axis=(2, 3), keepdims=True)
    power = np.abs(np.fft.fft2(w * taper)) ** 2  # (rows, cols, win, win)
    fy = np.fft.fftfreq(win)[:, None]
    fx = np.fft.fftfreq(win)[None, :]
    radius = np.hypot(fx, fy)
    px_per_mm = dpi / 25.4
    band = (radius >= 1.0 / (_PERIOD_MM[1] * px_per_mm)) & (radius <= 1.0 / (_PERIOD_MM[0] * px_per_mm))
    flat = power.reshape(rows, cols, -1)
    total = flat.sum(axis=2) + 1e-6
    peak = np.argmax(flat, axis=2)
    py, px = np.unravel_index(peak, (win, win))
    pf_y, pf_x = np.fft.fftfreq(win)[py], np.fft.fftfreq(win)[px]
    in_band = band[py, px]
    # The peak and its 8 neighbours (a sinusoid leaks into them through the taper); the
    # mirror peak holds the same again, hence the factor 2.
    share = 2 * _around(power, py, px) / total
    peak_2theta = np.arctan2(2 * pf_y * pf_x, pf_x**2 - pf_y**2)
    angle = np.degrees(np.abs(np.angle(np.exp(1j * (peak_2theta - grad_2theta))))) / 2
    ridge = (cover & (coherence >= _MIN_COHERENCE) & in_band & (share >= _MIN_PEAK_SHARE)
             & (angle <= _MAX_ANGLE_DEG))

    n = int(cover.sum())
    if n == 0:
        return RidgeStructure(0, 0.0, 0.0, 1.0, 0.0)
    fraction = float(ridge.sum()) / n
    periods = 1.0 / np.hypot(pf_x, pf_y)[ridge] / px_per_mm
    if periods.size >= 3:
        q1, med, q3 = np.percentile(periods, (25, 50, 75))
        period, spread = float(med), float((q3 - q1) / med)
    else:
        period, spread = (float(np.median(periods)) if periods.size else 0.0), 1.0
    return RidgeStructure(n, fraction, period, spread, _flow(grad_2theta, ridge))


def _cover(finger_blocks: np.ndarray, rows: int, cols: int, win: int) -> np.ndarray:
    """Finger windows: most of the 16-px contact cells under the window are finger."""
    bh, bw = finger_blocks.shape
    cell_y = np.minimum(np.arange(rows * win) // 16, bh - 1)
    cell_x = np.minimum(np.arange(cols * win) // 16, bw - 1)
    per_px = finger_blocks[cell_y[:, None], cell_x[None, :]].astype(np.float32)
    return per_px.reshape(rows, win, cols, win).mean(axis=(1, 3)) > 0.5


def _sum_windows(a: np.ndarray, rows: int, cols: int, win: int) -> np.ndarray:
    return a.reshape(rows, win, cols, win).sum(axis=(1, 3))


def _around(power: np.ndarray, py: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Sum of each window's power in the 3x3 bins around its peak (wrapping)."""
    win = power.shape[-1]
    r, c = np.indices(py.shape)
    out = np.zeros(py.shape, np.float64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out += power[r, c, (py + dy) % win, (px + dx) % win]
    return out


def _flow(two_theta: np.ndarray, ridge: np.ndarray) -> float:
    """Mean cos(2 dtheta) between horizontally and vertically neighbouring ridge windows."""
    pairs = []
    for d_a, d_b, m in (
        (two_theta[:, 1:], two_theta[:, :-1], ridge[:, 1:] & ridge[:, :-1]),
        (two_theta[1:, :], two_theta[:-1, :], ridge[1:, :] & ridge[:-1, :]),
    ):
        pairs.append(np.cos(d_a - d_b)[m])
    both = np.concatenate(pairs)
    return float(both.mean()) if both.size else 0.0

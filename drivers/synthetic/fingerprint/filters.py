"""Oriented band-pass filtering and box blur for synthetic fingerprints.

Shared by growing a finger's master ridge pattern
(:mod:`~drivers.synthetic.fingerprint.rendering`) and by enhancing the ridges
of a capture before its minutiae are read
(:mod:`~drivers.synthetic.fingerprint.templates`). Pure numpy; the filter
banks are cached by size and period.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: Direction bins of an oriented filter bank (each pixel blends its two nearest).
ORIENT_BINS = 8


@lru_cache(maxsize=32)
def band_bank(h: int, w: int, period: float, bins: int) -> np.ndarray:
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


def oriented_filter(x: np.ndarray, normal: np.ndarray, bank: np.ndarray) -> np.ndarray:
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


def box_blur(a: np.ndarray, radius: int) -> np.ndarray:
    """Separable mean filter of width 2*radius+1 (edges padded by reflection)."""
    k = 2 * radius + 1
    p = np.pad(a, radius, mode="reflect").astype(np.float32)
    c = np.cumsum(p, axis=0, dtype=np.float32)
    c = np.concatenate([np.zeros((1, c.shape[1]), np.float32), c], axis=0)
    p = (c[k:] - c[:-k]) / k
    c = np.cumsum(p, axis=1, dtype=np.float32)
    c = np.concatenate([np.zeros((c.shape[0], 1), np.float32), c], axis=1)
    return (c[:, k:] - c[:, :-k]) / k

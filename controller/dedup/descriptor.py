"""Finger templates as fixed-length vectors that a matrix product can compare 1:N.

The emulated ZhianTec and GT-521 modules (and so every record the demo and
the tests make) hand over templates in the ``RK`` layout written by the
synthetic sensor (drivers/synthetic/fingerprint/templates.py: a 16-byte
header, an optional orientation grid, then 4 bytes per minutia: x:10, y:10,
direction:8, bifurcation:1). The controller may not import drivers, so the
few lines that read minutiae are here; other vendors' formats are skipped
(:func:`finger_vector` returns None) and such fingers do not take part.

The vector is a histogram over minutia PAIRS of (distance, angle between
the two ridge directions, angle of the joining line to the first direction):
invariant to where the finger sat on the glass and how it was turned, so no
alignment is needed, and square-rooted and L2-normalised so a dot product is
a similarity in 0..1. One finger says little; ten fingers summed say a lot
(see bench/dedup.py for the false-match and false-non-match rates).
"""

from __future__ import annotations

import math
import struct

import numpy as np

_HEADER = struct.Struct(">2sBBHHBBBBH2x")
_MAGIC = b"RK"
DIST_BINS, REL_BINS, LINE_BINS = 8, 4, 4
DIM = DIST_BINS * REL_BINS * LINE_BINS
FINGERS = 10
_D_MIN, _D_MAX = 8.0, 160.0


def minutiae(template: bytes) -> np.ndarray | None:
    """(n, 3) x, y, direction of an RK template's minutiae; None for another format."""
    if len(template) < _HEADER.size:
        return None
    magic, version, count, _w, _h, block, gw, gh, _period, flags = _HEADER.unpack_from(template)
    if magic != _MAGIC or version != 1 or block == 0:
        return None
    off = _HEADER.size + ((gw * gh + 1) // 2 if flags & 1 else 0)
    count = min(count, max(0, (len(template) - off) // 4))
    words = np.frombuffer(template, ">u4", count, off).astype(np.int64)
    return np.stack([(words >> 22) & 0x3FF, (words >> 12) & 0x3FF, ((words >> 4) & 0xFF) * (math.pi / 256)],
                    axis=1).astype(np.float64)


def finger_vector(template: bytes) -> np.ndarray | None:
    pts = minutiae(template)
    if pts is None or len(pts) < 4:
        return None
    x, y, t = pts[:, 0], pts[:, 1], pts[:, 2]
    dx, dy = x[None, :] - x[:, None], y[None, :] - y[:, None]
    d = np.hypot(dx, dy)
    i, j = np.triu_indices(len(x), 1)
    d, dx, dy = d[i, j], dx[i, j], dy[i, j]
    keep = (d > _D_MIN) & (d < _D_MAX)
    if not keep.any():
        return None
    d, dx, dy, ti, tj = d[keep], dx[keep], dy[keep], t[i][keep], t[j][keep]
    rel = np.mod(tj - ti, math.pi)
    rel = np.minimum(rel, math.pi - rel)
    line = np.mod(np.arctan2(dy, dx) - ti, math.pi)
    db = np.minimum(((d - _D_MIN) / (_D_MAX - _D_MIN) * DIST_BINS).astype(np.int64), DIST_BINS - 1)
    rb = np.minimum((rel / (math.pi / 2) * REL_BINS).astype(np.int64), REL_BINS - 1)
    lb = np.minimum((line / math.pi * LINE_BINS).astype(np.int64), LINE_BINS - 1)
    h = np.sqrt(np.bincount((db * REL_BINS + rb) * LINE_BINS + lb, minlength=DIM).astype(np.float32))
    return h / np.linalg.norm(h)


def record_vector(templates: dict[int, bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(FINGERS*DIM float32 vector, FINGERS bool mask) from {position: template}."""
    vec = np.zeros((FINGERS, DIM), np.float32)
    mask = np.zeros(FINGERS, bool)
    for pos, tpl in templates.items():
        if 1 <= pos <= FINGERS and tpl:
            v = finger_vector(tpl)
            if v is not None:
                vec[pos - 1], mask[pos - 1] = v, True
    return vec.ravel(), mask

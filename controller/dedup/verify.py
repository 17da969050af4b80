"""Second stage of the 1:N search: the few candidates the index found, checked minutia by minutia.

The pair histograms of :mod:`~.descriptor` rank a whole campaign in one matrix
product but are not discriminative enough alone at 100,000 records; each
candidate is therefore verified here finger by finger: the first finger's
minutiae are turned by each of a few small rotations, every angle-compatible
minutia pair votes for a shift, and the best-voted shift is scored by
one-to-one pairing within a distance and angle tolerance, as
``paired^2 / (n_a * n_b)``. A record pair is the same resident when enough
common fingers verify. (NBIS bozorth3 through ``nbis-python`` was the
maintained matcher to use here, but its wheels need glibc 2.38; the
controller may not import the drivers' synthetic matcher.)
"""

from __future__ import annotations

import math

import numpy as np

from controller.dedup.descriptor import minutiae

_ROTATIONS = np.deg2rad(np.arange(-12, 13, 3))
_ANGLE_TOL = math.radians(15)
_DIST_TOL = 8.0
_BIN = 8.0
_SPAN = 128.0
#: A finger pair scoring at least this is the same finger (0..1; see bench/dedup.py).
FINGER_THRESHOLD = 0.30


def finger_score(a: bytes, b: bytes, centre: tuple[float, float] = (128.0, 144.0)) -> float:
    A, B = minutiae(a), minutiae(b)
    if A is None or B is None or len(A) < 4 or len(B) < 4:
        return 0.0
    cx, cy = centre
    cos, sin = np.cos(_ROTATIONS)[:, None], np.sin(_ROTATIONS)[:, None]
    rx, ry = A[None, :, 0] - cx, A[None, :, 1] - cy
    ax, ay = cos * rx - sin * ry + cx, sin * rx + cos * ry + cy  # (rotations, na)
    at = np.mod(A[None, :, 2] + _ROTATIONS[:, None], math.pi)
    diff = np.abs(at[:, :, None] - B[None, None, :, 2])
    compatible = np.minimum(diff, math.pi - diff) < _ANGLE_TOL
    dx = B[None, None, :, 0] - ax[:, :, None]
    dy = B[None, None, :, 1] - ay[:, :, None]
    ok = compatible & (np.abs(dx) < _SPAN) & (np.abs(dy) < _SPAN)
    ri, _, _ = np.nonzero(ok)
    if len(ri) < 3:
        return 0.0
    nbins = int(2 * _SPAN / _BIN)
    vx = ((dx[ok] + _SPAN) // _BIN).astype(np.int64)
    vy = ((dy[ok] + _SPAN) // _BIN).astype(np.int64)
    acc = np.zeros((len(_ROTATIONS), nbins + 1, nbins + 1), np.int64)
    np.add.at(acc, (ri, vy, vx), 1)
    acc2 = acc[:, :-1, :-1] + acc[:, 1:, :-1] + acc[:, :-1, 1:] + acc[:, 1:, 1:]
    best = 0
    flat = acc2.reshape(len(_ROTATIONS), -1)
    for r in np.argsort(flat.max(axis=1))[::-1][:3]:
        by, bx = divmod(int(np.argmax(flat[r])), nbins)
        cy_, cx_ = (dy[r] + _SPAN) // _BIN, (dx[r] + _SPAN) // _BIN
        sel = ok[r] & (cy_ >= by) & (cy_ <= by + 1) & (cx_ >= bx) & (cx_ <= bx + 1)
        if not sel.any():
            continue
        tx, ty = float(dx[r][sel].mean()), float(dy[r][sel].mean())
        dist = np.hypot(dx[r] - tx, dy[r] - ty)
        best = max(best, _pair(np.where(compatible[r] & (dist < _DIST_TOL), dist, np.inf)))
    return best * best / (len(A) * len(B))


def _pair(cost: np.ndarray) -> int:
    """Greedy one-to-one pairing, nearest first."""
    ii, jj = np.nonzero(np.isfinite(cost))
    used_i: set[int] = set()
    used_j: set[int] = set()
    for k in np.argsort(cost[ii, jj], kind="stable"):
        i, j = int(ii[k]), int(jj[k])
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
    return len(used_i)


#: Fingers that must verify for two records to be one resident (fewer when they share fewer) ...
FINGERS_TO_AGREE = 3
#: ... among the fingers tried, most alike first: a second capture of a resident verifies on the
#: first fingers tried, so another resident costs at most this many finger matches.
FINGERS_TO_TRY = 5


def same_resident(a: dict[int, bytes], b: dict[int, bytes], threshold: float = FINGER_THRESHOLD,
                  order: list[int] | None = None) -> tuple[bool, int]:
    """(same resident?, fingers verified), trying the fingers in ``order`` (default: by position)."""
    common = [pos for pos in (order or sorted(a)) if pos in b and a[pos] and b[pos]]
    need = min(FINGERS_TO_AGREE, len(common))
    tried = common[:max(FINGERS_TO_TRY, need)]
    verified = 0
    for i, pos in enumerate(tried):
        if verified + (len(tried) - i) < need:
            break  # the rest cannot make up the difference
        verified += finger_score(a[pos], b[pos]) >= threshold
        if verified >= need:
            break
    return bool(common) and verified >= need, verified

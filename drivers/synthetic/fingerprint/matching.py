"""How alike two synthetic fingerprint templates are.

:func:`match_score` aligns two templates' minutiae (rotation search plus a
translation vote) and scores the paired fraction, discounted where the
orientation fields disagree. Scores at or above :data:`MATCH_THRESHOLD` mean
the same finger; the simulators' match, search and duplicate checks all use it.

Rules: pure numpy; a template that cannot be parsed, or has fewer than four
minutiae, scores 0. Nothing here logs template bytes.
"""

from __future__ import annotations

import math

import numpy as np

from drivers.synthetic.fingerprint.templates import BLOCK, GRID_LEVELS, ParsedTemplate, parse_template

#: Scores at or above this mean "same finger" (scale 0..1000).
MATCH_THRESHOLD: int = 325

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
    pa, pb = parse_template(bytes(a)), parse_template(bytes(b))
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


def _overlap(pa: ParsedTemplate, pb: ParsedTemplate, rot: float, tx: float, ty: float) -> tuple[int, int, float]:
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
        gx, gy = np.floor(x / BLOCK).astype(np.int64), np.floor(y / BLOCK).astype(np.int64)
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
        bx, by = (xx.ravel() + 0.5) * BLOCK, (yy.ravel() + 0.5) * BLOCK
        ax, ay = b_to_a(bx, by)
        gx, gy = np.floor(ax / BLOCK).astype(np.int64), np.floor(ay / BLOCK).astype(np.int64)
        ok = (gx >= 0) & (gy >= 0) & (gx < pa.grid.shape[1]) & (gy < pa.grid.shape[0])
        vb = pb.grid.ravel()[ok]
        va = pa.grid[gy[ok], gx[ok]]
        both = (va > 0) & (vb > 0)
        if both.sum() >= 6:
            ta = (va[both] - 0.5) * (math.pi / GRID_LEVELS) + rot
            tb = (vb[both] - 0.5) * (math.pi / GRID_LEVELS)
            mean_cos = float(np.mean(np.cos(2 * (ta - tb))))
            agree = float(np.clip((mean_cos - 0.2) / 0.6, 0.0, 1.0))
    return na, nb, agree

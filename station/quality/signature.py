"""The signature gate: is this pen recording a usable signature?

Owns measuring a :class:`~drivers.types.SignatureCapture` from its pen-down
samples and judging it against
:class:`~station.quality.thresholds.SignatureThresholds`. The measures:

* length: total pen-down path, in widths of the pad's logical extent
  (``too_short``: a dot or a tick);
* points: pen-down samples (``too_few_points``);
* direction changes: reversals of the x and y motion along each stroke,
  counted on the path resampled every 1% of the pad width so pen noise does
  not count (``too_simple``: a straight line or a single hook);
* jitter: RMS third difference of consecutive pen positions, per mille of
  the pad width; smooth handwriting leaves only quantisation there, tremor and
  jerks put their energy there (``shaky``).

Rules: everything is counted per sample, never per millisecond, because a
pad's timestamps can be bunched by the serial line (a burst read gets
back-dated by wire time); positions are what the pad measured. Nothing here
logs; measures are numbers, never pen positions.
"""

from __future__ import annotations

import numpy as np

from drivers.types import SignatureCapture
from station.quality.result import GateResult, at_least, at_most, combine
from station.quality.thresholds import SignatureThresholds

#: Most important first: a mark that is too short is the thing to fix.
PROBLEMS: tuple[str, ...] = ("too_short", "too_few_points", "too_simple", "shaky")

#: Resampling step for counting direction changes, and the smallest step that counts.
_STEP = 0.01
_DEAD = 0.002


def check_signature(capture: SignatureCapture, thresholds: SignatureThresholds) -> GateResult:
    """Measure a signature and judge it; see the module docstring."""
    t = thresholds
    width = _width(capture)
    down = [[s for s in stroke if s.pen_down] for stroke in capture.strokes]
    counts = np.array([len(st) for st in down], dtype=np.int64)
    points = int(counts.sum())
    length = jitter = 0.0
    reversals = 0
    if points >= 2:
        x = np.array([s.x for st in down for s in st], dtype=np.float64)
        y = np.array([s.y for st in down for s in st], dtype=np.float64)
        stroke = np.repeat(np.arange(len(counts)), counts)
        same = stroke[1:] == stroke[:-1]  # consecutive samples of one stroke
        seg = np.hypot(np.diff(x), np.diff(y)) * same
        length = float(seg.sum())
        same3 = stroke[3:] == stroke[:-3]
        if same3.any():
            jx, jy = np.diff(x, 3)[same3], np.diff(y, 3)[same3]
            jitter = float(np.sqrt((jx * jx + jy * jy).mean())) / width * 1000.0
        reversals = _reversals(x, y, seg, stroke, counts, width)
    length_w = length / width
    m: dict[str, float] = {
        "path_length": round(length_w, 4),
        "points": float(points),
        "strokes": float(len(capture.strokes)),
        "direction_changes": float(reversals),
        "jitter": round(jitter, 4),
    }
    checks = [
        at_least("too_short", length_w, t.min_path_length),
        at_least("too_few_points", points, t.min_points),
        at_least("too_simple", reversals, t.min_direction_changes),
        at_most("shaky", jitter, t.max_jitter),
    ]
    return combine(checks, m, order=PROBLEMS)


def _width(capture: SignatureCapture) -> float:
    """The pad's logical width; from the samples' spread if the pad did not say."""
    if capture.extent[0] > 0:
        return float(capture.extent[0])
    xs = [s.x for s in capture.samples]
    return max(1.0, max(xs) - min(xs)) if xs else 1.0


def _reversals(
    x: np.ndarray, y: np.ndarray, seg: np.ndarray, stroke: np.ndarray, counts: np.ndarray, width: float
) -> int:
    """x and y direction reversals within strokes, on the path resampled by arc length.

    All strokes at once: each stroke's arc length is laid out after the
    previous one's with a gap, so one resampling never spans two strokes.
    """
    step = _STEP * width
    gap = 4 * step
    arc = np.concatenate(([0.0], np.cumsum(seg + gap * ~(stroke[1:] == stroke[:-1]))))
    ends = np.cumsum(counts)
    starts = ends - counts
    live = counts > 0
    lo, hi = arc[starts[live]], arc[ends[live] - 1]
    n = np.where(hi - lo >= 2 * step, np.floor((hi - lo) / step).astype(np.int64) + 1, 0)
    if n.sum() < 3:
        return 0
    which = np.repeat(np.arange(n.size), n)
    u = np.repeat(lo, n) + step * (np.arange(which.size) - np.repeat(np.cumsum(n) - n, n))
    inside = which[1:] == which[:-1]
    count = 0
    for axis in (x, y):
        d = np.diff(np.interp(u, arc, axis))
        keep = inside & (np.abs(d) > _DEAD * width)
        signs, owner = np.sign(d[keep]), which[1:][keep]
        count += int(((signs[1:] != signs[:-1]) & (owner[1:] == owner[:-1])).sum())
    return count

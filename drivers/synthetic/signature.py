"""Synthetic handwritten signatures as pen trajectories.

A signature is built the way the kinematic theory of handwriting describes
it: each stroke is a sum of overlapping sigma-lognormal movements (a bell-
shaped, slightly skewed speed profile along a circular arc), which gives
smooth pen paths with human speed peaks, and the pen lifts between strokes
while staying in proximity. The person's style (how many strokes, letter
height, slant, rhythm, each movement's size and direction) comes from
``rng_for("signature", person_id)``; every capture perturbs it a little from
``rng_for(..., capture_seed, condition)``, so one person's signatures look
alike without being identical.

Geometry is laid out in millimetres on a pad ``PAD_WIDTH_MM`` wide and
``PAD_WIDTH_MM / aspect`` high, then given as fractions of that active area
(x right, y down, 0..1), so a pad maps it through its own calibration.

Conditions are rendered into the samples, never flagged:
- GOOD: two to four strokes of handwriting, a few seconds long.
- SHAKY: the same signature written more slowly with tremor (8-11 Hz
  oscillation plus irregular jerks, about a millimetre) on every sample.
- TOO_SHORT: a dot or a tick, one short stroke.

Coordinates stay out of reprs: a trajectory is a biometric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from drivers.scene import Person, SignatureCondition
from drivers.synthetic.seed import rng_for

GOOD = SignatureCondition.GOOD
#: Width of the active area the millimetre geometry is laid on.
PAD_WIDTH_MM = 100.0
#: Width/height of the default pad's active area (a 1x5 pad, 2000x700 logical).
REFERENCE_ASPECT = 2000 / 700
#: Margins kept free around the signature, as fractions of the area.
_MARGIN_X, _MARGIN_Y = 0.06, 0.12


@dataclass(frozen=True)
class TrajectoryPoint:
    """The pen at one instant; x, y in fractions of the active area (y down)."""

    t_s: float
    x: float = field(repr=False)
    y: float = field(repr=False)
    pressure: float = field(repr=False)  # 0..1; 0 when the tip is up
    pen_down: bool
    in_proximity: bool


@dataclass(frozen=True)
class _Movement:
    """One sigma-lognormal movement: size D (mm) along an arc from theta_s to theta_e."""

    t0: float
    d: float
    mu: float
    sigma: float
    theta_s: float
    theta_e: float

    @property
    def end(self) -> float:
        return self.t0 + math.exp(self.mu + 2.6 * self.sigma)

    def displacement(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tau = np.maximum(t - self.t0, 1e-9)
        frac = np.where(t > self.t0, _norm_cdf((np.log(tau) - self.mu) / self.sigma), 0.0)
        dtheta = self.theta_e - self.theta_s
        if abs(dtheta) < 1e-6:
            return self.d * frac * math.cos(self.theta_s), self.d * frac * math.sin(self.theta_s)
        phi = self.theta_s + dtheta * frac
        r = self.d / dtheta
        return r * (np.sin(phi) - math.sin(self.theta_s)), r * (math.cos(self.theta_s) - np.cos(phi))

    def full(self) -> tuple[float, float]:
        dx, dy = self.displacement(np.array([self.t0 + 1e6]))
        return float(dx[0]), float(dy[0])


@dataclass(frozen=True)
class _Stroke:
    """A pen-down run: movements relative to its start (mm, y up)."""

    movements: tuple[_Movement, ...]
    #: Pen-up time after this stroke (ignored for the last one).
    lift_s: float
    #: Where the next stroke starts, relative to where this one ends (mm).
    gap: tuple[float, float]

    @property
    def duration(self) -> float:
        return max(m.end for m in self.movements)

    def position(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.zeros_like(t)
        y = np.zeros_like(t)
        for m in self.movements:
            dx, dy = m.displacement(t)
            x += dx
            y += dy
        return x, y


@dataclass(frozen=True)
class _Style:
    strokes: tuple[_Stroke, ...]
    pressure: float  # the person's usual pressure when writing


def trajectory(
    person: Person,
    condition: SignatureCondition = GOOD,
    *,
    capture_seed: int = 0,
    rate_hz: float = 100.0,
    aspect: float = REFERENCE_ASPECT,
) -> list[TrajectoryPoint]:
    """The pen's path for ``person`` signing once, sampled at ``rate_hz``.

    Starts with the pen hovering towards the first stroke, lifts (in
    proximity) between strokes, and ends with one point out of proximity.
    """
    if rate_hz <= 0 or aspect <= 0:
        raise ValueError("rate_hz and aspect must be positive")
    condition = SignatureCondition(condition)
    style = _style(person)
    rng = rng_for("signature", person.person_id, "capture", capture_seed, condition.value)
    pad_h = PAD_WIDTH_MM / aspect
    if condition is SignatureCondition.TOO_SHORT:
        strokes = (_mark(rng),)
        place = (1.0, rng.uniform(0.3, 0.6), rng.uniform(0.4, 0.6))  # near the middle, life size
        slow = 1.0
    else:
        place = _template_placement(style.strokes, pad_h)
        strokes = tuple(_perturb(s, rng) for s in style.strokes)
        slow = 1.0 + rng.normal(0, 0.06)
        if condition is SignatureCondition.SHAKY:
            slow *= 1.35  # unsteady hands write more slowly
        scale = 1.0 + rng.normal(0, 0.04)
        shift = rng.normal(0, 0.012, size=2)
        place = (place[0] * scale, place[1] + shift[0], place[2] + shift[1])

    tremor = _tremor(rng) if condition is SignatureCondition.SHAKY else None
    return _sample(strokes, place, slow, style.pressure, tremor, rate_hz, pad_h, rng)


# -- style ---------------------------------------------------------------------
def _style(person: Person) -> _Style:
    """The person's signature, noise-free."""
    rng = rng_for("signature", person.person_id)
    n_strokes = int(rng.choice([2, 2, 3, 3, 3, 4]))
    height = rng.uniform(7.0, 13.0)  # letter height, mm
    slant = rng.uniform(0.12, 0.45)  # rightward lean of the letters, rad
    forward = rng.uniform(0.25, 0.6)  # extra rightward travel on up-strokes, rad
    rhythm = rng.uniform(0.09, 0.15)  # s between movement onsets
    strokes = []
    for i in range(n_strokes):
        n = int(rng.integers(3, 6)) if i == 0 else int(rng.integers(6, 12))
        movements = []
        t = 0.0
        up = True
        for _ in range(n):
            if rng.random() < 0.2:  # a connecting movement along the line
                theta = rng.normal(0.0, 0.3)
                d = rng.uniform(3.0, 8.0)
            else:
                d = height * rng.uniform(0.6, 1.3) * (1.7 if rng.random() < 0.15 else 1.0)
                theta = (math.pi / 2 - slant - forward) if up else (-math.pi / 2 - slant)
                theta += rng.normal(0.0, 0.2)
                up = not up
            curve = rng.uniform(-1.3, 1.3)
            movements.append(
                _Movement(
                    t0=t,
                    d=d,
                    mu=rng.uniform(-1.9, -1.55),
                    sigma=rng.uniform(0.18, 0.3),
                    theta_s=theta - curve / 2,
                    theta_e=theta + curve / 2,
                )
            )
            t += rhythm * rng.uniform(0.75, 1.25)
        strokes.append(
            _Stroke(
                movements=tuple(movements),
                lift_s=rng.uniform(0.18, 0.45),
                gap=(rng.uniform(3.0, 9.0), rng.normal(0.0, 1.5)),
            )
        )
    if rng.random() < 0.4:  # an underline flourish back under the name
        strokes[-1] = _Stroke(strokes[-1].movements, strokes[-1].lift_s, (rng.uniform(-4, 2), -height * 0.9))
        sweep = rng.uniform(-0.5, 0.5)
        strokes.append(
            _Stroke(
                movements=(
                    _Movement(0.0, rng.uniform(30.0, 50.0), rng.uniform(-1.0, -0.7), rng.uniform(0.2, 0.3),
                              math.pi + sweep, math.pi - sweep),
                ),
                lift_s=0.0,
                gap=(0.0, 0.0),
            )
        )
    return _Style(strokes=tuple(strokes), pressure=rng.uniform(0.55, 0.8))


def _perturb(stroke: _Stroke, rng: np.random.Generator) -> _Stroke:
    """This capture's version of a stroke: every movement a little different."""
    movements = tuple(
        _Movement(
            t0=max(0.0, m.t0 + rng.normal(0, 0.01)) if m.t0 > 0 else 0.0,
            d=m.d * (1.0 + rng.normal(0, 0.06)),
            mu=m.mu + rng.normal(0, 0.04),
            sigma=m.sigma * (1.0 + rng.normal(0, 0.05)),
            theta_s=m.theta_s + rng.normal(0, 0.06),
            theta_e=m.theta_e + rng.normal(0, 0.06),
        )
        for m in stroke.movements
    )
    return _Stroke(
        movements=movements,
        lift_s=max(0.08, stroke.lift_s * (1.0 + rng.normal(0, 0.15))),
        gap=(stroke.gap[0] + rng.normal(0, 0.8), stroke.gap[1] + rng.normal(0, 0.8)),
    )


def _mark(rng: np.random.Generator) -> _Stroke:
    """A dot or a tick: what someone leaves who does not really sign."""
    if rng.random() < 0.5:  # a dot: the tip lands and barely moves
        theta = rng.uniform(-math.pi, math.pi)
        movements: tuple[_Movement, ...] = (_Movement(0.0, rng.uniform(0.2, 0.8), -2.3, 0.25, theta, theta),)
    else:  # a tick: short down-right, longer up-right
        movements = (
            _Movement(0.0, rng.uniform(2.0, 3.5), -2.1, 0.22, -1.1, -0.8),
            _Movement(0.07, rng.uniform(4.0, 7.0), -1.9, 0.22, 0.9, 1.1),
        )
    return _Stroke(movements=movements, lift_s=0.0, gap=(0.0, 0.0))


# -- placement -----------------------------------------------------------------
def _layout(strokes: tuple[_Stroke, ...]) -> list[tuple[float, float]]:
    """Start point (mm, y up) of each stroke."""
    starts = []
    x = y = 0.0
    for s in strokes:
        starts.append((x, y))
        ex = ey = 0.0
        for m in s.movements:
            dx, dy = m.full()
            ex, ey = ex + dx, ey + dy
        x, y = x + ex + s.gap[0], y + ey + s.gap[1]
    return starts


def _bounds(strokes: tuple[_Stroke, ...]) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for (sx, sy), s in zip(_layout(strokes), strokes):
        t = np.linspace(0.0, s.duration, 200)
        x, y = s.position(t)
        xs.append(x + sx)
        ys.append(y + sy)
    ax, ay = np.concatenate(xs), np.concatenate(ys)
    return float(ax.min()), float(ax.max()), float(ay.min()), float(ay.max())


def _template_placement(strokes: tuple[_Stroke, ...], pad_h: float) -> tuple[float, float, float]:
    """(scale, x0, y0): mm -> fractions, fitting the noise-free signature in the box.

    Fractions are ``x0 + scale * x_mm / W`` and ``y0 - scale * y_mm / H``.
    """
    x_lo, x_hi, y_lo, y_hi = _bounds(strokes)
    usable_w = PAD_WIDTH_MM * (1 - 2 * _MARGIN_X)
    usable_h = pad_h * (1 - 2 * _MARGIN_Y)
    scale = min(1.0, usable_w / max(x_hi - x_lo, 1e-6), usable_h / max(y_hi - y_lo, 1e-6))
    cx, cy = (x_lo + x_hi) / 2, (y_lo + y_hi) / 2
    return (scale, 0.5 - scale * cx / PAD_WIDTH_MM, 0.5 + scale * cy / pad_h)


# -- tremor --------------------------------------------------------------------
@dataclass(frozen=True)
class _Tremor:
    freqs: tuple[float, ...]
    amps: tuple[tuple[float, float], ...]  # mm, per axis
    phases: tuple[tuple[float, float], ...]
    jerk_mm: float
    seed: int


def _tremor(rng: np.random.Generator) -> _Tremor:
    freqs = tuple(float(f) for f in rng.uniform(8.0, 11.0, size=2))
    return _Tremor(
        freqs=freqs,
        amps=tuple((float(a), float(b)) for a, b in rng.uniform(0.25, 0.45, size=(2, 2))),
        phases=tuple((float(a), float(b)) for a, b in rng.uniform(0, 2 * math.pi, size=(2, 2))),
        jerk_mm=float(rng.uniform(0.1, 0.15)),
        seed=int(rng.integers(1 << 31)),
    )


def _shake(tremor: _Tremor, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx = np.zeros_like(t)
    dy = np.zeros_like(t)
    wobble = 1.0 + 0.3 * np.sin(2 * math.pi * 0.7 * t)  # tremor waxes and wanes
    for f, (ax, ay), (px, py) in zip(tremor.freqs, tremor.amps, tremor.phases):
        dx += ax * np.sin(2 * math.pi * f * t + px)
        dy += ay * np.sin(2 * math.pi * f * t + py)
    noise = np.random.default_rng(tremor.seed).normal(0.0, tremor.jerk_mm, size=(2, t.size))
    return dx * wobble + noise[0], dy * wobble + noise[1]


# -- sampling ------------------------------------------------------------------
def _sample(
    strokes: tuple[_Stroke, ...],
    place: tuple[float, float, float],
    slow: float,
    base_pressure: float,
    tremor: _Tremor | None,
    rate_hz: float,
    pad_h: float,
    rng: np.random.Generator,
) -> list[TrajectoryPoint]:
    scale, x0, y0 = place
    starts = _layout(strokes)
    approach = rng.uniform(0.12, 0.22)
    leave = rng.uniform(0.1, 0.2)

    # Timeline of segments: (kind, t_begin, t_end, stroke index)
    segments: list[tuple[str, float, float, int]] = []
    t = 0.0
    segments.append(("hover-in", t, t + approach, 0))
    t += approach
    for i, s in enumerate(strokes):
        d = s.duration * slow
        segments.append(("down", t, t + d, i))
        t += d
        if i + 1 < len(strokes):
            segments.append(("lift", t, t + s.lift_s * slow, i))
            t += s.lift_s * slow
    segments.append(("hover-out", t, t + leave, len(strokes) - 1))
    total = t + leave

    times = np.arange(0.0, total, 1.0 / rate_hz)
    xs = np.empty_like(times)
    ys = np.empty_like(times)
    down = np.zeros(times.size, dtype=bool)
    pressure = np.zeros_like(times)

    def stroke_xy(i: int, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = strokes[i].position(local / slow)
        return x + starts[i][0], y + starts[i][1]

    def ends(i: int) -> tuple[tuple[float, float], tuple[float, float]]:
        d = np.array([0.0, strokes[i].duration * slow])
        x, y = stroke_xy(i, d)
        return (float(x[0]), float(y[0])), (float(x[1]), float(y[1]))

    for kind, a, b, i in segments:
        sel = (times >= a) & (times < b)
        if not sel.any():
            continue
        local = times[sel] - a
        if kind == "down":
            x, y = stroke_xy(i, local)
            xs[sel], ys[sel] = x, y
            down[sel] = True
            pressure[sel] = _pressure(x, y, local, b - a, base_pressure, rate_hz, rng)
        else:
            if kind == "hover-in":
                (bx, by), _ = ends(0)
                src, dst = (bx - 4.0, by + 3.0), (bx, by)
            elif kind == "lift":
                _, src = ends(i)
                dst, _ = ends(i + 1)
            else:
                _, src = ends(i)
                dst = (src[0] + 3.0, src[1] + 4.0)
            u = _min_jerk(local / max(b - a, 1e-9))
            xs[sel] = src[0] + (dst[0] - src[0]) * u
            ys[sel] = src[1] + (dst[1] - src[1]) * u

    if tremor is not None:
        jx, jy = _shake(tremor, times)
        xs, ys = xs + jx, ys + jy

    fx = np.clip(x0 + scale * xs / PAD_WIDTH_MM, 0.0, 1.0)
    fy = np.clip(y0 - scale * ys / pad_h, 0.0, 1.0)
    points = [
        TrajectoryPoint(
            t_s=float(times[k]),
            x=float(fx[k]),
            y=float(fy[k]),
            pressure=float(pressure[k]),
            pen_down=bool(down[k]),
            in_proximity=True,
        )
        for k in range(times.size)
    ]
    last = points[-1]
    points.append(
        TrajectoryPoint(
            t_s=last.t_s + 1.0 / rate_hz, x=last.x, y=last.y, pressure=0.0, pen_down=False, in_proximity=False
        )
    )
    return points


def _pressure(
    x: np.ndarray,
    y: np.ndarray,
    local: np.ndarray,
    duration: float,
    base: float,
    rate_hz: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Tip pressure: ramps in and out, lighter where the pen moves fast."""
    speed = np.hypot(np.gradient(x), np.gradient(y)) * rate_hz if x.size > 1 else np.zeros_like(x)
    peak = max(float(speed.max()), 1e-9)
    ramp_in = np.clip(local / 0.04, 0.25, 1.0)
    ramp_out = np.clip((duration - local) / 0.06, 0.3, 1.0)
    p = base * ramp_in * ramp_out * (1.0 - 0.25 * speed / peak) + rng.normal(0, 0.015, size=x.size)
    return np.clip(p, 0.05, 1.0)


def _min_jerk(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10 - 15 * u + 6 * u**2)


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, error < 2e-7)."""
    s = np.sign(z)
    a = np.abs(z) / math.sqrt(2)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-a * a)
    return 0.5 * (1.0 + s * erf)

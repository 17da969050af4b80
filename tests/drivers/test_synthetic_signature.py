"""The synthetic signature contract a quality gate can rely on.

Metrics are computed from the samples alone, in pad widths (y is scaled by
the pad's aspect so both axes use the same unit):
- strokes: runs of pen-down samples
- path: pen-down path length
- duration: first to last pen-down sample, seconds
- jitter: mean squared third difference of pen-down positions (tremor energy)
- roughness: jitter / mean squared first difference (scale-free)
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.scene import Person, SignatureCondition
from drivers.synthetic.signature import REFERENCE_ASPECT, TrajectoryPoint, trajectory

PEOPLE = [Person(f"3372{i:04d}") for i in range(24)]


def pen_down_runs(points: list[TrajectoryPoint], aspect: float = REFERENCE_ASPECT) -> list[np.ndarray]:
    runs, run = [], []
    for p in points:
        if p.pen_down:
            run.append((p.x, p.y / aspect))
        elif run:
            runs.append(np.array(run))
            run = []
    if run:
        runs.append(np.array(run))
    return runs


def metrics(points: list[TrajectoryPoint], rate_hz: float = 100.0) -> dict[str, float]:
    runs = pen_down_runs(points)
    down_t = [p.t_s for p in points if p.pen_down]
    path = sum(float(np.hypot(*np.diff(r, axis=0).T).sum()) for r in runs if len(r) > 1)
    long_runs = [r for r in runs if len(r) > 3]
    if long_runs:
        d1 = np.concatenate([np.diff(r, 1, axis=0) for r in long_runs])
        d3 = np.concatenate([np.diff(r, 3, axis=0) for r in long_runs])
        jitter = float((d3**2).sum(1).mean())
        roughness = jitter / float((d1**2).sum(1).mean())
    else:
        jitter = roughness = 0.0
    duration = down_t[-1] - down_t[0]
    return {
        "strokes": len(runs),
        "path": path,
        "duration": duration,
        "jitter": jitter,
        "roughness": roughness,
        "speed": path / max(duration, 1e-9),
    }


def test_same_inputs_give_the_same_signature() -> None:
    a = trajectory(PEOPLE[0], capture_seed=3)
    b = trajectory(PEOPLE[0], capture_seed=3)
    assert [(p.t_s, p.x, p.y, p.pressure, p.pen_down) for p in a] == [
        (p.t_s, p.x, p.y, p.pressure, p.pen_down) for p in b
    ]


def shape(points: list[TrajectoryPoint], n: int = 200) -> np.ndarray:
    """The pen-down path resampled to ``n`` points evenly along its length."""
    xy = np.concatenate(pen_down_runs(points))
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    u = np.linspace(0, s[-1], n)
    return np.stack([np.interp(u, s, xy[:, 0]), np.interp(u, s, xy[:, 1])], axis=1)


def test_a_person_is_recognisable_across_captures_but_never_identical() -> None:
    for i, person in enumerate(PEOPLE[:8]):
        first = trajectory(person, capture_seed=1)
        again = trajectory(person, capture_seed=2)
        other = trajectory(PEOPLE[(i + 1) % 8], capture_seed=1)
        assert [p.x for p in first] != [p.x for p in again]
        same_d = float(np.abs(shape(first) - shape(again)).mean())
        other_d = float(np.abs(shape(first) - shape(other)).mean())
        assert same_d < other_d / 2, (person.person_id, same_d, other_d)


def test_samples_are_well_formed() -> None:
    points = trajectory(PEOPLE[1], rate_hz=100.0)
    t = np.array([p.t_s for p in points])
    assert np.allclose(np.diff(t), 0.01)
    assert all(0.0 <= p.x <= 1.0 and 0.0 <= p.y <= 1.0 for p in points)
    assert all(0.0 < p.pressure <= 1.0 for p in points if p.pen_down)
    assert all(p.pressure == 0.0 for p in points if not p.pen_down)
    assert all(p.in_proximity for p in points if p.pen_down)
    # approaches hovering, ends by leaving proximity
    assert points[0].in_proximity and not points[0].pen_down
    assert not points[-1].in_proximity and all(p.in_proximity for p in points[:-1])
    # pen lifts between strokes stay in proximity (hover reports)
    first_up = next(i for i, p in enumerate(points) if i and points[i - 1].pen_down and not p.pen_down)
    assert points[first_up].in_proximity


def test_rate_sets_the_sample_spacing() -> None:
    fast = trajectory(PEOPLE[2], rate_hz=200.0)
    slow = trajectory(PEOPLE[2], rate_hz=50.0)
    assert fast[1].t_s == pytest.approx(0.005) and slow[1].t_s == pytest.approx(0.02)
    assert 3.5 < len(fast) / len(slow) < 4.5


def test_aspect_changes_how_tall_the_signature_is_in_fractions() -> None:
    wide = trajectory(PEOPLE[3], aspect=2000 / 700)
    square = trajectory(PEOPLE[3], aspect=2150 / 1700)
    span = lambda pts: max(p.y for p in pts if p.pen_down) - min(p.y for p in pts if p.pen_down)  # noqa: E731
    assert span(wide) > span(square) * 1.5


def test_good_signatures_are_long_varied_and_smooth() -> None:
    for person in PEOPLE:
        m = metrics(trajectory(person))
        assert m["strokes"] >= 2, (person.person_id, m)
        assert m["path"] >= 0.5, (person.person_id, m)
        assert m["duration"] >= 1.5, (person.person_id, m)
        assert 0.15 <= m["speed"] <= 1.0, (person.person_id, m)  # 15-100 mm/s on a 100 mm pad
        assert m["jitter"] < 2e-6, (person.person_id, m)
        assert m["roughness"] < 0.05, (person.person_id, m)


def test_shaky_signatures_carry_tremor_energy() -> None:
    for person in PEOPLE:
        good = metrics(trajectory(person))
        shaky = metrics(trajectory(person, SignatureCondition.SHAKY))
        assert shaky["strokes"] >= 2 and shaky["path"] >= 0.5, (person.person_id, shaky)
        assert shaky["jitter"] > 5e-6, (person.person_id, shaky)
        assert shaky["jitter"] > 5 * good["jitter"], (person.person_id, good, shaky)
        assert shaky["roughness"] > 0.5, (person.person_id, shaky)


def test_too_short_is_a_dot_or_a_tick() -> None:
    for person in PEOPLE:
        m = metrics(trajectory(person, SignatureCondition.TOO_SHORT, capture_seed=7))
        assert m["strokes"] == 1, (person.person_id, m)
        assert m["path"] < 0.1, (person.person_id, m)
        assert m["duration"] < 0.5, (person.person_id, m)


def test_repr_keeps_coordinates_out() -> None:
    text = repr(trajectory(PEOPLE[0])[10])
    assert " x=" not in text and " y=" not in text and "pressure" not in text and "t_s=" in text

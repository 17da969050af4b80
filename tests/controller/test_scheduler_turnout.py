"""The turnout model: capacity and crowd bound a day, turnout falls as the reachable are recorded and
recovers with rest, hours matter, the model is the same at any scale, and the bound's curve is an upper bound."""

from __future__ import annotations

import math
from datetime import date, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.scheduler import FITTED, TurnoutModel
from controller.scheduler.params import ORIGIN, ParameterError, TurnoutParameters
from controller.scheduler.turnout import availability

MODEL = TurnoutModel()


def test_a_day_is_bounded_by_the_stations_and_by_the_crowd():
    cap = MODEL.capacity()  # 15 an hour, 15:00-21:00
    assert cap == pytest.approx(90)
    share = FITTED.daily_share
    assert MODEL.expected(2000, 1) == pytest.approx(90)  # the station is the limit
    assert MODEL.expected(2000, 2) == pytest.approx(180)
    assert MODEL.expected(2000, 9) == pytest.approx(share * 2000)  # the residents are the limit
    assert MODEL.expected(0, 5) == 0 and MODEL.expected(500, 0) == 0


def test_turnout_falls_right_after_a_visit_and_recovers_with_rest():
    rested = float(MODEL.potential(1000, math.inf))
    after = [float(MODEL.potential(1000, gap)) for gap in (1, 2, 3, 7)]
    assert after[0] == pytest.approx(rested * (1 - math.exp(-1 / FITTED.recovery_days)))
    assert after == sorted(after) and after[-1] < rested and after[-1] > 0.99 * rested


def test_residents_come_in_the_hours_they_are_free():
    assert availability(time(15), time(21)) == pytest.approx(1.0)
    assert availability(time(8), time(14)) < 0.5
    assert MODEL.potential(1000, math.inf, (time(8), time(14))) < 0.5 * MODEL.potential(1000, math.inf)


def test_the_model_is_the_same_at_any_scale():
    """A demo at 1:100 must plan the days the real backlog needs: no rounding in the model."""
    small = TurnoutModel.with_capacity(MODEL.capacity() / 100)
    for reachable, stations, gap in [(3000, 2, math.inf), (450, 1, 1), (120, 3, 2)]:
        assert float(small.expected(reachable / 100, stations, gap)) == pytest.approx(
            float(MODEL.expected(reachable, stations, gap)) / 100)


@settings(max_examples=60, deadline=None)
@given(reachable=st.floats(10, 5000), visits=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 5)),
                                                      min_size=1, max_size=12))
def test_no_sequence_of_visits_beats_the_curve_the_bound_uses(reachable, visits):
    curve = MODEL.visit_curve(reachable, floor=1e-9)

    def most(station_days: float) -> float:
        for (n0, y0), (n1, y1) in zip(curve, curve[1:]):
            if station_days <= n1:
                return y0 + (y1 - y0) * (station_days - n0) / (n1 - n0)
        return curve[-1][1]

    left, used, got = reachable, 0, 0.0
    for stations, gap in visits:
        day = float(MODEL.expected(left, stations, gap))
        left, used, got = left - day, used + stations, got + day
        assert got <= most(used) + 1e-6


def test_noise_is_seeded_by_date_and_place():
    noisy = TurnoutModel(noise=0.3, seed=4)
    day = date(2013, 10, 2)
    first = [noisy.actual(800, 1, math.inf, (time(15), time(21)), day, f"33.72.01.100{i}") for i in range(1, 10)]
    again = [noisy.actual(800, 1, math.inf, (time(15), time(21)), day, f"33.72.01.100{i}") for i in range(1, 10)]
    assert first == again and len(set(first)) > 1
    other = [TurnoutModel(noise=0.3, seed=5).actual(800, 1, math.inf, (time(15), time(21)), day,
                                                   f"33.72.01.100{i}") for i in range(1, 10)]
    assert other != first
    assert TurnoutModel().actual(800, 1, 2, (time(15), time(21)), day, "x") == float(MODEL.expected(800, 1, 2))


def test_every_parameter_says_where_it_comes_from():
    assert set(ORIGIN) == set(FITTED.as_dict())
    assert {n for n, o in ORIGIN.items() if o.startswith("fitted")} == {"per_station_hour", "reach", "daily_share"}


@pytest.mark.parametrize("bad, name", [(dict(reach=0.0), "reach"), (dict(daily_share=1.5), "daily_share"),
                                       (dict(per_station_hour=-1), "per_station_hour"),
                                       (dict(recovery_days=float("nan")), "recovery_days")])
def test_nonsense_parameters_are_refused_by_name(bad, name):
    with pytest.raises(ParameterError, match=name):
        TurnoutParameters(**bad)
    with pytest.raises(ValueError, match="noise"):
        TurnoutModel(noise=1.0)

"""The turnout model: the formula, its integer honesty, its Solo calibration, its noise."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.scheduler import TurnoutModel, plan_rotation, simulate, solo_2013_targets


def test_a_day_is_bounded_by_station_capacity_and_by_the_fraction_still_unrecorded():
    model = TurnoutModel(capacity=100, fraction=0.15)
    assert model.expected(2000, 1) == 100  # the station is the limit
    assert model.expected(2000, 2) == 200
    assert model.expected(2000, 3) == 300
    assert model.expected(1000, 2) == 150  # the residents are the limit
    assert model.expected(0, 5) == 0
    assert model.expected(500, 0) == 0


def test_the_fraction_is_taken_in_exact_integers():
    # 0.15 * 100 is 15.000000000000002 in floating point; ceil would make it 16.
    assert TurnoutModel(fraction=0.15).expected(100, 1) == 15
    assert TurnoutModel(fraction=0.1).expected(30, 1) == 3


def test_someone_left_means_someone_recorded_so_every_target_is_reachable():
    model = TurnoutModel()
    assert model.expected(1, 1) == 1
    assert model.single_station_visits(1) == 1
    assert model.single_station_visits(595) > model.single_station_visits(200) > 1


@given(left=st.integers(1, 5000), stations=st.integers(1, 6))
def test_one_station_a_day_is_the_cheapest_way_to_clear_a_kelurahan(left, stations):
    model = TurnoutModel()
    station_days, days, remaining = 0, 0, left
    while remaining:
        remaining -= model.expected(remaining, stations)
        station_days += stations
        days += 1
    assert station_days >= model.single_station_visits(left)
    assert days >= model.fewest_visits(left)


def test_marginal_and_useful_stations_agree_with_expected():
    model = TurnoutModel()
    useful = model.useful_stations(1500)  # ceil(0.15 * 1500) = 225 -> 3 stations
    assert useful == 3
    assert model.marginal(1500, useful - 1) > 0
    assert model.marginal(1500, useful) == 0


def test_defaults_reproduce_solo_2013_rates():
    """Solo's first pass made ~400 a day over five kelurahan, and a kelurahan day reached ~180."""
    targets = solo_2013_targets()
    stations = [f"S{i}" for i in range(10)]
    result = simulate(plan_rotation(targets, stations, date(2013, 10, 1)))
    per_day: dict[date, int] = defaultdict(int)
    for visit in result.visits:
        per_day[visit.date] += visit.recorded
    first_pass_days = math.ceil(len(targets) / 5) * 3
    first_pass = [per_day[d] for d in sorted(per_day)[:first_pass_days]]
    assert 300 <= sum(first_pass) / len(first_pass) <= 500
    two_station_days = [v.recorded for v in result.visits if v.stations == 2]
    assert max(two_station_days) >= 180


def test_noise_is_seeded_by_date_and_place_and_never_beats_the_bounds():
    noisy = TurnoutModel(noise=0.3, seed=4)
    day = date(2013, 10, 2)
    first = [noisy.actual(800, 1, day, f"33.72.01.100{i}") for i in range(1, 10)]
    again = [noisy.actual(800, 1, day, f"33.72.01.100{i}") for i in range(1, 10)]
    assert first == again
    assert len(set(first)) > 1  # it is noise: places differ
    other_seed = [TurnoutModel(noise=0.3, seed=5).actual(800, 1, day, f"33.72.01.100{i}") for i in range(1, 10)]
    assert other_seed != first
    assert all(0 < n <= 800 and n <= noisy.max_station_day for n in first)
    assert TurnoutModel().actual(800, 1, day, "x") == TurnoutModel().expected(800, 1)


@pytest.mark.parametrize("bad", [dict(capacity=0), dict(fraction=0.0), dict(fraction=1.5), dict(noise=-0.1)])
def test_nonsense_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        TurnoutModel(**bad)

"""The LP bound: exact where the relaxation is exact, never above a real plan, per area."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from controller.scheduler import KelurahanTarget, TurnoutModel, plan_backlog, simulate
from controller.scheduler.bound import BoundError, lp_days, lp_max, plan_bound, station_recorded
from controller.scheduler.turnout import DEFAULT_HOURS
from protocol.regions import kelurahan_of_city

MODEL = TurnoutModel()
START = date(2024, 7, 1)


def test_one_kelurahan_one_station_needs_as_many_days_as_rested_visits():
    curve = MODEL.visit_curve(1000.0)
    n, got = curve[6]
    assert lp_days(np.array([1000.0]), MODEL, DEFAULT_HOURS, [1] * 40, got) == n
    assert lp_max(np.array([1000.0]), MODEL, DEFAULT_HOURS, [1] * n) == pytest.approx(got, rel=1e-6)


def test_fractions_of_a_station_cost_their_share():
    """Without the station-day curve, 20 kelurahan of 100 would take one day with one station."""
    reach = np.full(20, 100.0)
    one_day = lp_max(reach, MODEL, DEFAULT_HOURS, [1])
    assert one_day <= MODEL.capacity() + 1e-6
    assert one_day == pytest.approx(MODEL.share() * 100, rel=1e-6)  # one rested visit's worth


def test_out_of_reach_is_none():
    assert lp_days(np.array([100.0]), MODEL, DEFAULT_HOURS, [5] * 3, 10_000) is None
    assert lp_days(np.array([100.0]), MODEL, DEFAULT_HOURS, [5] * 3, 0) == 0


def test_the_bound_per_home_area_uses_the_areas_own_kelurahan_and_stations():
    places = kelurahan_of_city("33.72")
    targets = [KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 9000, 8000) for p in places[:4]]
    targets += [KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 9000, 8500) for p in places[-4:]]
    homes = {"a": places[0].kecamatan_code, "b": places[0].kecamatan_code, "c": places[-1].kecamatan_code}
    plan = plan_backlog(targets, ["a", "b", "c"], START, homes=homes)
    result = simulate(plan)
    recorded = station_recorded(result.visits)
    whole = plan_bound(plan, recorded, max_days=result.days + 3)
    west = plan_bound(plan, recorded, area=places[0].kecamatan_code, max_days=result.days + 3)
    assert west.stations == 2 and west.target < whole.target
    assert whole.days <= result.days
    with pytest.raises(BoundError, match="no station has home area"):
        plan_bound(plan, recorded, area="33.72.03", max_days=5)

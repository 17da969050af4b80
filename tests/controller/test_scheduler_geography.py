"""Geography: how far a move goes, home areas, which station takes which slot."""

from __future__ import annotations

import pytest

from controller.scheduler import KelurahanTarget, PlanningError
from controller.scheduler.geography import check_homes, km, place, travel_level

A, A2, B, C, D = "33.72.01.1001", "33.72.01.1002", "33.72.02.1001", "33.71.01.1001", "32.73.01.1001"


def test_travel_follows_the_administrative_hierarchy():
    assert [travel_level(A, x) for x in (A, A2, B, C, D)] == [0, 1, 2, 3, 4]


def test_distance_from_coordinates_when_both_have_them():
    solo = KelurahanTarget(A, "Pajang", "33.72.01", "Laweyan", 10, 5, lat=-7.566, lon=110.79)
    semarang = KelurahanTarget(D, "x", "32.73.01", "y", 10, 5, lat=-6.99, lon=110.42)
    assert 70 < km(solo, semarang) < 85
    assert km(solo, KelurahanTarget(B, "x", "33.72.02", "y", 10, 5)) is None


def test_placement_keeps_stations_where_they_are_then_goes_near():
    codes = [A, A2, B]
    slots = {0: 1, 1: 1, 2: 1}
    here = {"s1": 0, "s2": 0, "s3": 2}
    placed = place(slots, ["s1", "s2", "s3"], here, codes)
    assert placed == {"s1": 0, "s3": 2, "s2": 1}  # s2 moves within its kecamatan, not across
    assert place(slots, ["s1"], {}, codes, {"s1": 2}) == {"s1": 2}  # an earlier plan's choice next


def test_home_areas_are_checked_and_normalised():
    targets = [KelurahanTarget(A, "Pajang", "33.72.01", "Laweyan", 10, 5)]
    assert check_homes({"s1": "3372", "s2": "33.72.01", "s3": ""}, ["s1", "s2", "s3"], targets) == {
        "s1": "33.72", "s2": "33.72.01"}
    with pytest.raises(PlanningError, match="s1.*kabupaten/kota or kecamatan"):
        check_homes({"s1": "33"}, ["s1"], targets)
    with pytest.raises(PlanningError, match="33.71 of station s1 has no kelurahan"):
        check_homes({"s1": "33.71"}, ["s1"], targets)

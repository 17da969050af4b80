"""Coverage and residue: days to 90/95/98%, what is left per kelurahan, office days, the deadline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from controller.scheduler import KelurahanTarget, plan_backlog, simulate
from controller.scheduler.coverage import coverage
from protocol.regions import kelurahan_of_city

START = date(2024, 7, 1)


def targets():
    places = kelurahan_of_city("33.72")[:6]
    return [KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 10_000, 9_400, first_voters=100,
                            home_bound=30) for p in places]


def test_days_to_each_level_and_the_residue_add_up():
    plan = plan_backlog(targets(), ["A", "B"], START, deadline=START + timedelta(days=5))
    result = simulate(plan)
    cov = coverage(result)
    assert cov.wajib == 60_000 and cov.recorded_before == 56_400
    assert cov.days_to[0.90] == 0  # 94% at the start
    assert cov.days_to[0.95] is not None and cov.days_to[0.95] <= result.days
    assert cov.days_to[0.98] is None  # reach 0.76: stations never get there
    left = sum(r.office + r.home for r in cov.residue)
    assert left == pytest.approx(3_600 - result.recorded)
    assert sum(cov.office_days.values()) == pytest.approx(sum(r.office for r in cov.residue) / 25)
    assert cov.final == pytest.approx((56_400 + result.recorded) / 60_000)


def test_figures_at_the_deadline_count_only_what_came_before_it():
    deadline = START + timedelta(days=3)
    result = simulate(plan_backlog(targets(), ["A", "B"], START, deadline=deadline))
    cov = coverage(result)
    assert cov.recorded_by_deadline == pytest.approx(sum(v.recorded for v in result.visits if v.date <= deadline))
    assert cov.recorded_by_deadline < cov.recorded
    assert cov.first_voters == 600 and 0 < cov.first_voters_left_at_deadline < 600
    assert cov.home_bound == 180 and cov.home_bound_left_at_deadline <= 180

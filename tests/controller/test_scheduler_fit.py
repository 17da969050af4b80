"""The fit: the model reproduces Solo's first-pass facts, and the defaults are what the fit finds."""

from __future__ import annotations

import pytest

from controller.scheduler import FITTED, solo_2013_targets
from controller.scheduler.fit import facts, fit, practised_rotation


def test_the_fitted_model_reproduces_the_first_pass_facts_within_15_percent():
    found = facts(solo_2013_targets())
    numeric = [f for f in found if f.error is not None]
    assert {f.name for f in numeric} >= {"kelurahan served by 25 Oct", "recorded a day, 5 kelurahan x 2 stations",
                                         "best kelurahan day (Pajang, 2 stations)"}
    assert all(f.within for f in numeric), [(f.name, f.field, f.model) for f in numeric]
    deadline = next(f for f in found if "deadline" in f.name)
    assert deadline.role == "held out" and str(deadline.model).startswith("yes, ")  # "yes, 29 days to spare (...)"
    assert {f.role for f in numeric if f.name in ("kelurahan served by 25 Oct", "best kelurahan day (Pajang, 2 stations)")} \
        == {"fitted"}


def test_the_defaults_are_what_the_fit_finds():
    params, loss = fit(solo_2013_targets())
    assert loss < 0.01
    assert params.per_station_hour == pytest.approx(FITTED.per_station_hour)
    assert params.reach == pytest.approx(FITTED.reach, abs=0.011)
    assert params.daily_share == pytest.approx(FITTED.daily_share, abs=0.011)


def test_the_facts_move_when_the_parameters_do():
    """A fit that any parameters would pass proves nothing: halve the reach and the pace changes."""
    targets = solo_2013_targets()
    base = practised_rotation(targets, FITTED)
    low = practised_rotation(targets, FITTED.scaled("reach", 0.5))
    assert low.daily_mean < 0.8 * base.daily_mean
    assert low.served_by_report > base.served_by_report

"""Pad calibration: raw window -> logical area, the model table, config overrides."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DriverConfigError
from drivers.signature.calibration import KNOWN_MODELS, Calibration, resolve_model

ONE_BY_FIVE = Calibration(x_min=400, x_max=2400, y_min=350, y_max=1050, width=2000, height=700)


def test_window_corners_map_to_the_logical_corners() -> None:
    assert ONE_BY_FIVE.to_logical(400, 350) == (0.0, 0.0)
    assert ONE_BY_FIVE.to_logical(2400, 1050) == (2000.0, 700.0)
    assert ONE_BY_FIVE.to_logical(1400, 700) == (1000.0, 350.0)


def test_outside_the_window_is_clamped_to_its_edge() -> None:
    assert ONE_BY_FIVE.to_logical(0, 4095) == (0.0, 700.0)


def test_flips_mirror_each_axis() -> None:
    flipped = Calibration(400, 2400, 350, 1050, 2000, 700, flip_x=True, flip_y=True)
    assert flipped.to_logical(400, 350) == (2000.0, 700.0)
    assert flipped.to_raw(2000.0, 700.0) == (400, 350)


@given(st.floats(0, 2000), st.floats(0, 700), st.booleans(), st.booleans())
def test_to_raw_inverts_to_logical_within_one_count(x: float, y: float, fx: bool, fy: bool) -> None:
    cal = Calibration(400, 2400, 350, 1050, 2000, 700, flip_x=fx, flip_y=fy)
    back = cal.to_logical(*cal.to_raw(x, y))
    assert abs(back[0] - x) <= 0.5 + 1e-9 and abs(back[1] - y) <= 0.5 + 1e-9


def test_invalid_window_is_refused() -> None:
    with pytest.raises(ValueError):
        Calibration(2400, 400, 350, 1050, 2000, 700)
    with pytest.raises(ValueError):
        Calibration(400, 2400, 350, 1050, 0, 700)


def test_known_model_and_partial_override() -> None:
    model = resolve_model("T-LBK462", None, device="signature topaz")
    assert model.calibration == ONE_BY_FIVE and (model.baud, model.framing) == (19200, "8O1")
    tuned = resolve_model("T-LBK462", {"x_min": 420, "flip_y": True}, device="signature topaz")
    assert tuned.calibration.x_min == 420 and tuned.calibration.flip_y and tuned.calibration.x_max == 2400
    assert "T-LBK755" in KNOWN_MODELS


def test_unknown_model_needs_a_full_calibration() -> None:
    with pytest.raises(DriverConfigError, match="unknown pad model 'X-1'.*T-LBK462"):
        resolve_model("X-1", None, device="signature topaz")
    with pytest.raises(DriverConfigError, match="missing .*x_max"):
        resolve_model("X-1", {"x_min": 0}, device="signature topaz")
    full = {"x_min": 0, "x_max": 4095, "y_min": 0, "y_max": 1023, "width": 4000, "height": 1000}
    assert resolve_model("X-1", full, device="signature topaz").calibration.extent == (4000, 1000)


def test_bad_calibration_values_name_the_field_and_the_device() -> None:
    with pytest.raises(DriverConfigError, match=r"signature topaz: calibration.x_min must be int"):
        resolve_model("T-LBK462", {"x_min": "400"}, device="signature topaz")
    with pytest.raises(DriverConfigError, match="unknown key.*x_start"):
        resolve_model("T-LBK462", {"x_start": 400}, device="signature topaz")
    with pytest.raises(DriverConfigError, match="min < max"):
        resolve_model("T-LBK462", {"x_min": 3000}, device="signature topaz")

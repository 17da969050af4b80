"""Thresholds from the config's [quality.*] tables: defaults, overrides, and errors that name the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import pytest

from station import config
from station.errors import ConfigError
from station.quality import (
    FaceThresholds,
    FingerThresholds,
    QualityThresholds,
    SignatureThresholds,
    thresholds_from_config,
)

TOML = """
[station]
id = "st-07"

[devices.camera]
driver = "emulated"
[devices.fingerprint]
driver = "zhiantec-emulated"
[devices.signature]
driver = "topaz-emulated"
[devices.indicators]
driver = "emulated"

[quality]
retries = 4

[quality.face]
min_sharpness = 12
max_centre_offset_x = 0.1

[quality.finger]
min_contrast = 55.5

[quality.signature]
min_points = 100
max_jitter = 2.5
"""


def test_an_empty_table_gives_the_defaults() -> None:
    assert thresholds_from_config({}) == QualityThresholds()
    assert thresholds_from_config({"retries": 3}) == QualityThresholds()  # the workflow's key is left alone


def test_values_from_toml_override_only_what_they_name() -> None:
    q = thresholds_from_config(tomllib.loads(TOML)["quality"])
    assert q.face == msgspec.structs.replace(FaceThresholds(), min_sharpness=12.0, max_centre_offset_x=0.1)
    assert q.finger == msgspec.structs.replace(FingerThresholds(), min_contrast=55.5)
    assert q.signature == msgspec.structs.replace(SignatureThresholds(), min_points=100, max_jitter=2.5)
    assert isinstance(q.face.min_sharpness, float) and isinstance(q.signature.min_points, int)


def test_the_station_config_quality_table_feeds_the_thresholds(tmp_path: Path) -> None:
    cfg = config.parse(TOML, base_dir=tmp_path)
    q = cfg.quality  # decoded as the config loads: the runtime takes it as it is
    assert cfg.retries == 4 and q.face.min_sharpness == 12.0 and q.signature.min_points == 100


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"face": {"min_sharpness": -1}}, "quality.face.min_sharpness must be a number >= 0"),
        ({"face": {"min_sharpness": "high"}}, "quality.face.min_sharpness must be a number >= 0"),
        ({"face": {"min_sharpness": True}}, "quality.face.min_sharpness must be a number >= 0"),
        ({"face": {"min_sharpness": float("nan")}}, "quality.face.min_sharpness must be a number >= 0"),
        ({"face": {"max_clipped_fraction": 1.5}}, "quality.face.max_clipped_fraction must be a number 0-1"),
        ({"finger": {"min_contrast": 300}}, "quality.finger.min_contrast must be a number 0-255"),
        ({"signature": {"min_points": 2.5}}, "quality.signature.min_points must be an integer >= 0"),
        ({"signature": {"min_direction_changes": -3}}, "quality.signature.min_direction_changes must be an integer >= 0"),
        ({"finger": {"min_contrst": 50}}, "quality.finger has unknown entries ['min_contrst']"),
        ({"face": 7}, "quality.face must be a table"),
    ],
)
def test_a_bad_value_names_the_field(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        thresholds_from_config(table)
    assert message in str(info.value)
    assert info.value.reason_id == "config_error"


def test_a_bad_value_from_a_toml_file_names_the_field() -> None:
    raw = tomllib.loads('[quality.face]\nmin_sharpness = "sharp"\n')
    with pytest.raises(ConfigError, match=r'quality\.face\.min_sharpness must be a number >= 0, got \'sharp\''):
        thresholds_from_config(raw["quality"])


def test_every_default_is_inside_its_own_allowed_range() -> None:
    """Round trip: writing out every default and reading it back is accepted unchanged."""
    defaults = QualityThresholds()
    table = msgspec.to_builtins(defaults)
    assert thresholds_from_config(table) == defaults


def test_thresholds_are_frozen() -> None:
    with pytest.raises(AttributeError):
        FaceThresholds().min_sharpness = 0.0  # type: ignore[misc]

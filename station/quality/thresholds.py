"""Quality thresholds: what each gate accepts, and reading them from the config.

Owns the three threshold dataclasses and :func:`thresholds_from_config`,
which reads the station config's ``[quality.face]``, ``[quality.finger]`` and
``[quality.signature]`` tables. Rules:

* Defaults are the values that separate good captures from bad ones on the
  synthetic panel with room on both sides, and hold on the real photographs
  of the real-image tests (see the gate tests and ``bench/quality_gates.py``);
  a station overrides only what it must.
* Every field is validated: a wrong value raises
  :class:`~station.errors.ConfigError` naming the dotted field and the
  expected form, e.g. ``quality.face.min_sharpness must be a number >= 0``.
  Unknown fields are errors too (a typo must not silently keep a default).
* Other keys of ``[quality]`` (``retries``) belong to the workflow and are left alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from station.errors import ConfigError


def _limit(default: float, lo: float = 0.0, hi: float | None = None, *, integer: bool = False) -> Any:
    """A field with its allowed range (read by :func:`thresholds_from_config`)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "integer": integer})


@dataclass(frozen=True)
class FaceThresholds:
    """What the face gate accepts; shares are of the frame, measured at a 240 px working width."""

    #: Mean luma (0..255) of the working image below this: underexposed.
    min_mean_luma: float = _limit(45.0, 0.0, 255.0)
    #: Share of pixels with a channel at 250+ above this: overexposed.
    max_clipped_fraction: float = _limit(0.10, 0.0, 1.0)
    #: A second face box of at least this share of the frame: multiple_faces.
    max_second_face_area: float = _limit(0.012, 0.0, 1.0)
    #: The detector's face box at least this wide, as a share of the frame width.
    min_face_width: float = _limit(0.3, 0.0, 1.0)
    #: The face box centre at most this far from the centre line (share of the width).
    max_centre_offset_x: float = _limit(0.12, 0.0, 1.0)
    #: ...and at most this far from 0.45 of the height (share of the height).
    max_centre_offset_y: float = _limit(0.15, 0.0, 1.0)
    #: Laplacian energy in the face box relative to its brightness (x1000) at least this.
    min_sharpness: float = _limit(8.0, 0.0)
    #: The line through the eyes at most this many degrees off level (ICAO allows
    #: 8 degrees of roll; the eye cascade's boxes add a few degrees of noise).
    max_eye_roll: float = _limit(10.0, 0.0, 90.0)
    #: The eyes' midpoint at most this far from the face box's centre line (share of
    #: the box width): further, the head is turned.
    max_eye_offset: float = _limit(0.12, 0.0, 1.0)
    #: Share of the top-corner pixels that must be the expected backdrop colour.
    min_background_fraction: float = _limit(0.6, 0.0, 1.0)


@dataclass(frozen=True)
class FingerThresholds:
    """What the finger gate accepts; shares are of the sensor area, grey levels 0..255."""

    #: Below this covered share of the sensor there is no finger at all.
    min_presence_fraction: float = _limit(0.05, 0.0, 1.0)
    #: Share of the sensor the finger must cover...
    min_area_fraction: float = _limit(0.45, 0.0, 1.0)
    #: ...and its largest contiguous region (one-block gaps closed).
    min_contiguous_fraction: float = _limit(0.35, 0.0, 1.0)
    #: Valley minus ridge grey level (median over the finger) at least this.
    min_contrast: float = _limit(60.0, 0.0, 255.0)
    #: Valleys at most this far below the bare glass (share of its level): else ridges ran together.
    max_valley_fill: float = _limit(0.25, 0.0, 1.0)
    #: Share of finger windows holding a clean ridge pattern (coherent, one spectral
    #: peak at a ridge period, across the ridges) at least this: else no_ridges.
    min_ridge_fraction: float = _limit(0.5, 0.0, 1.0)
    #: Ridge period's interquartile range over its median, across ridge windows, at most this.
    max_ridge_period_spread: float = _limit(0.5, 0.0)
    #: Mean cos(2 x angle difference) of neighbouring ridge windows at least this (smooth flow).
    min_orientation_flow: float = _limit(0.4, -1.0, 1.0)
    #: Mean orientation coherence of the finger blocks at least this.
    min_coherence: float = _limit(0.65, 0.0, 1.0)
    #: Mean share of spectral energy at a plausible ridge period at least this.
    min_ridge_energy: float = _limit(0.5, 0.0, 1.0)


@dataclass(frozen=True)
class SignatureThresholds:
    """What the signature gate accepts; lengths are relative to the pad's logical width."""

    #: Pen-down path at least this many widths of the pad's logical extent.
    min_path_length: float = _limit(0.3, 0.0)
    #: At least this many pen-down samples.
    min_points: int = _limit(80, 0, integer=True)
    #: Reversals of x or y motion along the strokes, at least this many.
    min_direction_changes: int = _limit(4, 0, integer=True)
    #: RMS third difference of pen positions (per mille of the pad width) at most this.
    max_jitter: float = _limit(2.0, 0.0)


@dataclass(frozen=True)
class QualityThresholds:
    """The three gates' thresholds, as the workflow carries them."""

    face: FaceThresholds = field(default_factory=FaceThresholds)
    finger: FingerThresholds = field(default_factory=FingerThresholds)
    signature: SignatureThresholds = field(default_factory=SignatureThresholds)


_TABLES = {"face": FaceThresholds, "finger": FingerThresholds, "signature": SignatureThresholds}


def thresholds_from_config(quality: Mapping[str, Any]) -> QualityThresholds:
    """Thresholds from the config's ``[quality]`` table; missing fields keep their defaults."""
    if not isinstance(quality, Mapping):
        raise ConfigError(f"quality must be a table, got {type(quality).__name__}")
    parts = {}
    for name, cls in _TABLES.items():
        table = quality.get(name, {})
        key = f"quality.{name}"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{key} must be a table, got {table!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(table) - set(fields))
        if unknown:
            raise ConfigError(f"{key} has unknown entries {unknown}; expected some of {sorted(fields)}")
        values = {name_: _value(f"{key}.{name_}", table[name_], fields[name_].metadata) for name_ in table}
        parts[name] = cls(**values)
    return QualityThresholds(**parts)


def _value(key: str, v: Any, meta: Mapping[str, Any]) -> float | int:
    lo, hi, integer = meta["lo"], meta["hi"], meta["integer"]
    form = f"{'an integer' if integer else 'a number'} {_range(lo, hi)}"
    ok_type = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok_type or (isinstance(v, float) and not math.isfinite(v)):
        raise ConfigError(f"{key} must be {form}, got {v!r}")
    if v < lo or (hi is not None and v > hi):
        raise ConfigError(f"{key} must be {form}, got {v!r}")
    return int(v) if integer else float(v)


def _range(lo: float, hi: float | None) -> str:
    if hi is None:
        return f">= {lo:g}"
    return f"{lo:g}-{hi:g}"

"""Quality thresholds: what each gate accepts, and reading them from the config.

Owns the three threshold models (msgspec Structs: the station config's
``[quality.face]``, ``[quality.finger]`` and ``[quality.signature]`` tables are
decoded into them when the config loads) and :func:`thresholds_from_config`
for a bare ``[quality]`` table. Rules:

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

from typing import Annotated, Any, Mapping

import msgspec
from msgspec import Meta

from adapters import configfile
from station.errors import ConfigError

Share = Annotated[float, Meta(ge=0.0, le=1.0)]
Positive = Annotated[float, Meta(ge=0.0)]
Count = Annotated[int, Meta(ge=0)]
Luma = Annotated[float, Meta(ge=0.0, le=255.0)]


class FaceThresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the face gate accepts; shares are of the frame, measured at a 240 px working width."""

    #: Mean luma (0..255) of the working image below this: underexposed.
    min_mean_luma: Luma = 45.0
    #: Share of pixels with a channel at 250+ above this: overexposed.
    max_clipped_fraction: Share = 0.10
    #: A second face box of at least this share of the frame: multiple_faces.
    max_second_face_area: Share = 0.012
    #: The detector's face box at least this wide, as a share of the frame width.
    min_face_width: Share = 0.3
    #: The face box centre at most this far from the centre line (share of the width).
    max_centre_offset_x: Share = 0.12
    #: ...and at most this far from 0.45 of the height (share of the height).
    max_centre_offset_y: Share = 0.15
    #: Laplacian energy in the face box relative to its brightness (x1000) at least this.
    min_sharpness: Positive = 8.0
    #: The line through the eyes at most this many degrees off level (ICAO allows
    #: 8 degrees of roll; the eye cascade's boxes add a few degrees of noise).
    max_eye_roll: Annotated[float, Meta(ge=0.0, le=90.0)] = 10.0
    #: The eyes' midpoint at most this far from the face box's centre line (share of
    #: the box width): further, the head is turned.
    max_eye_offset: Share = 0.12
    #: Share of the top-corner pixels that must be the expected backdrop colour.
    min_background_fraction: Share = 0.6


class FingerThresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the finger gate accepts; shares are of the sensor area, grey levels 0..255."""

    #: Below this covered share of the sensor there is no finger at all.
    min_presence_fraction: Share = 0.05
    #: Share of the sensor the finger must cover...
    min_area_fraction: Share = 0.45
    #: ...and its largest contiguous region (one-block gaps closed).
    min_contiguous_fraction: Share = 0.35
    #: Valley minus ridge grey level (median over the finger) at least this.
    min_contrast: Luma = 60.0
    #: Valleys at most this far below the bare glass (share of its level): else ridges ran together.
    max_valley_fill: Share = 0.25
    #: Share of finger windows holding a clean ridge pattern (coherent, one spectral
    #: peak at a ridge period, across the ridges) at least this: else no_ridges.
    min_ridge_fraction: Share = 0.5
    #: Ridge period's interquartile range over its median, across ridge windows, at most this.
    max_ridge_period_spread: Positive = 0.5
    #: Mean cos(2 x angle difference) of neighbouring ridge windows at least this (smooth flow).
    min_orientation_flow: Annotated[float, Meta(ge=-1.0, le=1.0)] = 0.4
    #: Mean orientation coherence of the finger blocks at least this.
    min_coherence: Share = 0.65
    #: Mean share of spectral energy at a plausible ridge period at least this.
    min_ridge_energy: Share = 0.5


class SignatureThresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the signature gate accepts; lengths are relative to the pad's logical width."""

    #: Pen-down path at least this many widths of the pad's logical extent.
    min_path_length: Positive = 0.3
    #: At least this many pen-down samples.
    min_points: Count = 80
    #: Reversals of x or y motion along the strokes, at least this many.
    min_direction_changes: Count = 4
    #: RMS third difference of pen positions (per mille of the pad width) at most this.
    max_jitter: Positive = 2.0


class QualityThresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The three gates' thresholds, as the workflow carries them."""

    face: FaceThresholds = FaceThresholds()
    finger: FingerThresholds = FingerThresholds()
    signature: SignatureThresholds = SignatureThresholds()


def thresholds_from_config(quality: Mapping[str, Any]) -> QualityThresholds:
    """Thresholds from a ``[quality]`` table; missing fields keep their defaults, ``retries`` is the workflow's."""
    if not isinstance(quality, Mapping):
        raise ConfigError(f"quality must be a table, got {type(quality).__name__}")
    tables = {k: v for k, v in quality.items() if k != "retries"}
    return configfile.convert(tables, QualityThresholds, error=ConfigError, prefix="quality")

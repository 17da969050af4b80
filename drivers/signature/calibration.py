"""What a Topaz pad model is: its coordinate calibration and its line settings.

A serial pad reports raw digitiser counts; only part of that range is the
active (inkable) area. A :class:`Calibration` maps the raw window
``[x_min, x_max] x [y_min, y_max]`` onto a logical area of ``width x height``
units (SigPlus calls these TabletXStart/XStop/YStart/YStop and
TabletLogicalXSize/YSize), optionally flipping an axis for pads mounted the
other way round. Logical y grows downwards, as on paper and in images.

Rules:
- ``to_logical`` clamps into the logical area: a pen outside the active window
  is drawn on its edge, never outside the image.
- ``to_raw`` is the inverse (the simulator uses it to produce raw counts).
- The model table holds only values found in public sources (SigPlus sample
  code defaults for the window, an open-source Topaz reader for the line
  settings); anything else is given in the station config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from drivers.errors import DriverConfigError


@dataclass(frozen=True)
class Calibration:
    """Raw pad window -> logical coordinates."""

    x_min: int
    x_max: int
    y_min: int
    y_max: int
    width: int
    height: int
    flip_x: bool = False
    flip_y: bool = False

    def __post_init__(self) -> None:
        if not self.x_min < self.x_max or not self.y_min < self.y_max:
            raise ValueError(
                f"calibration window must have min < max on both axes, got "
                f"x {self.x_min}..{self.x_max}, y {self.y_min}..{self.y_max}"
            )
        if self.x_min < 0 or self.y_min < 0:
            raise ValueError("calibration window starts below raw 0")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"logical extent must be positive, got {self.width}x{self.height}")

    @property
    def extent(self) -> tuple[int, int]:
        return (self.width, self.height)

    def to_logical(self, x_raw: int, y_raw: int) -> tuple[float, float]:
        """Raw counts -> logical units, clamped into the logical area."""
        fx = (x_raw - self.x_min) / (self.x_max - self.x_min)
        fy = (y_raw - self.y_min) / (self.y_max - self.y_min)
        fx = min(1.0, max(0.0, fx))
        fy = min(1.0, max(0.0, fy))
        if self.flip_x:
            fx = 1.0 - fx
        if self.flip_y:
            fy = 1.0 - fy
        return (fx * self.width, fy * self.height)

    def to_raw(self, x: float, y: float) -> tuple[int, int]:
        """Logical units -> the raw counts a pad would report there."""
        fx = min(1.0, max(0.0, x / self.width))
        fy = min(1.0, max(0.0, y / self.height))
        return self.normalised_to_raw(fx, fy)

    def normalised_to_raw(self, fx: float, fy: float) -> tuple[int, int]:
        """Fractions of the active area (0..1, y down) -> raw counts."""
        fx = min(1.0, max(0.0, fx))
        fy = min(1.0, max(0.0, fy))
        if self.flip_x:
            fx = 1.0 - fx
        if self.flip_y:
            fy = 1.0 - fy
        return (
            round(self.x_min + fx * (self.x_max - self.x_min)),
            round(self.y_min + fy * (self.y_max - self.y_min)),
        )

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], *, base: "Calibration | None" = None, device: str
    ) -> "Calibration":
        """Build from a config table; keys left out come from ``base`` (the model's)."""
        if not isinstance(options, Mapping):
            raise DriverConfigError(
                f"option 'calibration' must be a table, got {type(options).__name__}", device=device
            )
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - set(fields))
        if unknown:
            raise DriverConfigError(
                f"calibration has unknown key(s) {', '.join(unknown)}; known: {', '.join(fields)}",
                device=device,
            )
        values: dict[str, Any] = dataclasses.asdict(base) if base is not None else {}
        for key, value in options.items():
            want = bool if key.startswith("flip_") else int
            if not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise DriverConfigError(
                    f"calibration.{key} must be {want.__name__}, got {type(value).__name__} {value!r}",
                    device=device,
                )
            values[key] = value
        missing = [name for name, f in fields.items() if name not in values and f.default is dataclasses.MISSING]
        if missing:
            raise DriverConfigError(
                f"calibration is missing {', '.join(missing)} (no known model to take them from)",
                device=device,
            )
        try:
            return cls(**values)
        except ValueError as exc:
            raise DriverConfigError(f"calibration is invalid: {exc}", device=device) from exc


@dataclass(frozen=True)
class PadModel:
    """A known pad: what it is called, where its ink lands, how its line is set."""

    name: str
    description: str
    calibration: Calibration
    baud: int = 19200
    framing: str = "8O1"
    #: Significant bits of each coordinate in a report (12 on the pads we know).
    bits: int = 12


#: Models whose window is published in Topaz's SigPlus sample code. The
#: SignatureGem LCD 1x5 (T-L462) is left out on purpose: it is documented as
#: running 7O1, where the report's sync bit (bit 7) cannot exist.
KNOWN_MODELS: Mapping[str, PadModel] = MappingProxyType(
    {
        "T-LBK462": PadModel(
            name="T-LBK462",
            description="SigLite LCD 1x5",
            calibration=Calibration(x_min=400, x_max=2400, y_min=350, y_max=1050, width=2000, height=700),
        ),
        "T-LBK755": PadModel(
            name="T-LBK755",
            description="SignatureGem LCD 4x3",
            calibration=Calibration(x_min=500, x_max=2650, y_min=400, y_max=2100, width=2150, height=1700),
        ),
    }
)

DEFAULT_MODEL = "T-LBK462"


def resolve_model(name: str, calibration: Mapping[str, Any] | None, *, device: str) -> PadModel:
    """The model named in config, with a configured calibration laid over it.

    An unknown model name is fine when the config gives a full calibration
    (a pad we have no table entry for); otherwise it is a config error.
    """
    known = KNOWN_MODELS.get(name)
    if known is None and calibration is None:
        raise DriverConfigError(
            f"unknown pad model {name!r}; known: {', '.join(KNOWN_MODELS)} "
            f"(or give a full 'calibration' table)",
            device=device,
        )
    if calibration is None:
        assert known is not None
        return known
    cal = Calibration.from_options(calibration, base=known.calibration if known else None, device=device)
    if known is not None:
        return dataclasses.replace(known, calibration=cal)
    return PadModel(name=name, description="configured pad", calibration=cal)

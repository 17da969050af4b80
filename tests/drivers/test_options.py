"""parse_options: driver options through a msgspec Struct, errors in the config's words."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pytest

from drivers.errors import DriverConfigError
from drivers.registry import parse_options

DEVICE = "fingerprint example"


class Pins(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    green: Annotated[int, msgspec.Meta(ge=0, description="a BCM GPIO number")] = 17
    red: Annotated[int, msgspec.Meta(ge=0, description="a BCM GPIO number")] = 22


class Example(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    port: str
    baud: Literal[9600, 57600] = 57600
    timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    retries: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    password: Annotated[int, msgspec.Meta(ge=0, le=0xFFFFFFFF, extra={"secret": True})] = 0
    model: Literal["R307", "R503"] | None = None
    size: Annotated[tuple[int, int], msgspec.Meta(description="[width, height] in pixels")] | None = (256, 288)
    pace: bool = False
    pins: Pins = msgspec.field(default_factory=Pins)


def test_defaults_fill_what_is_left_out_and_ints_are_numbers() -> None:
    o = parse_options(Example, {"port": "/dev/ttyUSB0", "timeout": 2, "size": [192, 192], "pins": {"red": 4}}, device=DEVICE)
    assert o == Example(port="/dev/ttyUSB0", timeout=2.0, size=(192, 192), pins=Pins(red=4))
    assert isinstance(o.timeout, float)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "option 'port' is required"),
        ({"port": 7}, "option 'port' must be a string, got 7"),
        ({"port": "p", "baud": "fast"}, "option 'baud' must be one of 9600, 57600, got 'fast'"),
        ({"port": "p", "baud": 19200}, "option 'baud' must be one of 9600, 57600, got 19200"),
        ({"port": "p", "timeout": 0}, "option 'timeout' must be a number > 0 and <= 60, got 0"),
        ({"port": "p", "timeout": True}, "option 'timeout' must be a number > 0 and <= 60, got true"),
        ({"port": "p", "retries": 11}, "option 'retries' must be an integer 1-10, got 11"),
        ({"port": "p", "retries": 2.5}, "option 'retries' must be an integer 1-10, got 2.5"),
        ({"port": "p", "model": "R999"}, "option 'model' must be one of 'R307', 'R503', got 'R999'"),
        ({"port": "p", "size": [256]}, r"option 'size' must be \[width, height\] in pixels, got \[256\]"),
        ({"port": "p", "size": "256x288"}, r"option 'size' must be \[width, height\] in pixels, got '256x288'"),
        ({"port": "p", "pace": 1}, "option 'pace' must be true or false, got 1"),
        ({"port": "p", "pins": 5}, "option 'pins' must be a table, got 5"),
        ({"port": "p", "pins": {"green": "17"}}, "option 'pins.green' must be a BCM GPIO number, got '17'"),
        ({"port": "p", "pins": {"blue": 4}}, "option 'pins' has unknown key 'blue'; known: green, red"),
        ({"port": "p", "bad": 1}, "unknown option 'bad'; known: baud, model, pace, password, pins, port, retries, size, timeout"),
        ({"port": "p", "zz": 1, "aa": 2}, "unknown options 'aa', 'zz'; known: baud,"),
    ],
)
def test_each_mistake_names_the_option_the_form_and_the_value(options: dict, message: str) -> None:
    with pytest.raises(DriverConfigError, match=message) as err:
        parse_options(Example, options, device=DEVICE)
    assert str(err.value).startswith(f"{DEVICE}: ")
    assert err.value.reason_id == "driver_config"
    assert err.value.__cause__ is None  # msgspec's error is mapped here, not chained into logs


def test_a_secret_option_never_shows_its_value() -> None:
    with pytest.raises(DriverConfigError, match="option 'password' must be an integer 0-4294967295") as err:
        parse_options(Example, {"port": "p", "password": "open sesame"}, device=DEVICE)
    assert "sesame" not in str(err.value)

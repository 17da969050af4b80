"""The station's LEDs, buzzer and buttons over gpiozero.

Green, amber and red LEDs show a :class:`~drivers.types.StatusLight`; a buzzer
plays :class:`~drivers.types.BeepPattern` (see :mod:`.patterns`); a capture
and a next button call back and wake :meth:`GpioIndicators.wait_for_press`.

Rules:
- The pin factory is an argument (``context.pin_factory``), else the one
  named by the ``pin_factory`` option (gpiozero's own entry points: "lgpio",
  "native", "mock"...), else gpiozero's default (lgpio on a Pi 5). Factories
  the driver made itself it also closes; others belong to the caller.
- gpiozero and backend errors are translated once, in :func:`_gpio_errors`,
  into DeviceErrors whose message names the part and its pin.
- Pins are BCM numbers. Defaults: green 17, amber 27, red 22, buzzer 18
  (PWM0, so a tonal buzzer works too), capture button 5, next button 6.
  Buttons switch to ground with the internal pull-up unless ``pull_up`` is
  false; LEDs and buzzer are active-high unless ``active_high`` is false.
- ``close()`` stops the beeper, closes every gpiozero device, wakes anyone in
  ``wait_for_press`` and is idempotent.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Literal, Mapping

import gpiozero
import msgspec
from gpiozero import LED, TonalBuzzer
from gpiozero import Button as GpioButton
from gpiozero import Buzzer as GpioBuzzer
from gpiozero.exc import BadPinFactory, GPIOPinInUse, GPIOZeroError, PinInvalidPin, PinPWMError
from gpiozero.pins.local import LocalPiFactory
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin
from gpiozero.tones import Tone as GpioTone

from drivers.errors import DeviceBusy, DeviceError, DeviceNotConnected, DriverConfigError
from drivers.indicators.patterns import PATTERNS, BeepPlayer
from drivers.interfaces import Indicators
from drivers.registry import DriverContext, parse_options
from drivers.types import BeepPattern, Button, DeviceIdentity, DeviceKind, StatusLight

log = logging.getLogger(__name__)

_ROLE_NAMES = {
    "green": "green LED",
    "amber": "amber LED",
    "red": "red LED",
    "buzzer": "buzzer",
    "capture": "capture button",
    "next": "next button",
}
_BUTTON_ROLES = {Button.CAPTURE: "capture", Button.NEXT: "next"}
#: Where a Raspberry Pi keeps its board serial number.
_SERIAL_FILES = ("/proc/device-tree/serial-number", "/sys/firmware/devicetree/base/serial-number")


#: A part's pin in the station config.
Gpio = Annotated[int, msgspec.Meta(ge=0, description="a BCM GPIO number (0 or more)")]


class IndicatorPins(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """BCM pin of each part (the ``pins`` table of the options)."""

    green: Gpio = 17
    amber: Gpio = 27
    red: Gpio = 22
    buzzer: Gpio = 18
    capture: Gpio = 5
    next: Gpio = 6

    def check_distinct(self, *, device: str) -> "IndicatorPins":
        """Two parts on one pin would fight over it: refuse, naming both."""
        seen: dict[int, str] = {}
        for role in _ROLE_NAMES:
            pin = getattr(self, role)
            if pin in seen:
                raise DriverConfigError(
                    f"GPIO{pin} is configured for both the {_ROLE_NAMES[seen[pin]]} and the {_ROLE_NAMES[role]}",
                    device=device,
                )
            seen[pin] = role
        return self


class IndicatorOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[devices.indicators] options`` of the ``gpiozero`` and ``emulated`` drivers."""

    pins: IndicatorPins = msgspec.field(default_factory=IndicatorPins)
    #: LEDs and buzzer light/sound on a high pin.
    active_high: bool = True
    #: Buttons switch to ground with the internal pull-up.
    pull_up: bool = True
    #: Seconds; 0 for none.
    bounce_time: Annotated[float, msgspec.Meta(ge=0)] = 0.05
    buzzer: Literal["active", "tonal"] = "active"
    blink_s: Annotated[float, msgspec.Meta(gt=0)] = 0.5
    #: A gpiozero pin factory's entry-point name ("lgpio", "native", "mock"...); None: gpiozero's default.
    pin_factory: str | None = None


class GpioIndicators(Indicators):
    """Status LEDs, a buzzer and two buttons on gpiozero devices."""

    driver_name = "gpiozero"

    def __init__(
        self,
        *,
        pins: IndicatorPins = IndicatorPins(),
        active_high: bool = True,
        pull_up: bool = True,
        bounce_time: float | None = 0.05,
        tonal_buzzer: bool = False,
        blink_s: float = 0.5,
        pin_factory: Any = None,
        pin_factory_name: str | None = None,
        owns_factory: bool = False,
    ) -> None:
        super().__init__()
        self.pins = pins
        self._active_high = active_high
        self._pull_up = pull_up
        self._bounce_time = bounce_time
        self._tonal = tonal_buzzer
        self._blink_s = blink_s
        self._factory = pin_factory
        self._factory_name = pin_factory_name
        self._owns_factory = owns_factory
        self._leds: dict[str, LED] = {}
        self._buzzer: GpioBuzzer | TonalBuzzer | None = None
        self._buttons: dict[Button, GpioButton] = {}
        self._player: BeepPlayer | None = None
        self._callbacks: dict[Button, Callable[[], None]] = {}
        self._presses: deque[tuple[int, Button]] = deque(maxlen=64)
        self._press_count = 0
        self._press_cond = threading.Condition()
        self._closed = False
        self._light = StatusLight.OFF

    @classmethod
    def from_config(cls, options: Mapping[str, Any], context: DriverContext | None = None) -> "GpioIndicators":
        """Build from the station config's ``[devices.indicators]`` options (:class:`IndicatorOptions`)."""
        o, kwargs = _indicator_options(options, f"{DeviceKind.INDICATORS.value} {cls.driver_name}")
        factory = context.pin_factory if context is not None else None
        if factory is None and o.pin_factory is not None:
            return cls(pin_factory_name=o.pin_factory, owns_factory=True, **kwargs)
        return cls(pin_factory=factory, **kwargs)

    # -- lifecycle -----------------------------------------------------------
    def _open(self) -> DeviceIdentity:
        with self._gpio_errors("GPIO pin factory"):
            if self._factory is None:
                if self._factory_name is not None:
                    self._factory = _load_factory(self._factory_name)
                else:
                    gpiozero.Device.ensure_pin_factory()
                    self._factory = gpiozero.Device.pin_factory
        factory = self._factory
        for role in ("green", "amber", "red"):
            with self._part(role) as pin:
                self._leds[role] = LED(pin, active_high=self._active_high, pin_factory=factory)
        with self._part("buzzer") as pin:
            if self._tonal:
                self._buzzer = TonalBuzzer(pin, pin_factory=factory)
            else:
                self._buzzer = GpioBuzzer(pin, active_high=self._active_high, pin_factory=factory)
        for button, role in _BUTTON_ROLES.items():
            with self._part(role) as pin:
                gb = GpioButton(pin, pull_up=self._pull_up, bounce_time=self._bounce_time, pin_factory=factory)
                gb.when_pressed = lambda b=button: self._pressed(b)
                self._buttons[button] = gb
        self._player = BeepPlayer(self._sound, self._silence, name=f"beeper:{self.pins.buzzer}")
        return DeviceIdentity(
            kind=DeviceKind.INDICATORS,
            driver=self.driver_name,
            make="gpiozero",
            model=type(factory).__name__,
            serial=_board_serial(factory),
            firmware=_board_description(factory),
        )

    def _close(self) -> None:
        with self._press_cond:
            self._closed = True
            self._press_cond.notify_all()
        if self._player is not None:
            self._player.close()
        parts: list[tuple[str, Any]] = [(r, d) for r, d in self._leds.items()]
        parts.append(("buzzer", self._buzzer))
        parts += [(_BUTTON_ROLES[b], d) for b, d in self._buttons.items()]
        for role, device in parts:
            if device is None:
                continue
            try:
                with self._part(role):
                    device.close()
            except DeviceError as exc:  # closing must not fail; say what was left
                log.warning("%s", exc)
        self._leds.clear()
        self._buttons.clear()
        self._buzzer = None
        if self._owns_factory and self._factory is not None:
            try:
                with self._gpio_errors("GPIO pin factory"):
                    self._factory.close()
            except DeviceError as exc:
                log.warning("%s", exc)

    def _self_test(self) -> str:
        self.beep(BeepPattern.OK)
        self.show(StatusLight.READY)
        return (
            f"{type(self._factory).__name__}: LEDs on GPIO{self.pins.green}/{self.pins.amber}/{self.pins.red}, "
            f"buzzer GPIO{self.pins.buzzer}, buttons GPIO{self.pins.capture}/{self.pins.next}"
        )

    # -- outputs -------------------------------------------------------------
    @property
    def light(self) -> StatusLight:
        """What the LEDs were last told to show."""
        return self._light

    def show(self, light: StatusLight) -> None:
        self._require_open()
        light = StatusLight(light)
        with self._gpio_errors("status LEDs"):
            for led in self._leds.values():
                led.off()  # also stops a blink
            if light is StatusLight.READY:
                self._leds["green"].on()
            elif light is StatusLight.WORKING:
                self._leds["amber"].on()
            elif light is StatusLight.ATTENTION:
                self._leds["amber"].blink(on_time=self._blink_s, off_time=self._blink_s, background=True)
            elif light is StatusLight.ERROR:
                self._leds["red"].on()
        self._light = light

    def beep(self, pattern: BeepPattern) -> None:
        """Start ``pattern`` and return; a newer beep cuts an older one short."""
        self._require_open()
        assert self._player is not None
        self._player.play(PATTERNS[BeepPattern(pattern)])

    def wait_quiet(self, timeout: float) -> bool:
        """Block until the buzzer has finished its pattern (False at ``timeout``)."""
        self._require_open()
        assert self._player is not None
        return self._player.wait_idle(timeout)

    def _sound(self, note: str) -> None:
        with self._part("buzzer"):
            if isinstance(self._buzzer, TonalBuzzer):
                self._buzzer.play(GpioTone(note))
            elif self._buzzer is not None:
                self._buzzer.on()

    def _silence(self) -> None:
        with self._part("buzzer"):
            if isinstance(self._buzzer, TonalBuzzer):
                self._buzzer.stop()
            elif self._buzzer is not None:
                self._buzzer.off()

    # -- buttons -------------------------------------------------------------
    def when_pressed(self, button: Button, callback: Callable[[], None] | None) -> None:
        button = Button(button)
        if callback is None:
            self._callbacks.pop(button, None)
        else:
            self._callbacks[button] = callback

    def wait_for_press(self, buttons: tuple[Button, ...], timeout: float | None) -> Button | None:
        """The first of ``buttons`` pressed after the call; None at ``timeout`` or on close."""
        self._require_open()
        wanted = {Button(b) for b in buttons}
        with self._press_cond:
            since = self._press_count

            def hit() -> Button | None:
                return next((b for n, b in self._presses if n > since and b in wanted), None)

            self._press_cond.wait_for(lambda: self._closed or hit() is not None, timeout)
            return hit()

    def _pressed(self, button: Button) -> None:
        with self._press_cond:
            self._press_count += 1
            self._presses.append((self._press_count, button))
            self._press_cond.notify_all()
        callback = self._callbacks.get(button)
        if callback is not None:
            try:
                callback()
            except Exception:  # a broken handler must not break the GPIO thread
                log.exception("%s: handler for the %s button failed", self.label, button.value)

    # -- error boundary ------------------------------------------------------
    @contextmanager
    def _part(self, role: str) -> Iterator[int]:
        pin = getattr(self.pins, role)
        with self._gpio_errors(f"{_ROLE_NAMES[role]} on GPIO{pin}"):
            yield pin

    @contextmanager
    def _gpio_errors(self, what: str) -> Iterator[None]:
        """The one place gpiozero and backend errors become DeviceErrors."""
        try:
            yield
        except DeviceError:
            raise
        except BadPinFactory as exc:
            raise DeviceNotConnected(
                f"{what}: no usable GPIO pin factory ({exc}); on a Raspberry Pi 5 install lgpio",
                device=self.label,
            ) from exc
        except ImportError as exc:  # the named backend's library is missing
            raise DeviceNotConnected(
                f"{what}: GPIO backend not installed ({exc}); on a Raspberry Pi 5 install lgpio",
                device=self.label,
            ) from exc
        except PinInvalidPin as exc:
            raise DriverConfigError(f"{what}: no such pin on this board ({exc})", device=self.label) from exc
        except GPIOPinInUse as exc:
            raise DeviceBusy(f"{what}: pin already in use ({exc})", device=self.label) from exc
        except PinPWMError as exc:
            raise DriverConfigError(
                f"{what}: a tonal buzzer needs PWM, which this pin factory does not offer ({exc})",
                device=self.label,
            ) from exc
        except GPIOZeroError as exc:
            raise DeviceError(f"{what}: {exc.__class__.__name__}: {exc}", device=self.label) from exc
        except PermissionError as exc:
            raise DeviceNotConnected(
                f"{what}: permission denied ({exc}); add the station user to group 'gpio'", device=self.label
            ) from exc
        except Exception as exc:  # backend errors (lgpio.error "GPIO busy", OSError...) have no common base
            raise DeviceError(f"{what}: {exc.__class__.__name__}: {exc}", device=self.label) from exc


class EmulatedIndicators(GpioIndicators):
    """The same driver on gpiozero's MockFactory, plus a way to press its buttons."""

    driver_name = "emulated"

    def press(self, button: Button) -> None:
        """Press and release ``button`` as a finger would (drives the mock pin)."""
        self._require_open()
        pin = self._buttons[Button(button)].pin
        if self._pull_up:
            pin.drive_low()
            pin.drive_high()
        else:
            pin.drive_high()
            pin.drive_low()

    def mock_pin(self, role: str) -> MockPin:
        """The mock pin behind a part ("green", "buzzer", "capture"...), for its state history."""
        self._require_open()
        parts: dict[str, Any] = {**self._leds, "buzzer": self._buzzer}
        parts.update({_BUTTON_ROLES[b]: d for b, d in self._buttons.items()})
        if role not in parts:
            raise KeyError(f"no part {role!r}; parts: {', '.join(parts)}")
        device = parts[role]
        return device.pwm_device.pin if isinstance(device, TonalBuzzer) else device.pin


def emulated_indicators(options: Mapping[str, Any], context: DriverContext) -> EmulatedIndicators:
    """The indicators on gpiozero's MockFactory (MockPWMPin when the buzzer is tonal).

    Uses ``context.pin_factory`` when it is a MockFactory, else makes one.
    """
    label = f"{DeviceKind.INDICATORS.value} {EmulatedIndicators.driver_name}"
    _, kwargs = _indicator_options(options, label)
    factory = context.pin_factory
    if isinstance(factory, MockFactory):
        return EmulatedIndicators(pin_factory=factory, **kwargs)
    factory = MockFactory(pin_class=MockPWMPin if kwargs["tonal_buzzer"] else MockPin)
    return EmulatedIndicators(pin_factory=factory, owns_factory=True, **kwargs)


# -- helpers -------------------------------------------------------------------
def _indicator_options(options: Mapping[str, Any], label: str) -> tuple[IndicatorOptions, dict[str, Any]]:
    """The parsed options and the keyword arguments they make for the driver."""
    o = parse_options(IndicatorOptions, options, device=label)
    return o, dict(
        pins=o.pins.check_distinct(device=label),
        active_high=o.active_high,
        pull_up=o.pull_up,
        bounce_time=o.bounce_time or None,
        tonal_buzzer=o.buzzer == "tonal",
        blink_s=o.blink_s,
    )


def _load_factory(name: str) -> Any:
    """A gpiozero pin factory by its entry-point name, as GPIOZERO_PIN_FACTORY does."""
    for ep in metadata.entry_points(group="gpiozero_pin_factories"):
        if ep.name == name.lower():
            return ep.load()()
    known = sorted(ep.name for ep in metadata.entry_points(group="gpiozero_pin_factories"))
    raise BadPinFactory(f"unknown pin factory {name!r}; installed: {', '.join(known)}")


def _board_serial(factory: Any) -> str:
    """The board's serial where the factory can know it: mock, or the Pi it runs on."""
    if isinstance(factory, MockFactory):
        return "mock"
    if isinstance(factory, LocalPiFactory):
        for path in _SERIAL_FILES:
            try:
                return Path(path).read_bytes().rstrip(b"\x00\n").decode("ascii")
            except (OSError, UnicodeDecodeError):
                continue
    return "unknown"


def _board_description(factory: Any) -> str:
    try:
        info = factory.board_info
        board = f"board {info.model} rev {info.revision}"
    except Exception:  # a factory without board info (remote or third-party)
        board = "board unknown"
    return f"gpiozero {metadata.version('gpiozero')}, {board}"

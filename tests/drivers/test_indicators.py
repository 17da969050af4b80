"""GPIO indicators on gpiozero's MockFactory: real gpiozero devices, mock pins."""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterator

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPWMPin

from drivers import registry
from drivers.errors import DeviceBusy, DeviceError, DeviceNotConnected, DriverConfigError
from drivers.indicators.gpio import EmulatedIndicators, GpioIndicators
from drivers.registry import DriverContext
from drivers.types import BeepPattern, Button, DeviceKind, StatusLight


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Check ``predicate`` until it holds; fail at the deadline."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        tick.wait(0.005)


def pulses(states) -> list[tuple[float, float]]:
    """(on duration, off duration after it) of each pulse in a mock pin's history."""
    out = []
    levels = [(s.timestamp, bool(s.state)) for s in states]
    for i in range(1, len(levels)):
        if levels[i][1] and i + 1 < len(levels):
            off_after = levels[i + 2][0] if i + 2 < len(levels) else 0.0
            out.append((levels[i + 1][0], off_after))
    return out


@pytest.fixture
def panel() -> Iterator[EmulatedIndicators]:
    device = registry.create(DeviceKind.INDICATORS, "emulated", {"blink_s": 0.1}, DriverContext())
    assert isinstance(device, EmulatedIndicators)
    device.open()
    yield device
    device.close()


def press_until(panel: EmulatedIndicators, button: Button, done: threading.Thread, timeout: float = 3.0) -> None:
    """Press until the waiting thread has woken (it may not be waiting yet at the first press)."""
    deadline = time.monotonic() + timeout
    while done.is_alive():
        assert time.monotonic() < deadline, "wait_for_press never woke"
        pin = panel.mock_pin("capture" if button is Button.CAPTURE else "next")
        pin.drive_low()
        pin.drive_high()
        done.join(0.02)


def test_pressing_the_mock_pin_reaches_the_callback_and_wakes_the_waiter(panel: EmulatedIndicators) -> None:
    calls: list[str] = []
    panel.when_pressed(Button.CAPTURE, lambda: calls.append("capture"))
    result: list[Button | None] = []
    waiter = threading.Thread(target=lambda: result.append(panel.wait_for_press((Button.CAPTURE,), timeout=5.0)))
    waiter.start()
    press_until(panel, Button.CAPTURE, waiter)
    assert result == [Button.CAPTURE]
    assert calls and set(calls) == {"capture"}


def test_wait_for_press_ignores_buttons_it_was_not_asked_about(panel: EmulatedIndicators) -> None:
    result: list[Button | None] = []
    waiter = threading.Thread(target=lambda: result.append(panel.wait_for_press((Button.NEXT,), timeout=5.0)))
    waiter.start()
    for _ in range(5):
        panel.press(Button.CAPTURE)
        waiter.join(0.02)
    assert waiter.is_alive()
    press_until(panel, Button.NEXT, waiter)
    assert result == [Button.NEXT]


def test_press_helper_and_callback_removal(panel: EmulatedIndicators) -> None:
    calls: list[int] = []
    panel.when_pressed(Button.NEXT, lambda: calls.append(1))
    panel.press(Button.NEXT)
    panel.when_pressed(Button.NEXT, None)
    panel.press(Button.NEXT)
    assert calls == [1]
    assert [s.state for s in panel.mock_pin("next").states][-5:] == [True, False, True, False, True]


def test_a_failing_callback_does_not_stop_the_button(panel: EmulatedIndicators) -> None:
    panel.when_pressed(Button.CAPTURE, lambda: 1 / 0)
    panel.press(Button.CAPTURE)  # logged, not raised into the GPIO thread
    result: list[Button | None] = []
    waiter = threading.Thread(target=lambda: result.append(panel.wait_for_press((Button.CAPTURE,), timeout=5.0)))
    waiter.start()
    press_until(panel, Button.CAPTURE, waiter)
    assert result == [Button.CAPTURE]


def test_wait_for_press_times_out_and_close_wakes_it(panel: EmulatedIndicators) -> None:
    start = time.monotonic()
    assert panel.wait_for_press((Button.CAPTURE, Button.NEXT), timeout=0.15) is None
    assert 0.1 <= time.monotonic() - start < 1.0
    result: list[Button | None] = []
    waiter = threading.Thread(target=lambda: result.append(panel.wait_for_press((Button.NEXT,), timeout=None)))
    waiter.start()
    panel.close()
    waiter.join(2.0)
    assert not waiter.is_alive() and result == [None]


@pytest.mark.parametrize(
    ("light", "lit"),
    [
        (StatusLight.READY, "green"),
        (StatusLight.WORKING, "amber"),
        (StatusLight.ERROR, "red"),
        (StatusLight.OFF, None),
    ],
)
def test_steady_lights_read_back_from_the_pins(panel: EmulatedIndicators, light: StatusLight, lit: str | None) -> None:
    panel.show(StatusLight.ERROR if light is not StatusLight.ERROR else StatusLight.READY)  # start elsewhere
    panel.show(light)
    assert {c: bool(panel.mock_pin(c).state) for c in ("green", "amber", "red")} == {
        c: c == lit for c in ("green", "amber", "red")
    }
    assert panel.light is light


def test_active_low_leds_are_driven_low_to_light() -> None:
    with registry.create(DeviceKind.INDICATORS, "emulated", {"active_high": False}, DriverContext()) as panel:
        panel.show(StatusLight.READY)
        assert panel.mock_pin("green").state == 0 and panel.mock_pin("red").state == 1


def test_attention_blinks_amber_in_the_background(panel: EmulatedIndicators) -> None:
    amber = panel.mock_pin("amber")
    amber.clear_states()
    start = time.monotonic()
    panel.show(StatusLight.ATTENTION)
    assert time.monotonic() - start < 0.1  # did not wait for the blinking
    wait_until(lambda: len(amber.states) >= 6)
    gaps = [s.timestamp for s in amber.states[2:6]]
    assert [bool(s.state) for s in amber.states[:6]] == [False, True, False, True, False, True]
    assert all(abs(g - 0.1) < 0.08 for g in gaps), gaps
    assert not panel.mock_pin("green").state and not panel.mock_pin("red").state

    panel.show(StatusLight.READY)  # stops the blink before returning
    seen = len(amber.states)
    assert not amber.state and panel.mock_pin("green").state
    panel.beep(BeepPattern.DONE)
    assert panel.wait_quiet(3.0)  # ~0.4 s pass: a live blink would toggle four times
    assert len(amber.states) == seen


@pytest.mark.parametrize(
    ("pattern", "on_times"),
    [
        (BeepPattern.OK, [0.08]),
        (BeepPattern.RETRY, [0.08, 0.08]),
        (BeepPattern.ERROR, [0.6]),
        (BeepPattern.DONE, [0.06, 0.09, 0.14]),
    ],
)
def test_beep_patterns_play_on_the_buzzer_without_blocking(
    panel: EmulatedIndicators, pattern: BeepPattern, on_times: list[float]
) -> None:
    buzzer = panel.mock_pin("buzzer")
    buzzer.clear_states()
    panel.beep(pattern)
    assert not panel.wait_quiet(0)  # beep() returned while its pattern still plays: it did not block
    assert panel.wait_quiet(3.0)
    got = pulses(buzzer.states)
    assert len(got) == len(on_times)
    for (on, _), want in zip(got, on_times):
        assert on == pytest.approx(want, abs=0.05)
    assert not buzzer.state


def test_a_new_beep_cuts_the_old_one_short(panel: EmulatedIndicators) -> None:
    buzzer = panel.mock_pin("buzzer")
    buzzer.clear_states()
    panel.beep(BeepPattern.ERROR)
    wait_until(lambda: bool(buzzer.state))
    start = time.monotonic()
    panel.beep(BeepPattern.OK)
    assert panel.wait_quiet(3.0)
    assert time.monotonic() - start < 0.4  # not the 0.6 s of the error tone
    assert len(pulses(buzzer.states)) == 2


def test_tonal_buzzer_plays_on_a_pwm_pin() -> None:
    with registry.create(DeviceKind.INDICATORS, "emulated", {"buzzer": "tonal"}, DriverContext()) as panel:
        pin = panel.mock_pin("buzzer")
        assert isinstance(pin, MockPWMPin)
        panel.beep(BeepPattern.RETRY)
        assert panel.wait_quiet(3.0)
        assert [s.state for s in pin.states][1:] == [0.5, 0.0, 0.5, 0.0]


def test_tonal_buzzer_without_pwm_is_a_config_error() -> None:
    factory = MockFactory()  # plain MockPin: no PWM
    try:
        device = registry.create(DeviceKind.INDICATORS, "gpiozero", {"buzzer": "tonal"}, DriverContext(pin_factory=factory))
        with pytest.raises(DriverConfigError, match="buzzer on GPIO18: a tonal buzzer needs PWM"):
            device.open()
    finally:
        factory.close()


def test_pin_conflict_in_config_is_refused_with_both_parts_named() -> None:
    with pytest.raises(DriverConfigError, match="GPIO17 is configured for both the green LED and the capture button"):
        GpioIndicators.from_config({"pins": {"capture": 17}})


def test_pin_held_by_something_else_is_busy_and_nothing_is_left_reserved() -> None:
    factory = MockFactory()
    squatter = LED(6, pin_factory=factory)  # the next button's pin
    try:
        device = GpioIndicators.from_config({}, DriverContext(pin_factory=factory))
        with pytest.raises(DeviceBusy, match=r"indicators gpiozero: next button on GPIO6: pin already in use"):
            device.open()
        assert not device.is_open
        for pin in (17, 27, 22, 18, 5):  # everything opened before the failure was released
            LED(pin, pin_factory=factory).close()
    finally:
        squatter.close()
        factory.close()


def test_pin_not_on_the_board_is_a_config_error() -> None:
    device = registry.create(DeviceKind.INDICATORS, "emulated", {"pins": {"red": 99}}, DriverContext())
    with pytest.raises(DriverConfigError, match="red LED on GPIO99: no such pin"):
        device.open()
    device.close()


def test_unknown_pin_factory_is_not_connected() -> None:
    device = GpioIndicators.from_config({"pin_factory": "no-such-factory"})
    with pytest.raises(DeviceNotConnected, match="no usable GPIO pin factory.*no-such-factory"):
        device.open()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pins": {"blue": 4}}, "option 'pins' has unknown key 'blue'; known: amber, buzzer, capture, green, next, red"),
        ({"pins": {"green": "17"}}, "option 'pins.green' must be a BCM GPIO number \\(0 or more\\), got '17'"),
        ({"pins": {"red": -1}}, "option 'pins.red' must be a BCM GPIO number \\(0 or more\\), got -1"),
        ({"buzzer": "piezo"}, "option 'buzzer' must be one of 'active', 'tonal', got 'piezo'"),
        ({"active_high": 1}, "option 'active_high' must be true or false, got 1"),
        ({"blink_s": 0}, "option 'blink_s' must be a number > 0, got 0"),
        ({"bounce_time": -0.1}, "option 'bounce_time' must be a number >= 0, got -0.1"),
        ({"led_pins": {}}, "unknown option 'led_pins'; known: active_high, blink_s, bounce_time, buzzer, pin_factory"),
    ],
)
def test_config_errors_name_the_option(options: dict, message: str) -> None:
    with pytest.raises(DriverConfigError, match=message):
        GpioIndicators.from_config(options)


def test_identity_on_the_mock_factory(panel: EmulatedIndicators) -> None:
    ident = panel.identity
    assert (ident.make, ident.model, ident.serial, ident.driver) == ("gpiozero", "MockFactory", "mock", "emulated")
    assert "gpiozero" in ident.firmware
    assert "GPIO17" in panel.self_test().detail


def test_close_releases_every_pin_and_is_idempotent() -> None:
    factory = MockFactory()
    try:
        device = registry.create(DeviceKind.INDICATORS, "gpiozero", {}, DriverContext(pin_factory=factory))
        assert type(device) is GpioIndicators
        device.open()
        device.show(StatusLight.ATTENTION)
        device.beep(BeepPattern.ERROR)
        device.close()
        device.close()
        for pin in (17, 27, 22, 18, 5, 6):  # every gpiozero device was closed
            LED(pin, pin_factory=factory).close()
        with pytest.raises(DeviceError, match="closed"):
            device.show(StatusLight.READY)
    finally:
        factory.close()

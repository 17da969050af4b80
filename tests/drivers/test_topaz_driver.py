"""The real TopazPad driver against the simulator over a real pty."""

from __future__ import annotations

import io
import os
import termios
import threading
import time
from typing import Iterator

import pytest
from PIL import Image as PILImage

from drivers import registry
from drivers.errors import (
    CaptureFailed,
    DeviceNotConnected,
    DeviceTimeout,
    DeviceUnplugged,
    DriverConfigError,
)
from drivers.registry import DriverContext
from drivers.scene import Person, Scene, SignatureCondition, SigningView
from drivers.signature.topaz import TopazPad
from drivers.signature.topaz_codec import TopazDecoder
from drivers.signature.topaz_sim import TopazSimulator
from drivers.synthetic.signature import trajectory
from drivers.types import DeviceKind, ImageFormat, PenSample

RESIDENT = Person("3372015505900003", sex="F", birth_year=1990)


@pytest.fixture
def scene() -> Scene:
    return Scene(time_scale=0.0)


@pytest.fixture
def sim(scene: Scene) -> Iterator[TopazSimulator]:
    s = TopazSimulator(scene).start()
    yield s
    s.stop()


@pytest.fixture
def pad(sim: TopazSimulator) -> Iterator[TopazPad]:
    p = TopazPad.from_config({"port": sim.port, "framing": "8N1"}, DriverContext())
    p.open()
    yield p
    p.close()


def sign(scene: Scene, person: Person = RESIDENT, condition=SignatureCondition.GOOD) -> SigningView:
    scene.sign(person, condition)
    view = scene.signing
    assert view is not None
    return view


def wait_signing_done(scene: Scene, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    version = scene.version
    while scene.signing is not None:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the simulator never finished the signing"
        version = scene.wait_change(version, remaining)


def expected_points(sim: TopazSimulator, view: SigningView):
    """The trajectory the pad should have seen, from the first pen-down, in proximity."""
    cal = sim.model.calibration
    points = trajectory(
        view.person, view.condition, capture_seed=view.serial, rate_hz=sim.report_hz, aspect=cal.width / cal.height
    )
    first = next(i for i, p in enumerate(points) if p.pen_down)
    return [p for p in points[first:] if p.in_proximity]


def run_lengths(samples: tuple[PenSample, ...] | list) -> int:
    return sum(1 for i, s in enumerate(samples) if s.pen_down and (i == 0 or not samples[i - 1].pen_down))


def test_a_signing_arrives_as_samples_and_strokes_that_match_the_trajectory(
    scene: Scene, sim: TopazSimulator, pad: TopazPad
) -> None:
    view = sign(scene)
    capture = pad.capture(timeout=5.0, idle_end=0.3)
    wait_signing_done(scene)

    want = expected_points(sim, view)
    assert len(capture.samples) == len(want)
    assert capture.extent == (2000, 700)
    for got, exp in zip(capture.samples, want):
        assert got.pen_down == exp.pen_down
        assert got.x / 2000 == pytest.approx(exp.x, abs=1e-3)
        assert got.y / 700 == pytest.approx(exp.y, abs=1e-3)
        assert got.pressure == (1.0 if exp.pen_down else 0.0)  # the pad has no pressure
    assert capture.samples[0].t_ms == 0 and capture.samples[0].pen_down
    t = [s.t_ms for s in capture.samples]
    assert t == sorted(t) and t[-1] > 0
    assert len(capture.strokes) == run_lengths(want) >= 2
    assert all(s.pen_down for stroke in capture.strokes for s in stroke)
    assert sum(len(s) for s in capture.strokes) == sum(1 for p in want if p.pen_down)

    assert capture.image.format is ImageFormat.PNG
    picture = PILImage.open(io.BytesIO(capture.image.data))
    assert picture.size == (capture.image.width, capture.image.height) == (1000, 350)
    first = capture.strokes[0][len(capture.strokes[0]) // 2]
    scale = capture.image.metadata["scale"]
    assert picture.getpixel((int(first.x * scale), int(first.y * scale))) < 128  # ink where the pen was
    assert picture.getpixel((2, 2)) == 255 and sum(1 for n in picture.histogram() if n) > 2  # white paper, anti-aliased edges


def test_calibration_from_config_is_applied(scene: Scene, sim: TopazSimulator) -> None:
    with TopazPad.from_config({"port": sim.port, "framing": "8N1", "calibration": {"flip_x": True}}) as pad:
        view = sign(scene)
        capture = pad.capture(timeout=5.0, idle_end=0.3)
    want = expected_points(sim, view)
    assert len(capture.samples) == len(want)
    for got, exp in zip(capture.samples[::25], want[::25]):
        assert got.x / 2000 == pytest.approx(1.0 - exp.x, abs=1e-3)


def test_line_noise_is_skipped(scene: Scene, sim: TopazSimulator, pad: TopazPad) -> None:
    sim.inject_garbage(b"\x00\x7f\x13\x81\x02")
    sim.set_noise(b"\x55\xc1\x7f\x00\x90", every=7)  # junk, then a torn report, every 7 reports
    view = sign(scene)
    capture = pad.capture(timeout=5.0, idle_end=0.3)
    want = expected_points(sim, view)
    assert len(capture.samples) == len(want)
    assert all(g.pen_down == e.pen_down and g.x / 2000 == pytest.approx(e.x, abs=1e-3) for g, e in zip(capture.samples, want))
    assert pad.discarded_bytes > 0


def test_no_signing_times_out_within_the_bound(pad: TopazPad) -> None:
    start = time.monotonic()
    with pytest.raises(DeviceTimeout, match=r"signature topaz: the pen did not touch the pad within 0.3 s"):
        pad.capture(timeout=0.3)
    assert time.monotonic() - start < 1.0


def test_a_silent_pad_times_out(scene: Scene, sim: TopazSimulator, pad: TopazPad) -> None:
    sim.set_silent()
    sign(scene)
    with pytest.raises(DeviceTimeout):
        pad.capture(timeout=0.4)


def test_until_before_the_pen_touches_is_a_failed_capture(pad: TopazPad) -> None:
    with pytest.raises(CaptureFailed, match="stopped before the pen touched"):
        pad.capture(timeout=5.0, until=lambda: True)


def first_lift(person: Person, serial: int) -> float:
    points = trajectory(person, capture_seed=serial, rate_hz=120.0)
    down = [p.pen_down for p in points]
    end = down.index(False, down.index(True))
    return points[down.index(True, end)].t_s - points[end].t_s


def test_idle_end_ends_the_capture_after_a_pause(scene: Scene, sim: TopazSimulator, pad: TopazPad) -> None:
    scene.time_scale = 1.0
    # the next signing in this scene has serial 1: find a resident whose first pen lift is long
    person = next(p for p in (Person(f"33720{i}") for i in range(50)) if first_lift(p, 1) >= 0.3)
    view = sign(scene, person)
    capture = pad.capture(timeout=5.0, idle_end=0.12)
    assert len(capture.strokes) == 1  # ended in the first pen lift
    assert scene.signing is view  # ...while the resident was still signing
    assert run_lengths(expected_points(sim, view)) >= 2


def test_until_ends_the_capture(scene: Scene, sim: TopazSimulator, pad: TopazPad) -> None:
    scene.time_scale = 1.0
    stop = threading.Event()
    view = sign(scene)
    timer = threading.Timer(0.6, stop.set)
    timer.start()
    try:
        start = time.monotonic()
        capture = pad.capture(timeout=5.0, idle_end=10.0, until=stop.is_set)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 2.0
    assert capture.samples and scene.signing is view
    assert len(capture.samples) < len(expected_points(sim, view))


def test_unplugging_mid_signature_raises_unplugged(scene: Scene, sim: TopazSimulator, pad: TopazPad) -> None:
    scene.time_scale = 1.0
    sign(scene)
    timer = threading.Timer(0.5, sim.unplug)
    timer.start()
    try:
        with pytest.raises(DeviceUnplugged, match="signature topaz"):
            pad.capture(timeout=5.0, idle_end=10.0)
    finally:
        timer.cancel()


def test_clear_drops_a_buffered_signature(scene: Scene, pad: TopazPad) -> None:
    sign(scene)
    wait_signing_done(scene)  # streamed while nobody was capturing
    pad.clear()
    with pytest.raises(DeviceTimeout):
        pad.capture(timeout=0.3)
    sign(scene)  # the same, without clear(): the buffered reports are captured
    wait_signing_done(scene)
    assert pad.capture(timeout=2.0, idle_end=0.2).strokes


def test_identity_says_what_a_serial_pad_cannot_report(sim: TopazSimulator) -> None:
    with TopazPad.from_config({"port": sim.port, "framing": "8N1", "serial": "TP-0042"}) as pad:
        ident = pad.identity
        assert (ident.make, ident.model, ident.serial, ident.firmware) == (
            "Topaz",
            "T-LBK462 (SigLite LCD 1x5)",
            "TP-0042",
            "not reported",
        )
        assert sim.port in pad.self_test().detail
    with TopazPad.from_config({"port": sim.port, "framing": "8N1"}) as pad:
        assert pad.identity.serial == "not reported"


def test_model_framing_reaches_the_line(sim: TopazSimulator) -> None:
    # The T-LBK462 runs 8O1: the driver must ask the port for odd parity.
    pad = TopazPad.from_config({"port": sim.port})
    pad.open()
    try:
        fd = os.open(sim.port, os.O_RDWR | os.O_NOCTTY)
        try:
            cflag = termios.tcgetattr(fd)[2]
        finally:
            os.close(fd)
        assert cflag & termios.PARODD and cflag & termios.CSIZE == termios.CS8
        assert sim.driver_baud() == 19200
    finally:
        pad.close()


def test_missing_port_is_not_connected() -> None:
    with pytest.raises(DeviceNotConnected, match="/dev/rekam-no-such-pad does not exist"):
        TopazPad.from_config({"port": "/dev/rekam-no-such-pad"}).open()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "option 'port' is required"),
        ({"port": "/dev/ttyUSB0", "framing": "7O1"}, "option 'framing' must be like '8N1' or '8O1' .*, got '7O1'"),
        ({"port": "/dev/ttyUSB0", "baud": "19200"}, "option 'baud' must be an integer > 0, got '19200'"),
        ({"port": "/dev/ttyUSB0", "model": "T-NOPE"}, "unknown pad model 'T-NOPE'"),
        ({"port": "/dev/ttyUSB0", "idle_end": -1}, "option 'idle_end' must be a number > 0, got -1"),
        ({"port": "/dev/ttyUSB0", "calibration": 3}, "option 'calibration' must be a table, got 3"),
        ({"port": "/dev/ttyUSB0", "calibration": {"x_min": "400"}}, "calibration.x_min must be int"),
        ({"port": "/dev/ttyUSB0", "baud_rate": 19200}, "unknown option 'baud_rate'; known: baud, calibration,"),
    ],
)
def test_config_errors_name_the_option(options: dict, message: str) -> None:
    with pytest.raises(DriverConfigError, match=message):
        TopazPad.from_config(options)


def test_emulated_pad_through_the_registry() -> None:
    scene = Scene(time_scale=0.0)
    pad = registry.create(DeviceKind.SIGNATURE, "topaz-emulated", {"model": "T-LBK755"}, DriverContext(scene=scene))
    sim = pad.simulator  # type: ignore[attr-defined]
    assert sim.running
    with pad:
        assert pad.identity.driver == "topaz-emulated" and pad.identity.serial == "emulated"
        sign(scene, Person("3372016112880001"))
        capture = pad.capture(timeout=5.0, idle_end=0.3)
    assert capture.extent == (2150, 1700) and len(capture.strokes) >= 2
    assert max(s.y for s in capture.samples) > 700  # the 4x3 pad's taller area is used
    assert not sim.running
    pad.close()  # idempotent


def test_emulated_pad_stops_its_simulator_even_if_never_opened() -> None:
    pad = registry.create(DeviceKind.SIGNATURE, "topaz-emulated", {}, DriverContext(scene=Scene()))
    pad.close()
    assert not pad.simulator.running  # type: ignore[attr-defined]


def test_emulated_pad_refuses_parity_a_pty_cannot_keep() -> None:
    with pytest.raises(DriverConfigError, match="pseudo-terminal"):
        registry.create(DeviceKind.SIGNATURE, "topaz-emulated", {"framing": "8O1"}, DriverContext(scene=Scene()))


def test_paced_line_takes_the_wire_time() -> None:
    scene = Scene(time_scale=0.0)
    with registry.create(DeviceKind.SIGNATURE, "topaz-emulated", {"pace": True}, DriverContext(scene=scene)) as pad:
        sim = pad.simulator  # type: ignore[attr-defined]
        start = time.monotonic()
        sign(scene, Person("3372015505900011"), SignatureCondition.TOO_SHORT)
        wait_signing_done(scene)
        elapsed = time.monotonic() - start
        capture = pad.capture(timeout=2.0, idle_end=0.2)
    wire_s = sim.reports_sent * 5 * 10 / 19200
    assert elapsed >= 0.9 * wire_s and capture.strokes


def test_shaky_survives_the_pad_as_tremor_energy(scene: Scene, sim: TopazSimulator, pad: TopazPad) -> None:
    import numpy as np

    def jitter(capture) -> float:
        d3 = np.concatenate(
            [np.diff(np.array([(s.x, s.y) for s in st]) / 2000, 3, axis=0) for st in capture.strokes if len(st) > 3]
        )
        return float((d3**2).sum(1).mean())

    sign(scene)
    good = pad.capture(timeout=5.0, idle_end=0.3)
    sign(scene, condition=SignatureCondition.SHAKY)
    shaky = pad.capture(timeout=5.0, idle_end=0.3)
    assert jitter(shaky) > 5 * jitter(good)


def test_decoder_sees_exactly_what_the_simulator_sent(sim: TopazSimulator, scene: Scene) -> None:
    view = SigningView(RESIDENT, SignatureCondition.GOOD, 1)
    wire = b"".join(b for _, b in sim.reports_for(view))
    reports = TopazDecoder().feed(wire)
    assert len(reports) == len(trajectory(RESIDENT, capture_seed=1, rate_hz=sim.report_hz, aspect=2000 / 700))
    assert not reports[-1].in_proximity and reports[0].in_proximity and not reports[0].pen_down


def test_stop_is_prompt_even_when_nobody_reads_a_full_line(scene: Scene) -> None:
    sim = TopazSimulator(scene).start()
    sim.inject_garbage(b"\x00" * 64_000)  # more than a pty holds: the player blocks writing
    sign(scene)
    deadline = time.monotonic() + 3.0
    while sim.bytes_out == 0 and sim.reports_sent == 0:  # wait for the player to be writing
        assert time.monotonic() < deadline
        scene.wait_change(scene.version, 0.02)
    start = time.monotonic()
    sim.stop()
    assert time.monotonic() - start < 1.0 and not sim.running
    assert scene.signing is not None  # an unfinished signing is not reported as done


def test_a_pen_that_never_lifts_is_a_failed_capture_not_an_endless_one(scene: Scene, sim: TopazSimulator) -> None:
    scene.time_scale = 1.0
    with TopazPad.from_config({"port": sim.port, "framing": "8N1", "max_duration": 0.4}) as pad:
        sign(scene)
        start = time.monotonic()
        with pytest.raises(CaptureFailed, match="stayed on the pad for over 0.4 s"):
            pad.capture(timeout=5.0, idle_end=10.0)
        assert time.monotonic() - start < 1.5


def test_emulated_pad_checks_its_options_before_a_simulator_starts() -> None:
    ctx = DriverContext(scene=Scene())
    with pytest.raises(DriverConfigError, match="option 'report_hz' must be a number > 0, got 0"):
        registry.create(DeviceKind.SIGNATURE, "topaz-emulated", {"report_hz": 0}, ctx)
    with pytest.raises(DriverConfigError, match="unknown option 'port'; known: .*report_hz"):
        registry.create(DeviceKind.SIGNATURE, "topaz-emulated", {"port": "/dev/ttyS0"}, ctx)
    pad = registry.create(DeviceKind.SIGNATURE, "topaz-emulated", {"framing": "8n1", "report_hz": 100}, ctx)
    try:
        assert pad.simulator.report_hz == 100.0  # type: ignore[attr-defined]
    finally:
        pad.close()

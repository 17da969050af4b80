"""A pen resting on the pad is caught within seconds and told, not 9 x 60 s of silence."""

from __future__ import annotations

import time

import pytest

from drivers.errors import DeviceError
from drivers.scene import Person, Scene
from drivers.types import PenSample
from protocol.keys import ControllerKeys
from station.pen import PenStuck, PenWatch, SignatureCleared
from station.scripted import ResidentScript, ScriptedOperator
from station.trainer import Trainer
from station.workflow import StepKind
from tests.fixtures.records import SAMPLE_KELURAHAN, SAMPLE_NIK
from tests.fixtures.station import make_station_dir

CK = ControllerKeys.generate()
RESIDENT = Person("resident-1", "F", 1990)


def test_watch_flags_a_still_pen_and_a_stroke_that_never_lifts():
    w = PenWatch(stuck_s=1.0, stroke_s=5.0)
    for t in range(0, 900, 100):
        w.on_sample(PenSample(t, 100.0, 100.0, 1.0, True))
    with pytest.raises(PenStuck):
        w.on_sample(PenSample(1000, 101.0, 100.0, 1.0, True))
    moving = PenWatch(stuck_s=1.0, stroke_s=5.0)
    with pytest.raises(PenStuck) as err:
        for t in range(0, 6000, 50):
            moving.on_sample(PenSample(t, float(t % 400), 50.0, 1.0, True))
    assert err.value.reason_id == "pen_stuck"
    lifted = PenWatch(stuck_s=1.0)
    for t in range(0, 3000, 100):  # still, but the pen is up: not stuck
        lifted.on_sample(PenSample(t, 5.0, 5.0, 0.0, False))


def test_watch_relays_samples_and_obeys_clear_and_done():
    class Listener:
        def __init__(self):
            self.seen, self.command = [], None

        def pen_sample(self, s):
            self.seen.append(s)

        def pen_command(self):
            return self.command

    listener = Listener()
    w = PenWatch(listener)
    assert w.until() is False
    listener.command = "done"
    assert w.until() is False  # nothing written yet: "done" waits for ink
    w.on_sample(PenSample(0, 1.0, 2.0, 1.0, True))
    assert listener.seen and w.until() is True
    listener.command = "clear"
    with pytest.raises(SignatureCleared):
        w.until()


def test_a_stuck_pen_stops_the_signature_within_seconds_and_says_why(tmp_path):
    scene = Scene(time_scale=0.0)
    d = make_station_dir(tmp_path / "station", None, CK)
    rt = d.runtime(scene).start(connect=False)
    trainer = Trainer(scene, rt.devices)

    class StuckAtSignature(ScriptedOperator):
        def before_capture(self, step):
            if step.kind is StepKind.SIGNATURE:
                trainer.stick_pen()
                return None
            return super().before_capture(step)

        def device_failed(self, step, error: DeviceError) -> bool:
            self.failed_with = error
            return super().device_failed(step, error)

    op = StuckAtSignature(scene, ResidentScript(RESIDENT, SAMPLE_NIK, device_retries=0))
    try:
        enrollment = rt.enrollment(op, "op-7", kelurahan_code=SAMPLE_KELURAHAN, signature_idle_s=0.3,
                                   pen_stuck_s=1.0)
        t0 = time.monotonic()
        outcome = enrollment.run()
        elapsed = time.monotonic() - t0
        depth = rt.outbox.stats().depth
    finally:
        trainer.close()
        rt.stop()
    assert outcome is None and depth == 0
    stuck_notes = [n for n in op.notes if n[0] == "e.pen_stuck"]
    assert len(stuck_notes) == rt.config.retries  # told at every stuck attempt
    assert op.failed_with.reason_id == "pen_stuck"
    assert elapsed < 30  # was up to 9 x 60 s

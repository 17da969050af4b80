"""Whole enrollments on emulated devices, through the real workflow, gates, sealing and outbox."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image as PILImage

from drivers.scene import FaceCondition, FingerCondition, Person, Scene
from protocol import packet, topics
from protocol.keys import ControllerKeys
from protocol.record import EnrollmentRecord, FingerException
from station.scripted import ResidentScript, ScriptedOperator
from station.errors import LowDiskSpace
from station.workflow import ReviewAction, ReviewDecision, StepKind
from tests.fixtures.mqtt import Recorder, announce
from tests.fixtures.records import SAMPLE_KELURAHAN, SAMPLE_NIK
from tests.fixtures.station import make_station_dir

CK = ControllerKeys.generate()
#: SAMPLE_NIK is a woman born in 1990 (even year: blue backdrop).
RESIDENT = Person("resident-1", "F", 1990)


def enroll(runtime, scene, script, **kw):
    op = ScriptedOperator(scene, script)
    outcome = runtime.enrollment(op, "op-7", kelurahan_code=SAMPLE_KELURAHAN, signature_idle_s=0.3, **kw).run()
    return outcome, op


def stored_records(runtime) -> list[EnrollmentRecord]:
    items = runtime.outbox.take_for_sending(100, 10**9)
    return [EnrollmentRecord.from_cbor(packet.open_packet(i.payload, runtime.sealer.signing_key.public, CK)[1])
            for i in items]


@pytest.fixture
def station(tmp_path):
    scene = Scene(time_scale=0.0)
    d = make_station_dir(tmp_path / "station", None, CK)
    rt = d.runtime(scene).start(connect=False)
    yield rt, scene, d
    rt.stop()


def test_full_enrollment_reaches_the_broker_sealed_and_opens_with_the_controller_key(tmp_path, broker):
    scene = Scene(time_scale=0.0)
    d = make_station_dir(tmp_path / "station", broker, CK)
    with Recorder(broker, "controller-spy", [topics.all_stations(topics.Leaf.PACKETS)]) as spy:
        announce(spy.client)
        rt = d.runtime(scene).start()
        try:
            outcome, op = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK))
            assert outcome is not None
            assert spy.wait_for(lambda m: len(m) >= 1, 15)
        finally:
            rt.stop()
    env, plaintext = packet.open_packet(spy.messages[0].payload, d.signing_key.public, CK)
    assert env.packet_id == outcome.packet_id
    record = EnrollmentRecord.from_cbor(plaintext)  # validates NIK, fingers 1-10 and the capture chain
    assert (record.nik, record.station_id, record.operator_id) == (SAMPLE_NIK, "st-01", "op-7")
    assert PILImage.open(io.BytesIO(record.face.image)).format == "JPEG"
    for f in record.fingers:
        img = PILImage.open(io.BytesIO(f.image))
        assert (img.format, img.mode, img.size) == ("PNG", "L", (256, 288))
        assert f.template and f.quality.passed
    assert len(record.signature.samples) > 20 and record.signature.quality.passed
    assert {d.kind for d in record.devices} == {"camera", "fingerprint", "signature", "indicators"}
    assert [s.kind for s, _ in op.steps] == [StepKind.FACE] + [StepKind.FINGER] * 10 + [StepKind.SIGNATURE]


def test_retries_forced_captures_and_finger_exceptions_are_recorded(station):
    rt, scene, _ = station
    script = ResidentScript(
        RESIDENT, SAMPLE_NIK,
        face=(FaceCondition.BLURRED, FaceCondition.GOOD),
        fingers={3: (FingerCondition.SMUDGED, FingerCondition.GOOD), 4: (FingerCondition.SMUDGED,)},
        missing={7: FingerException.AMPUTATED},
    )
    outcome, op = enroll(rt, scene, script)
    assert outcome.forced == ("finger 4",)
    assert outcome.exceptions == {7: FingerException.AMPUTATED}
    [record] = stored_records(rt)
    by_pos = {f.position: f for f in record.fingers}
    assert record.face.quality.attempts == 2 and record.face.quality.passed
    assert "blurred" in op.steps[0][1].problems
    assert by_pos[3].quality.attempts == 2 and by_pos[3].quality.passed
    assert by_pos[4].quality.forced and by_pos[4].quality.attempts == rt.config.retries
    assert by_pos[4].quality.problems
    assert by_pos[7].exception is FingerException.AMPUTATED and by_pos[7].image is None
    assert ("capture_forced", {}) in op.notes


def test_scanner_that_never_sees_the_finger_ends_in_an_exception_not_a_skip(station):
    rt, scene, _ = station

    class NeverPlaces(ScriptedOperator):
        def before_capture(self, step):
            if step.kind is StepKind.FINGER and step.position == 5:
                return None  # the resident does not put the finger down
            return super().before_capture(step)

    op = NeverPlaces(scene, ResidentScript(RESIDENT, SAMPLE_NIK))
    outcome = rt.enrollment(op, "op", kelurahan_code=SAMPLE_KELURAHAN, signature_idle_s=0.3,
                            finger_timeout_s=0.3).run()
    assert outcome.exceptions == {5: FingerException.DEVICE_FAILURE}
    [record] = stored_records(rt)
    assert {f.position for f in record.fingers} == set(range(1, 11))


def test_review_can_retake_a_finger(station):
    rt, scene, _ = station
    script = ResidentScript(RESIDENT, SAMPLE_NIK,
                            reviews=(ReviewDecision(ReviewAction.RETAKE_FINGER, 5),))
    outcome, op = enroll(rt, scene, script)
    assert outcome is not None
    fives = [s for s, _ in op.steps if s.kind is StepKind.FINGER and s.position == 5]
    assert len(fives) == 2


def test_cancel_at_review_stores_nothing(station):
    rt, scene, _ = station
    outcome, _ = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK,
                                                  reviews=(ReviewDecision(ReviewAction.CANCEL),)))
    assert outcome is None
    assert rt.outbox.stats().depth == 0


def test_low_disk_refuses_before_anything_is_captured(tmp_path):
    scene = Scene(time_scale=0.0)
    d = make_station_dir(tmp_path / "station", None, CK)
    d.config_path.write_text(d.config_path.read_text().replace("min_free_mb = 1", "min_free_mb = 100000000"))
    rt = d.runtime(scene).start(connect=False)
    try:
        op = ScriptedOperator(scene, ResidentScript(RESIDENT, SAMPLE_NIK))
        with pytest.raises(LowDiskSpace) as err:
            rt.enrollment(op, "op", kelurahan_code=SAMPLE_KELURAHAN).run()
        assert err.value.params["need_mib"] == 100000000
        assert op.steps == [] and scene.face is None
    finally:
        rt.stop()


def test_nothing_readable_is_written_to_the_station_disk(station):
    rt, scene, d = station
    outcome, _ = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK))
    assert outcome is not None
    rt.outbox.close()
    blobs = b"".join(p.read_bytes() for p in d.path.rglob("*") if p.is_file())
    assert SAMPLE_NIK.encode() not in blobs
    # whole signatures, not bare magic numbers: three bytes turn up by chance in ~2% of sealed outboxes
    assert not re.search(rb"\xff\xd8\xff[\xe0-\xef]..(JFIF|Exif)", blobs, re.DOTALL)  # no JPEG
    assert b"\x89PNG\r\n\x1a\n" not in blobs  # no finger or signature image
    rt.outbox.open()


def test_wrong_sex_for_the_nik_is_caught_at_confirmation(station):
    rt, scene, _ = station
    man = Person("resident-2", "M", 1990)
    outcome, op = enroll(rt, scene, ResidentScript(man, SAMPLE_NIK))
    assert outcome is None and op.steps == []
    assert ("cancelled", {}) in op.notes

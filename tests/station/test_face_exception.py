"""A photo with no face is never sealed: retries, then a supervisor-confirmed face exception."""

from __future__ import annotations

import pytest

from drivers.scene import FaceCondition, Person, Scene
from protocol import packet
from protocol.keys import ControllerKeys
from protocol.record import EnrollmentRecord, FaceException
from station.scripted import ResidentScript, ScriptedOperator
from station.workflow import FaceExceptionRequest
from tests.fixtures.records import SAMPLE_KELURAHAN, SAMPLE_NIK
from tests.fixtures.station import make_station_dir

CK = ControllerKeys.generate()
RESIDENT = Person("resident-1", "F", 1990)


@pytest.fixture
def station(tmp_path):
    scene = Scene(time_scale=0.0)
    d = make_station_dir(tmp_path / "station", None, CK)
    rt = d.runtime(scene).start(connect=False)
    rt.operators.add("sup-1", "Supervisor", "2468", ["supervisor"])
    yield rt, scene
    rt.stop()


def enroll(rt, scene, script, operator_id="op-7"):
    op = ScriptedOperator(scene, script)
    outcome = rt.enrollment(op, operator_id, kelurahan_code=SAMPLE_KELURAHAN, signature_idle_s=0.3).run()
    return outcome, op


def records(rt):
    items = rt.outbox.take_for_sending(100, 10**9)
    return [EnrollmentRecord.from_cbor(packet.open_packet(i.payload, rt.sealer.signing_key.public, CK)[1])
            for i in items]


def test_no_face_after_every_retry_is_not_forced_and_the_resident_is_not_sealed(station):
    rt, scene = station
    outcome, op = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK, face=(FaceCondition.NO_FACE,)))
    assert outcome is None
    assert rt.outbox.stats().depth == 0
    face_steps = [r for s, r in op.steps if s.kind.value == "face"]
    assert len(face_steps) == rt.config.retries and all("no_face" in r.problems for r in face_steps)
    assert ("capture_forced", {}) not in op.notes
    assert op.face_unusable_asked == 1


def test_supervisor_confirmed_exception_is_sealed_without_a_photo(station):
    rt, scene = station
    request = FaceExceptionRequest(FaceException.NOT_DETECTED, "sup-1", "2468", "detector never found the face")
    outcome, _ = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK, face=(FaceCondition.NO_FACE,),
                                                  face_exception=request))
    assert outcome is not None and outcome.face_exception is FaceException.NOT_DETECTED
    assert "face" not in outcome.forced
    [record] = records(rt)  # from_cbor validates: exception confirmed, no image
    assert record.face.image is None and record.face.exception is FaceException.NOT_DETECTED
    assert record.face.confirmed_by == "sup-1" and record.operator_id == "op-7"
    assert "no_face" in record.face.quality.problems and not record.face.quality.forced


@pytest.mark.parametrize("who, pin, note", [("sup-1", "9999", "supervisor_refused"),
                                            ("op-7", "2468", "supervisor_not_self")])
def test_a_wrong_pin_or_the_operator_themself_cannot_confirm(station, who, pin, note):
    rt, scene = station
    if who == "op-7":
        rt.operators.add("op-7", "Both", "2468", ["operator", "supervisor"], by=("sup-1", "2468"))
    request = FaceExceptionRequest(FaceException.INJURY, who, pin)
    outcome, op = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK, face=(FaceCondition.NO_FACE,),
                                                   face_exception=request))
    assert outcome is None and rt.outbox.stats().depth == 0
    assert (note, {}) in op.notes


def test_a_blurred_photo_is_still_forced_after_the_retries(station):
    rt, scene = station
    outcome, op = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK, face=(FaceCondition.BLURRED,)))
    assert outcome is not None and "face" in outcome.forced
    assert op.face_unusable_asked == 0


def test_a_nik_sealed_here_before_is_flagged_before_capture(station):
    rt, scene = station
    first, op1 = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK))
    assert first is not None and op1.enrolled_here is False
    second, op2 = enroll(rt, scene, ResidentScript(RESIDENT, SAMPLE_NIK))
    assert op2.enrolled_here is True
    rt.outbox.close()
    blobs = b"".join(p.read_bytes() for p in rt.config.data_dir.rglob("*") if p.is_file())
    assert SAMPLE_NIK.encode() not in blobs
    rt.outbox.open()


import cbor2
import msgspec
import pytest

from protocol.record import ChainBuilder, EnrollmentRecord, FaceException, FingerException, RecordError, validate
from tests.fixtures.records import make_record


def test_round_trip():
    r = make_record(excepted={10: FingerException.AMPUTATED})
    again = EnrollmentRecord.from_cbor(r.to_cbor())
    assert again == r
    assert again.fingers[9].exception is FingerException.AMPUTATED


def test_repr_leaks_no_biometrics_or_full_nik():
    r = make_record()
    text = repr(r) + repr(r.face) + repr(r.fingers[0]) + repr(r.signature)
    assert "3372054512900001" not in text
    assert "fff" not in text and "PNG" not in text


def _reason(record):
    with pytest.raises(RecordError) as err:
        validate(record)
    return err.value.reason_id


def test_invalid_nik():
    assert _reason(msgspec.structs.replace(make_record(), nik="3372053212900001")) == "invalid_nik"


def test_unknown_kelurahan():
    assert _reason(make_record(kelurahan_code="33.72.05.1999")) == "unknown_kelurahan"


def test_missing_finger_position():
    r = make_record()
    assert _reason(msgspec.structs.replace(r, fingers=r.fingers[:9])) == "fingers_incomplete"


def test_duplicated_finger_position():
    r = make_record()
    fingers = r.fingers[:9] + (r.fingers[0],)
    assert _reason(msgspec.structs.replace(r, fingers=fingers)) == "fingers_incomplete"


def test_finger_without_image_or_exception():
    r = make_record()
    empty = msgspec.structs.replace(r.fingers[3], image=None)
    fingers = r.fingers[:3] + (empty,) + r.fingers[4:]
    assert _reason(msgspec.structs.replace(r, fingers=fingers)) == "finger_missing"


def test_missing_face_and_signature():
    r = make_record()
    assert _reason(msgspec.structs.replace(r, face=msgspec.structs.replace(r.face, image=b""))) == "missing_face"
    assert _reason(msgspec.structs.replace(r, signature=msgspec.structs.replace(r.signature, samples=b""))) == "missing_signature"


def test_swapped_captures_break_the_chain():
    r = make_record()
    f = list(r.fingers)
    # swap the images of fingers 2 and 7 but keep positions: the chain notices
    a, b = f[1], f[6]
    f[1] = msgspec.structs.replace(a, image=b.image, template=b.template)
    f[6] = msgspec.structs.replace(b, image=a.image, template=a.template)
    assert _reason(msgspec.structs.replace(r, fingers=tuple(f))) == "chain_broken"


def test_capture_from_another_record_breaks_the_chain():
    r1 = make_record(started_at=1000.0)
    r2 = make_record(started_at=2000.0)
    assert _reason(msgspec.structs.replace(r1, face=r2.face)) == "chain_broken"


def test_wrong_field_type_is_named():
    body = cbor2.loads(make_record().to_cbor())
    body["fingers"][3]["position"] = "four"
    with pytest.raises(RecordError) as err:
        EnrollmentRecord.from_cbor(cbor2.dumps(body))
    assert err.value.reason_id == "malformed"
    assert "record.fingers[3].position: expected int, got str" in str(err.value)


def test_not_cbor():
    with pytest.raises(RecordError) as err:
        EnrollmentRecord.from_cbor(b"\xff\xff")
    assert err.value.reason_id == "malformed"


def test_exception_reason_must_be_known():
    body = cbor2.loads(make_record(excepted={4: FingerException.BANDAGED}).to_cbor())
    body["fingers"][3]["exception"] = "lost interest"
    with pytest.raises(RecordError, match=r"fingers\[3\].exception: invalid enum value .lost interest."):
        EnrollmentRecord.from_cbor(cbor2.dumps(body))


def test_pen_samples_round_trip_packed():
    from protocol.record import pack_samples, unpack_samples

    samples = [(0, 1.5, 2.25, 0.5, True), (8, 3.0, 4.0, 0.0, False)]
    assert unpack_samples(pack_samples(samples)) == samples
    with pytest.raises(RecordError):
        unpack_samples(pack_samples(samples)[:-1])


def test_a_face_exception_needs_no_image_and_a_supervisor():
    r = make_record()
    excepted = msgspec.structs.replace(r.face, image=None, exception=FaceException.INJURY, confirmed_by="sup-1")
    chained = _rechain(msgspec.structs.replace(r, face=excepted))
    validate(chained)
    assert EnrollmentRecord.from_cbor(chained.to_cbor()).face.exception is FaceException.INJURY
    assert "exception=injury" in repr(chained.face)
    unconfirmed = _rechain(msgspec.structs.replace(r, face=msgspec.structs.replace(excepted, confirmed_by=None)))
    assert _reason(unconfirmed) == "face_exception_unconfirmed"
    both = _rechain(msgspec.structs.replace(r, face=msgspec.structs.replace(excepted, image=r.face.image)))
    assert _reason(both) == "face_ambiguous"
    neither = _rechain(msgspec.structs.replace(r, face=msgspec.structs.replace(r.face, image=None)))
    assert _reason(neither) == "missing_face"


def _rechain(record: EnrollmentRecord) -> EnrollmentRecord:
    """Link the captures again, as a station would have when it took them."""
    chain = ChainBuilder(record.nik, record.station_id, record.started_at)
    face = chain.add(record.face)
    fingers = tuple(chain.add(f) for f in sorted(record.fingers, key=lambda f: f.position))
    return msgspec.structs.replace(record, face=face, fingers=fingers, signature=chain.add(record.signature))

"""The ANSI/NIST-ITL mapping, read back with nistitl field by field; WSQ against the original pixels."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from controller.export import nist
from drivers.synthetic.fingerprint import MATCH_THRESHOLD, match_score, template_from_image
from protocol.record import FaceException, FingerException, unpack_samples
from rekam.central.residents import realistic_record

NIK = "3372054512900001"
KEL = "33.72.05.1001"
NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def record():
    return realistic_record(NIK, KEL, started_at=NOW - 60,
                            excepted={3: FingerException.AMPUTATED, 8: FingerException.BANDAGED})


@pytest.fixture(scope="module")
def parsed(record):
    tx = nist.build(record, "0190c0de-0000-7000-8000-000000000001", origin="controller-1", now=NOW)
    return nist.parse(tx.data)


def test_type1_header(parsed):
    t1 = parsed[0]
    assert t1.VER == "0500"
    assert t1.TOT == "EKTP"
    assert t1.DAT == "20231114"
    assert t1.ORI == "controller-1"
    assert t1.DAI == "DUKCAPIL"
    assert t1.TCN == "0190c0de-0000-7000-8000-000000000001"
    assert t1.NSR == "19.69" and t1.NTR == "19.69"
    assert t1.DOM == [["EKTP", "1.0"]]
    assert t1.GMT == "20231114221320Z"
    types = [int(sf[0]) for sf in t1.CNT[1:]]
    assert types == [2, 10] + [14] * 10 + [8, 8]


def test_type2_carries_who_where_and_when(parsed, record):
    t2 = parsed[(2, 0)]
    assert t2._3 == NIK
    assert t2._4 == KEL
    assert t2._5 == record.operator_id
    assert t2._6 == record.station_id
    assert t2._7 == nist.gmt(record.started_at)
    assert t2._8 == nist.gmt(record.finished_at)
    assert t2._9 == "0190c0de-0000-7000-8000-000000000001"
    assert t2._10 == "a-1"
    assert t2[nist.T2["face_exception"]] is None


def test_type10_face_is_the_captured_jpeg(parsed, record):
    t10 = parsed[(10, 1)]
    assert t10.IMT == "FACE" and t10.CGA == "JPEGB" and t10.POS == "F"
    assert (t10.HLL, t10.VLL) == ("240", "320")
    assert t10.DATA == record.face.image
    assert Image.open(io.BytesIO(t10.DATA)).size == (240, 320)


def test_type14_fingers_are_wsq_at_the_sensor_resolution_and_decode_within_tolerance(parsed, record):
    by_pos = {f.position: f for f in record.fingers}
    seen = []
    for t14 in parsed.iter(14):
        pos = int(t14.FGP)
        seen.append(pos)
        assert int(t14.IDC) == 10 + pos
        entry = by_pos[pos]
        if entry.exception is not None:
            continue
        assert t14.CGA == "WSQ20"
        assert (t14.SLC, t14.THPS, t14.TVPS, t14.BPX) == ("1", "500", "500", "8")
        assert (t14.HLL, t14.VLL) == ("256", "288")
        assert t14.FQM == [[str(pos), "80", "0000", "1"]]
        wsq = Image.open(io.BytesIO(t14.DATA))
        assert wsq.format == "WSQ" and wsq.size == (256, 288)
        decoded = np.asarray(wsq, dtype=np.float64)
        original = np.asarray(Image.open(io.BytesIO(entry.image)).convert("L"), dtype=np.float64)
        rmse = float(np.sqrt(((decoded - original) ** 2).mean()))
        psnr = 20 * np.log10(255 / rmse)
        # WSQ at 0.75 bpp (~15:1): a few grey levels of error, and the ridges still match the original's.
        assert psnr > 26, f"finger {pos}: PSNR {psnr:.1f} dB"
        assert len(t14.DATA) < original.size / 8
        score = match_score(entry.template, template_from_image(decoded.astype(np.uint8)))
        assert score >= MATCH_THRESHOLD, f"finger {pos} no longer matches after WSQ ({score})"
    assert sorted(seen) == list(range(1, 11))


def test_finger_exceptions_are_carried(parsed):
    t14 = {int(r.FGP): r for r in parsed.iter(14)}
    assert t14[3].AMP == [["3", "XX"]] and t14[3].COM == "rekam:exception=amputated"
    assert t14[8].AMP == [["8", "UP"]] and t14[8].COM == "rekam:exception=bandaged"
    for pos in (3, 8):
        assert t14[pos].CGA == "NONE" and t14[pos].DATA == b"" and t14[pos].HLL == "0"
    assert t14[1][18] is None  # a captured finger has no AMP


def test_type8_signature_image_and_pen_vectors(parsed, record):
    image_rec, vector_rec = (r for r in parsed.iter(8))
    sig, srt, isr, w, h, pixels = nist.type8_parts(image_rec)
    assert (sig, srt, isr) == (0, 0, 0)
    assert pixels == Image.open(io.BytesIO(record.signature.image)).convert("L").tobytes()
    assert len(pixels) == w * h
    sig, srt, isr, w, h, data = nist.type8_parts(vector_rec)
    assert (sig, srt, w, h) == (0, 2, 0, 0)
    samples = unpack_samples(record.signature.samples)
    vecs = nist.vectors(data)
    assert len(vecs) == len(samples)
    for (x, y, p), (_, sx, sy, sp, down) in zip(vecs, samples):
        assert (x, y) == (round(sx), round(sy))
        assert (p == 0) == (not down)


def test_a_face_exception_has_no_type10_and_says_why_and_who_confirmed():
    rec = realistic_record(NIK, KEL, face_exception=FaceException.INJURY, started_at=NOW)
    msg = nist.parse(nist.build(rec, "p-2", origin="controller-1", now=NOW).data)
    assert list(msg.iter(10)) == []
    t2 = msg[(2, 0)]
    assert t2._11 == "injury" and t2._12 == "spv-1"
    assert len(list(msg.iter(14))) == 10


def test_other_resolutions_are_not_forced_into_wsq():
    rec = realistic_record(NIK, KEL, dpi=1000, started_at=NOW)
    msg = nist.parse(nist.build(rec, "p-3", origin="controller-1", now=NOW).data)
    t14 = next(msg.iter(14))
    assert (t14.CGA, t14.THPS) == ("PNG", "1000")
    original = next(f for f in rec.fingers if f.position == int(t14.FGP))
    assert Image.open(io.BytesIO(t14.DATA)).tobytes() == Image.open(io.BytesIO(original.image)).tobytes()


def test_bad_input_is_named_without_its_content():
    rec = realistic_record(NIK, KEL, started_at=time.time())
    import msgspec

    broken = msgspec.structs.replace(rec, face=msgspec.structs.replace(rec.face, image=b"\xff\xd8garbage"))
    with pytest.raises(nist.ExportError) as exc:
        nist.build(broken, "p-4", origin="controller-1", now=NOW)
    assert "face image" in str(exc.value) and NIK not in str(exc.value)
    with pytest.raises(nist.ExportError):
        nist.parse(b"1.001:12\x1dgarbage")

"""Realistic enrollment records without stations: for the export tests, the benchmarks and the emulator's checks.

A record made here carries what a station's emulated devices would put in
it: a JPEG portrait from the synthetic camera, ten 500-dpi finger PNGs from
the synthetic sensor with the templates read from their pixels (the format
the emulated modules produce), and a signature with its pen samples. Fingers
can carry exceptions; the face can carry a supervisor-confirmed exception.
Everything is drawn from the person id and the capture seed, so a second
enrollment of the same person (another capture seed) has the same fingers.
"""

from __future__ import annotations

import io
import time

from PIL import Image, ImageDraw

from drivers.scene import Backdrop, FaceCondition, FaceView, Person
from drivers.synthetic import fingerprint as synth_fp
from drivers.synthetic import portrait, signature
from protocol.record import (
    ChainBuilder,
    DeviceInfo,
    EnrollmentRecord,
    FaceEntry,
    FaceException,
    FingerEntry,
    FingerException,
    Quality,
    SignatureEntry,
    pack_samples,
)

TEMPLATE_FORMAT = "zhiantec-char"
PAD_EXTENT = (2000, 600)


def _quality(area: float = 0.8) -> Quality:
    return Quality(passed=True, forced=False, attempts=1, measures={"contiguous_fraction": area})


def portrait_jpeg(person: Person, capture_seed: int = 0, *, width: int = 240, height: int = 320) -> bytes:
    backdrop = Backdrop.RED if person.birth_year % 2 else Backdrop.BLUE
    rgb = portrait.render(FaceView(person, FaceCondition.GOOD, backdrop), width=width, height=height,
                          capture_seed=capture_seed)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def finger_png(person: Person, position: int, capture_seed: int = 0) -> tuple[bytes, bytes]:
    """(PNG, template) of one capture of one finger."""
    pixels = synth_fp.render(person.person_id, position, capture_seed=capture_seed)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG", compress_level=1)
    return buf.getvalue(), synth_fp.template_from_image(pixels)


def signature_capture(person: Person, capture_seed: int = 0) -> tuple[bytes, bytes]:
    """(PNG, packed pen samples) in the pad's logical coordinates."""
    points = signature.trajectory(person, capture_seed=capture_seed)
    w, h = PAD_EXTENT
    samples = [(int(p.t_s * 1000), p.x * w, p.y * h, p.pressure, p.pen_down) for p in points]
    im = Image.new("L", (w // 4, h // 4), 255)
    draw = ImageDraw.Draw(im)
    last = None
    for _t, x, y, _p, down in samples:
        here = (x / 4, y / 4)
        if down and last is not None:
            draw.line([last, here], fill=0, width=2)
        last = here if down else None
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue(), pack_samples(samples)


def realistic_record(nik: str, kelurahan_code: str, *, person_id: str | None = None, station_id: str = "st-01",
                     capture_seed: int = 0, excepted: dict[int, FingerException] | None = None,
                     face_exception: FaceException | None = None, started_at: float | None = None,
                     operator_id: str = "op-7", dpi: int = 500) -> EnrollmentRecord:
    """One resident's record as the emulated devices would capture it (person_id defaults to the NIK)."""
    person = Person(person_id or nik, sex="F" if int(nik[6:8]) > 40 else "M", birth_year=1990)
    started = time.time() if started_at is None else started_at
    chain = ChainBuilder(nik, station_id, started)
    if face_exception is None:
        face = chain.add(FaceEntry(portrait_jpeg(person, capture_seed), 240, 320, started + 1, _quality()))
    else:
        face = chain.add(FaceEntry(None, 0, 0, started + 1, Quality(False, False, 3), exception=face_exception,
                                   exception_note="", confirmed_by="spv-1"))
    fingers = []
    for pos in range(1, 11):
        if excepted and pos in excepted:
            entry = FingerEntry(pos, started + 2, exception=excepted[pos])
        else:
            png, template = finger_png(person, pos, capture_seed)
            entry = FingerEntry(pos, started + 2 + pos / 10, image=png, width=256, height=288, dpi=dpi,
                                template=template, template_format=TEMPLATE_FORMAT, quality=_quality())
        fingers.append(chain.add(entry))
    sig_png, samples = signature_capture(person, capture_seed)
    sig = chain.add(SignatureEntry(sig_png, samples, PAD_EXTENT, started + 4, _quality()))
    return EnrollmentRecord(nik=nik, kelurahan_code=kelurahan_code, station_id=station_id, operator_id=operator_id,
                            assignment_id="a-1", started_at=started, finished_at=started + 5, face=face,
                            fingers=tuple(fingers), signature=sig,
                            devices=(DeviceInfo("camera", "emulated", "rekam", "emulated camera", "cam-1", "1.0"),))

"""The field mapping: one enrollment record as one ANSI/NIST-ITL 1-2011 transaction.

This module is the only place that knows which record field goes where. It
builds the transaction with ``nistitl`` (IDEMIA's maintained pure-Python
ANSI/NIST-ITL library) and compresses fingers with ``wsq`` (NBIS's FBI WSQ
codec behind a Pillow plugin). Everything happens in memory: the result is
bytes that the caller seals at once.

Records in one transaction (IDC links them; CNT in 1.003 lists them):

* Type-1: VER 0500, TOT ``EKTP``, DAT (UTC date), DAI central, ORI the
  controller, TCN the packet id, NSR/NTR 19.69 ppmm, DOM ``EKTP`` 1.0, GMT.
* Type-2 (IDC 0), the EKTP domain's user-defined fields, see :data:`T2`:
  NIK, kelurahan, operator, station, capture start and end, packet id,
  assignment, and the face exception with its confirming supervisor.
* Type-10 (IDC 1): the portrait, JPEG as captured (CGA ``JPEGB``), IMT FACE,
  POS F. A record with a supervisor-confirmed face exception has NO Type-10;
  its reason and supervisor are in 2.011/2.012.
* Type-14 (IDC 11-20, one per finger): FGP = the record's position code
  (ANSI/NIST and ISO agree: 1 right thumb ... 10 left little), IMP 0 (plain
  live scan), SLC 1 with THPS/TVPS = the sensor's dpi, FQM quality. At 500 ppi
  the image is WSQ (CGA ``WSQ20``, the FBI codec's 0.75 bpp, which the
  ``wsq`` package fixes whatever ratio is asked, and which records 500 ppi
  in its frame header); at any other resolution WSQ does not apply and the
  pixels go losslessly as ``PNG`` at the sensor's own resolution. A finger
  with an exception has a Type-14 without pixels (HLL = VLL = 0, CGA
  ``NONE``), AMP ``XX`` (amputated) or ``UP`` (unable to print) and the
  exact reason in COM as ``rekam:exception=<reason>``.
* Type-8 (IDC 30, 31): the signature, once as scanned uncompressed pixels
  (SRT 0) and once as pen vectors (SRT 2: X, Y in the pad's logical units,
  pressure 1-254, 0 = pen up).

Rules: never log or raise with image bytes or the NIK in a message.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from dataclasses import dataclass

import _wsq  # the C codec of the ``wsq`` package (NBIS); its Pillow plugin calls the same function
import nistitl
import wsq  # noqa: F401  (registers the WSQ format with Pillow, for readers)
from PIL import Image, UnidentifiedImageError

from controller.errors import ControllerError
from protocol.record import EnrollmentRecord, FingerEntry, FingerException, Quality, unpack_samples

VERSION = "0500"  # ANSI/NIST-ITL 1-2011
TOT = "EKTP"
DOMAIN = ("EKTP", "1.0")
#: 19.69 pixels per millimetre: 500 ppi, the only resolution WSQ is defined for.
WSQ_PPI = 500
FACE_IDC = 1
FINGER_IDC0 = 10  # finger at position p has IDC 10 + p
SIGNATURE_IMAGE_IDC = 30
SIGNATURE_VECTOR_IDC = 31

#: The EKTP domain's Type-2 fields (the standard leaves Type-2 to the domain).
T2 = {
    "nik": 3,
    "kelurahan": 4,
    "operator": 5,
    "station": 6,
    "captured_from": 7,
    "captured_to": 8,
    "packet_id": 9,
    "assignment": 10,
    "face_exception": 11,
    "face_confirmed_by": 12,
}
#: AMP codes of ANSI/NIST-ITL 1-2011 Table 31: amputation, unable to print.
AMP_CODE = {FingerException.AMPUTATED: "XX"}
AMP_OTHER = "UP"
#: QAV of the quality algorithm: rekam's station gate has no registered CBEFF vendor id.
QUALITY_VENDOR = "0000"
QUALITY_NOT_COMPUTED = 254


class ExportError(ControllerError):
    """A record that cannot be expressed as a transaction; says which part, never its content."""

    reason_id = "export_error"


@dataclass(frozen=True)
class Transaction:
    packet_id: str
    data: bytes  # the ANSI/NIST-ITL bytes: biometric, never at rest unsealed

    def __repr__(self) -> str:
        return f"Transaction({self.packet_id}, {len(self.data)} bytes)"


def gmt(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y%m%d%H%M%SZ")


def utc_date(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y%m%d")


def build(record: EnrollmentRecord, packet_id: str, *, origin: str, destination: str = "DUKCAPIL",
          now: float) -> Transaction:
    """The transaction for one record (``origin``: the controller id, into ORI and SRC)."""
    msg = nistitl.Message()
    t1 = msg[0]
    t1.VER = VERSION
    t1.TOT = TOT
    t1.DAT = utc_date(now)
    t1.DAI = destination
    t1.ORI = origin
    t1.TCN = packet_id
    t1.NSR = "19.69"
    t1.NTR = "19.69"
    t1.DOM = [list(DOMAIN)]
    t1.GMT = gmt(now)
    msg += _type2(record, packet_id)
    if record.face.image is not None:
        msg += _type10(record, origin)
    for finger in sorted(record.fingers, key=lambda f: f.position):
        msg += _type14(finger, origin)
    msg += _type8_image(record)
    msg += _type8_vectors(record)
    return Transaction(packet_id, msg.NIST)


def _type2(record: EnrollmentRecord, packet_id: str) -> nistitl.AsciiRecord:
    r = nistitl.AsciiRecord(2)
    r.IDC = 0
    values = {
        "nik": record.nik,
        "kelurahan": record.kelurahan_code,
        "operator": record.operator_id,
        "station": record.station_id,
        "captured_from": gmt(record.started_at),
        "captured_to": gmt(record.finished_at),
        "packet_id": packet_id,
        "assignment": record.assignment_id or "",
    }
    if record.face.exception is not None:
        values["face_exception"] = record.face.exception.value
        values["face_confirmed_by"] = record.face.confirmed_by or ""
    for name, value in values.items():
        r += nistitl.Field(2, T2[name], _text(value, name))
    return r


def _type10(record: EnrollmentRecord, origin: str) -> nistitl.AsciiRecord:
    face = record.face
    try:
        with Image.open(io.BytesIO(face.image or b"")) as im:
            if im.format != "JPEG":
                raise ExportError(f"face image is {im.format}, not JPEG")
            width, height, mode = im.width, im.height, im.mode
    except (UnidentifiedImageError, OSError):
        raise ExportError("face image is not a readable JPEG") from None
    r = nistitl.AsciiRecord(10)
    r.IDC = FACE_IDC
    r.IMT = "FACE"
    r.SRC = origin
    r.PHD = utc_date(face.captured_at)
    r.HLL = str(width)
    r.VLL = str(height)
    r.SLC = "0"  # no scale: only the aspect ratio is given
    r.THPS = "1"
    r.TVPS = "1"
    r.CGA = "JPEGB"
    r.CSP = "GRAY" if mode == "L" else "SYCC"
    r.SAP = "1"  # subject acquisition profile: unknown / not stated
    r.POS = "F"
    r.DATA = face.image
    return r


def finger_pixels(entry: FingerEntry) -> Image.Image:
    """The finger's 8-bit grey image as captured (PNG inside the record)."""
    try:
        with Image.open(io.BytesIO(entry.image or b"")) as im:
            im.load()
            return im.convert("L") if im.mode != "L" else im.copy()
    except (UnidentifiedImageError, OSError):
        raise ExportError(f"finger {entry.position} image is not a readable image") from None


def _type14(entry: FingerEntry, origin: str) -> nistitl.AsciiRecord:
    r = nistitl.AsciiRecord(14)
    r.IDC = FINGER_IDC0 + entry.position
    r.IMP = "0"
    r.SRC = origin
    r.FCD = utc_date(entry.captured_at)
    r.FGP = str(entry.position)
    if entry.exception is not None:
        r.HLL = "0"
        r.VLL = "0"
        r.SLC = "0"
        r.THPS = "1"
        r.TVPS = "1"
        r.CGA = "NONE"
        r.BPX = "8"
        r.AMP = [[str(entry.position), AMP_CODE.get(entry.exception, AMP_OTHER)]]
        r.COM = f"rekam:exception={entry.exception.value}"
        r.DATA = b""
        return r
    im = finger_pixels(entry)
    dpi = entry.dpi or WSQ_PPI
    buf = io.BytesIO()
    if dpi == WSQ_PPI:
        # The codec itself, not Image.save(..., "WSQ"): the plugin first copies the
        # pixels through a Python list (4 ms a finger against 1.6 ms). The ratio
        # argument is ignored by the codec (fixed 0.75 bpp) and 500 ppi is recorded.
        buf.write(_wsq.compress(im.tobytes(), im.height, im.width, 0.75))
        cga = "WSQ20"
    else:
        im.save(buf, "PNG", optimize=False)
        cga = "PNG"
    r.HLL = str(im.width)
    r.VLL = str(im.height)
    r.SLC = "1"  # pixels per inch
    r.THPS = str(dpi)
    r.TVPS = str(dpi)
    r.CGA = cga
    r.BPX = "8"
    r.FQM = [[str(entry.position), str(quality_value(entry.quality)), QUALITY_VENDOR, "1"]]
    if entry.quality is not None and entry.quality.forced:
        r.COM = "rekam:forced"
    r.DATA = buf.getvalue()
    return r


def quality_value(q: Quality | None) -> int:
    """QVU 0-100 from the station gate: the contiguous finger area it measured, 254 when it measured none."""
    if q is None:
        return QUALITY_NOT_COMPUTED
    area = q.measures.get("contiguous_fraction", q.measures.get("area_fraction"))
    if area is None:
        return QUALITY_NOT_COMPUTED
    value = round(100 * max(0.0, min(1.0, float(area))))
    return min(value, 49) if not q.passed else value


_T8_HEAD = struct.Struct("!BBBHH")  # SIG, SRT, ISR, HLL, VLL (after LEN and IDC)
_VECTOR = struct.Struct("!HHB")


def _type8_image(record: EnrollmentRecord) -> nistitl.BinaryRecord:
    try:
        with Image.open(io.BytesIO(record.signature.image)) as im:
            grey = im.convert("L")
    except (UnidentifiedImageError, OSError):
        raise ExportError("signature image is not a readable image") from None
    if grey.width > 65535 or grey.height > 65535:
        raise ExportError("signature image is too large for a Type-8 record")
    r = nistitl.BinaryRecord(8)
    r.IDC = SIGNATURE_IMAGE_IDC
    r.value = _T8_HEAD.pack(0, 0, 0, grey.width, grey.height) + grey.tobytes()
    return r


def _type8_vectors(record: EnrollmentRecord) -> nistitl.BinaryRecord:
    out = bytearray()
    for _t, x, y, p, down in unpack_samples(record.signature.samples):
        pressure = 0 if not down else max(1, min(254, round(1 + 253 * max(0.0, min(1.0, p)))))
        out += _VECTOR.pack(_clamp16(x), _clamp16(y), pressure)
    r = nistitl.BinaryRecord(8)
    r.IDC = SIGNATURE_VECTOR_IDC
    r.value = _T8_HEAD.pack(0, 2, 0, 0, 0) + bytes(out)
    return r


def _clamp16(v: float) -> int:
    return max(0, min(65535, round(v)))


def _text(value: str, what: str) -> str:
    """Field text: latin-1 without the ANSI/NIST separators (FS, GS, RS, US)."""
    if any(c in value for c in "\x1c\x1d\x1e\x1f"):
        raise ExportError(f"{what} holds a control character the transaction format reserves")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ExportError(f"{what} holds characters outside latin-1") from None
    return value


# -- reading back (the tests and the central emulator check transactions with these) -------
def parse(data: bytes) -> nistitl.Message:
    msg = nistitl.Message()
    try:
        msg.parse(data)
    except (nistitl.NistException, ValueError, IndexError, struct.error, KeyError) as exc:
        raise ExportError(f"not a valid ANSI/NIST-ITL transaction ({exc.__class__.__name__})") from None
    return msg


def type8_parts(record: nistitl.BinaryRecord) -> tuple[int, int, int, int, int, bytes]:
    """(SIG, SRT, ISR, HLL, VLL, data) of a Type-8 record."""
    sig, srt, isr, hll, vll = _T8_HEAD.unpack_from(record.value)
    return sig, srt, isr, hll, vll, bytes(record.value[_T8_HEAD.size:])


def vectors(data: bytes) -> list[tuple[int, int, int]]:
    return [v for v in _VECTOR.iter_unpack(data[: len(data) // _VECTOR.size * _VECTOR.size])]

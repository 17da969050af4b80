"""The enrollment record: what a sealed packet carries inside.

Plaintext CBOR that exists only in the station's memory between capture and
sealing, and on the controller only while validating or on a deliberate
export. The ``repr`` of every class here hides image bytes, templates and pen
samples, so a record that ends up in a log line or a traceback leaks nothing.

Captures are hash-chained in the order they were taken (face, fingers 1-10,
signature): each entry's ``chain`` is SHA-256 over the previous link and the
entry's own content, and the first link is seeded with the record's NIK,
station and start time. Swapping a capture inside a record, or moving one to
another record, breaks the chain; :func:`validate` recomputes it.
"""

from __future__ import annotations

import hashlib
import struct
from enum import Enum
from typing import Annotated, Iterable, TypeVar

import cbor2
import msgspec
from msgspec import Meta

from protocol import nik as _nik
from protocol import regions
from protocol.errors import ProtocolError, explain

RECORD_VERSION = 1
FINGER_POSITIONS = tuple(range(1, 11))
#: The chip carries the two index fingers; all ten go to the central database.
CHIP_FINGERS = (2, 7)


class RecordError(ProtocolError):
    """A record that is malformed or inconsistent; ``reason_id`` is stable."""

    def __init__(self, reason_id: str, message: str) -> None:
        super().__init__(message, reason_id)


#: Bounds that no real capture comes near: a record that exceeds them is refused while parsing.
Count = Annotated[int, Meta(ge=0, le=2**31)]
Seconds = Annotated[float, Meta(ge=0, le=1e11)]
Name = Annotated[str, Meta(max_length=200)]
Blob = Annotated[bytes, Meta(max_length=16 * 2**20)]
Digest = Annotated[bytes, Meta(max_length=64)]


class FingerException(str, Enum):
    """Why a finger has no usable image; recorded, never silently skipped."""

    AMPUTATED = "amputated"
    BANDAGED = "bandaged"
    SCARRED = "scarred"  # ridges destroyed: burns, scars, worn by labour
    DEFORMED = "deformed"
    UNABLE = "unable_to_present"  # the resident cannot place it (paralysis...)
    DEVICE_FAILURE = "device_failure"  # the scanner failed every attempt


class FaceException(str, Enum):
    """Why a record has no portrait: chosen by the operator and confirmed by a supervisor's PIN.

    A photo in which the gate finds no face is never sealed as a portrait; this
    is the only way past the face step without one.
    """

    NOT_DETECTED = "not_detected"  # the resident sat for it, the detector found no face every time
    INJURY = "injury"  # bandaged or wounded face
    DISFIGURED = "disfigured"
    UNABLE = "unable_to_present"  # cannot sit up or face the camera (bedridden, infant care...)
    DEVICE_FAILURE = "device_failure"  # the camera failed every attempt


class Quality(msgspec.Struct, frozen=True):
    """What the station's quality gate measured on the kept capture."""

    passed: bool
    #: Kept after the retries ran out although it did not pass.
    forced: bool
    attempts: Count
    measures: dict[Name, float] = {}
    #: Reason ids of the gates that failed (empty when passed).
    problems: tuple[Name, ...] = ()


class DeviceInfo(msgspec.Struct, frozen=True):
    kind: Name
    driver: Name
    make: Name
    model: Name
    serial: Name
    firmware: Name


class FaceEntry(msgspec.Struct, frozen=True):
    image: Blob | None  # JPEG; None only with an exception
    width: Count
    height: Count
    captured_at: Seconds
    quality: Quality
    chain: Digest = b""
    exception: FaceException | None = None
    exception_note: Annotated[str, Meta(max_length=500)] = ""
    #: The supervisor who confirmed the exception with their PIN (an operator id).
    confirmed_by: Name | None = None

    def __repr__(self) -> str:
        if self.exception is not None:
            return f"FaceEntry(exception={self.exception.value})"
        return f"FaceEntry({self.width}x{self.height}, {len(self.image or b'')} bytes)"


class FingerEntry(msgspec.Struct, frozen=True):
    position: Count  # 1 = right thumb ... 10 = left little
    captured_at: Seconds
    image: Blob | None = None  # PNG, 8-bit grey
    width: Count = 0
    height: Count = 0
    dpi: Count = 0
    template: Blob | None = None
    template_format: Name | None = None
    quality: Quality | None = None
    exception: FingerException | None = None
    exception_note: Annotated[str, Meta(max_length=500)] = ""
    chain: Digest = b""

    def __repr__(self) -> str:
        what = f"exception={self.exception.value}" if self.exception else f"{self.width}x{self.height}"
        return f"FingerEntry(position={self.position}, {what})"


#: One pen sample on the wire: t_ms (uint32), x, y, pressure (float32), pen_down (uint8), little-endian.
PEN_SAMPLE = struct.Struct("<IfffB")


def pack_samples(samples: Iterable[tuple[int, float, float, float, bool]]) -> bytes:
    """Pen samples as a packed time series (like ISO/IEC 19794-7), not thousands of CBOR arrays."""
    return b"".join(PEN_SAMPLE.pack(t, x, y, p, 1 if down else 0) for t, x, y, p, down in samples)


def unpack_samples(data: bytes) -> list[tuple[int, float, float, float, bool]]:
    if len(data) % PEN_SAMPLE.size:
        raise RecordError("malformed", f"pen samples are {len(data)} bytes, not a multiple of {PEN_SAMPLE.size}")
    return [(t, x, y, p, bool(d)) for t, x, y, p, d in PEN_SAMPLE.iter_unpack(data)]


class SignatureEntry(msgspec.Struct, frozen=True):
    image: Blob  # PNG
    #: Packed pen samples (:data:`PEN_SAMPLE`) in the pad's logical coordinates.
    samples: Blob
    extent: tuple[Count, Count]
    captured_at: Seconds
    quality: Quality
    chain: Digest = b""

    @property
    def sample_count(self) -> int:
        return len(self.samples) // PEN_SAMPLE.size

    def __repr__(self) -> str:
        return f"SignatureEntry({self.sample_count} samples)"


class EnrollmentRecord(msgspec.Struct, frozen=True):
    nik: Name
    kelurahan_code: Name
    station_id: Name
    operator_id: Name
    assignment_id: Name | None
    started_at: Seconds
    finished_at: Seconds
    face: FaceEntry
    fingers: Annotated[tuple[FingerEntry, ...], Meta(max_length=10)]
    signature: SignatureEntry
    devices: Annotated[tuple[DeviceInfo, ...], Meta(max_length=16)]
    version: Count = RECORD_VERSION

    def __repr__(self) -> str:
        masked = self.nik[:4] + "*" * 8 + self.nik[12:] if len(self.nik) == 16 else "?"
        return f"EnrollmentRecord(nik={masked}, station={self.station_id}, kelurahan={self.kelurahan_code})"

    def to_cbor(self) -> bytes:
        return cbor2.dumps(plain(self), canonical=True)

    @classmethod
    def from_cbor(cls, data: bytes) -> "EnrollmentRecord":
        """Decode and fully validate a record; RecordError says what is wrong."""
        try:
            body = cbor2.loads(data)
        except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError, RecursionError, MemoryError) as exc:
            raise RecordError("malformed", f"record is not valid CBOR ({exc.__class__.__name__})") from None
        try:
            record = msgspec.convert(body, cls)
        except msgspec.ValidationError as exc:
            raise RecordError("malformed", explain("record", exc)) from None
        validate(record)
        return record


def plain(value: msgspec.Struct) -> object:
    """A record or entry as CBOR-ready builtins (bytes kept as bytes, enums as their values)."""
    return msgspec.to_builtins(value, builtin_types=(bytes,))


E = TypeVar("E", FaceEntry, FingerEntry, SignatureEntry)


# -- the capture chain --------------------------------------------------------
def chain_seed(nik: str, station_id: str, started_at: float) -> bytes:
    return hashlib.sha256(cbor2.dumps(["rekam-chain-v1", nik, station_id, started_at])).digest()


def link(previous: bytes, entry: FaceEntry | FingerEntry | SignatureEntry) -> bytes:
    """The chain value for ``entry`` following ``previous`` (entry.chain ignored)."""
    content = plain(msgspec.structs.replace(entry, chain=b""))
    digest = hashlib.sha256(cbor2.dumps(content, canonical=True)).digest()
    return hashlib.sha256(previous + digest).digest()


def capture_order(record: EnrollmentRecord) -> list[FaceEntry | FingerEntry | SignatureEntry]:
    return [record.face, *sorted(record.fingers, key=lambda f: f.position), record.signature]


class ChainBuilder:
    """Links captures as the station takes them; the station's only chain logic."""

    def __init__(self, nik: str, station_id: str, started_at: float) -> None:
        self._last = chain_seed(nik, station_id, started_at)

    def add(self, entry: E) -> E:
        linked = msgspec.structs.replace(entry, chain=link(self._last, entry))
        self._last = linked.chain
        return linked


# -- validation ------------------------------------------------------------------
def validate(record: EnrollmentRecord) -> None:
    """Everything a controller checks before it accepts a record."""
    if record.version != RECORD_VERSION:
        raise RecordError("unsupported_version", f"record version {record.version} is not {RECORD_VERSION}")
    try:
        _nik.parse(record.nik)
    except _nik.NIKError as exc:
        raise RecordError("invalid_nik", f"NIK is invalid: {exc}") from None
    try:
        regions.kelurahan(record.kelurahan_code)
    except regions.RegionError as exc:
        raise RecordError("unknown_kelurahan", str(exc)) from None
    face = record.face
    if face.exception is None and not face.image:
        raise RecordError("missing_face", "record has no face image and no face exception")
    if face.exception is not None and face.image:
        raise RecordError("face_ambiguous", "record has both a face image and a face exception")
    if face.exception is not None and not face.confirmed_by:
        raise RecordError("face_exception_unconfirmed", "a face exception needs the confirming supervisor")
    if not record.signature.image or not record.signature.samples:
        raise RecordError("missing_signature", "record has no signature")
    if len(record.signature.samples) % PEN_SAMPLE.size:
        raise RecordError("malformed", "signature pen samples are not whole samples")
    positions = [f.position for f in record.fingers]
    if sorted(positions) != list(FINGER_POSITIONS):
        missing = sorted(set(FINGER_POSITIONS) - set(positions))
        extra = sorted(p for p in set(positions) if positions.count(p) > 1 or p not in FINGER_POSITIONS)
        raise RecordError(
            "fingers_incomplete",
            f"finger positions must be 1-10 once each; missing {missing}, repeated or invalid {extra}",
        )
    for f in record.fingers:
        if f.exception is None and not f.image:
            raise RecordError("finger_missing", f"finger {f.position} has neither an image nor an exception")
        if f.exception is not None and f.image:
            raise RecordError("finger_ambiguous", f"finger {f.position} has both an image and an exception")
    previous = chain_seed(record.nik, record.station_id, record.started_at)
    for entry in capture_order(record):
        expected = link(previous, entry)
        if entry.chain != expected:
            where = f"finger {entry.position}" if isinstance(entry, FingerEntry) else type(entry).__name__
            raise RecordError("chain_broken", f"capture chain broken at {where}")
        previous = expected

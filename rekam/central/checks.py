"""How the emulated centre judges one transaction: validation, then NIK and biometric duplicates.

Validation reads the transaction with nistitl (through the controller's
reader, the same library a real AFIS front end would use) and checks the
Type-1 header, the Type-2 fields the EKTP domain requires, a valid NIK, one
Type-14 per finger position 1-10 and a Type-8 signature. Answers:

* ``ENROLL_FAILURE_INVALID_TRANSACTION``: it does not parse or lacks a field;
* ``ENROLL_FAILURE_NIK_INVALID``: the NIK is not a valid NIK;
* ``ENROLL_FAILURE_FINGER_UNREADABLE``: a finger's quality (FQM) is below the
  minimum, or its WSQ does not decode (the resident must come back);
* ``ENROLL_FAILURE_SIGNATURE_MISSING``: no signature records;
* ``DUPLICATE_RECORD``: the NIK is held already, or the index fingers match a
  record held (templates read from the decoded WSQ by the synthetic
  sensor's template reader, compared with its matcher);
* ``SENT_FOR_ENROLLMENT`` otherwise.

The biometric gallery lives in memory only (rebuilt at start from the sealed
batches kept on disk); reasons carry no personal data.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field

import nistitl
import numpy as np
from PIL import Image

from controller.export import nist
from drivers.synthetic import fingerprint as synth_fp
from protocol import nik as nik_mod

SENT = "SENT_FOR_ENROLLMENT"
DUPLICATE = "DUPLICATE_RECORD"
INDEX_FINGERS = (2, 7)


@dataclass(frozen=True)
class Verdict:
    nik: str
    status: str
    reason: str = ""
    templates: dict[int, bytes] = field(default_factory=dict, repr=False)


def judge(tx: bytes, packet_id: str, *, min_quality: int, biometric: bool) -> Verdict:
    """The centre's answer for one transaction; never raises on what a controller sent."""
    try:
        return _judge(tx, packet_id, min_quality=min_quality, biometric=biometric)
    except (nistitl.NistException, ValueError, IndexError, TypeError, KeyError):
        return Verdict("", "ENROLL_FAILURE_INVALID_TRANSACTION", "a required field is missing or malformed")


def _judge(tx: bytes, packet_id: str, *, min_quality: int, biometric: bool) -> Verdict:
    try:
        msg = nist.parse(tx)
        t1, t2 = msg[0], msg[(2, 0)]
        nik = t2._3
    except (nist.ExportError, IndexError, nistitl.NistException):  # a record or field that is not there
        return Verdict("", "ENROLL_FAILURE_INVALID_TRANSACTION", "transaction does not parse")
    if t1.VER != nist.VERSION or t1.TOT != nist.TOT or t1.TCN != packet_id:
        return Verdict(nik, "ENROLL_FAILURE_INVALID_TRANSACTION", "Type-1 header is not an EKTP enrollment")
    for name in ("kelurahan", "operator", "station", "captured_from"):
        f = t2[nist.T2[name]]  # a Field with no subfields is falsy: test for None
        if f is None or not f.value:
            return Verdict(nik, "ENROLL_FAILURE_INVALID_TRANSACTION", f"Type-2 field {name} is missing")
    try:
        nik_mod.parse(nik)
    except ValueError:
        return Verdict(nik, "ENROLL_FAILURE_NIK_INVALID", "")
    fingers = {int(r.FGP): r for r in msg.iter(14)}
    if sorted(fingers) != list(range(1, 11)):
        return Verdict(nik, "ENROLL_FAILURE_INVALID_TRANSACTION", "not one Type-14 per finger position")
    if len(list(msg.iter(8))) < 1:
        return Verdict(nik, "ENROLL_FAILURE_SIGNATURE_MISSING", "")
    templates: dict[int, bytes] = {}
    for pos, r in sorted(fingers.items()):
        if r.CGA == "NONE":
            continue  # an exception (AMP), recorded at the station
        fqm = r.FQM
        quality = int(fqm[0][1]) if fqm else 0
        if quality < min_quality:
            return Verdict(nik, "ENROLL_FAILURE_FINGER_UNREADABLE", f"finger {pos} quality {quality}")
        if biometric and pos in INDEX_FINGERS:
            try:
                pixels = np.asarray(Image.open(io.BytesIO(r.DATA)).convert("L"))
            except (OSError, ValueError):
                return Verdict(nik, "ENROLL_FAILURE_FINGER_UNREADABLE", f"finger {pos} image does not decode")
            templates[pos] = synth_fp.template_from_image(pixels)
    return Verdict(nik, SENT, "", templates)


class Gallery:
    """Index-finger templates of every record the centre holds (memory only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[str, dict[int, bytes]]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, templates: dict[int, bytes]) -> str | None:
        """The packet id of a held record whose index fingers match, if any."""
        if not templates:
            return None
        with self._lock:
            entries = list(self._entries)
        for packet_id, held in entries:
            common = [p for p in templates if p in held]
            if common and all(synth_fp.match_score(templates[p], held[p]) >= synth_fp.MATCH_THRESHOLD
                              for p in common):
                return packet_id
        return None

    def add(self, packet_id: str, templates: dict[int, bytes]) -> None:
        if templates:
            with self._lock:
                self._entries.append((packet_id, templates))

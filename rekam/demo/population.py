"""A synthetic population still to be recorded, kelurahan by kelurahan.

Every resident has a valid NIK (the kecamatan where it was first issued,
mostly the one they live in; day + 40 for women; a plausible birth date for
the residents a 2013 backlog holds: many just turned 17, some elderly), a
synthetic face, fingers and signature keyed by that NIK, and a script of how
their captures go: most first time, some with a smudged or dry finger, a
blurred photo, a shaky signature, a few with a finger missing. Everything is
drawn from the NIK and the seed, so the same demo gives the same people.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from drivers.scene import FaceCondition, FingerCondition, Person, SignatureCondition
from drivers.synthetic.seed import rng_for
from protocol import nik as nik_mod
from protocol import regions
from protocol.record import FingerException
from station.scripted import ResidentScript


@dataclass(frozen=True)
class Resident:
    nik: str
    person: Person
    kelurahan_code: str
    script: ResidentScript

    def __repr__(self) -> str:
        return f"Resident({self.nik[:4]}********{self.nik[12:]}, {self.kelurahan_code})"


def _birth_date(rng, today: dt.date) -> dt.date:
    u = rng.random()
    if u < 0.55:
        age = 17 + rng.integers(0, 4)  # just became wajib KTP
    elif u < 0.85:
        age = 21 + rng.integers(0, 40)
    else:
        age = 61 + rng.integers(0, 30)  # elderly, often reached by home visits
    born = today - dt.timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
    return born


def _script(person: Person, nik: str) -> ResidentScript:
    rng = rng_for("demo-script", nik)
    face: tuple[FaceCondition, ...] = (FaceCondition.GOOD,)
    u = rng.random()
    if u < 0.03:
        face = (FaceCondition.BLURRED, FaceCondition.GOOD)
    elif u < 0.05:
        face = (FaceCondition.WRONG_BACKDROP, FaceCondition.GOOD)
    elif u < 0.07:
        face = (FaceCondition.TOO_FAR, FaceCondition.GOOD)
    fingers: dict[int, tuple[FingerCondition, ...]] = {}
    if rng.random() < 0.12:
        fingers[int(rng.integers(1, 11))] = (FingerCondition.SMUDGED, FingerCondition.GOOD)
    if rng.random() < 0.05:
        fingers[int(rng.integers(1, 11))] = (FingerCondition.DRY, FingerCondition.DRY, FingerCondition.GOOD)
    if rng.random() < 0.01:
        fingers[int(rng.integers(1, 11))] = (FingerCondition.SMUDGED,)  # never clean: kept as forced
    missing: dict[int, FingerException] = {p: FingerException.AMPUTATED for p in person.missing_fingers}
    if rng.random() < 0.01:
        missing[int(rng.integers(1, 11))] = FingerException.BANDAGED
    signature: tuple[SignatureCondition, ...] = (SignatureCondition.GOOD,)
    if rng.random() < 0.05:
        signature = (SignatureCondition.SHAKY, SignatureCondition.GOOD)
    for p in missing:
        fingers.pop(p, None)
    return ResidentScript(person=person, nik=nik, face=face, fingers=fingers, missing=missing, signature=signature)


class Population:
    """Who is still to be recorded where; taken and returned by stations, thread-safe."""

    def __init__(self, left_by_kelurahan: dict[str, int], *, today: dt.date, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[Resident]] = {}
        self.enrolled: dict[str, Resident] = {}
        serials: dict[str, int] = {}
        kecamatan = sorted({regions.kelurahan(c).kecamatan_code for c in left_by_kelurahan})
        for code, n in sorted(left_by_kelurahan.items()):
            home = regions.kelurahan(code).kecamatan_code
            people = []
            for i in range(n):
                rng = rng_for("demo-resident", seed, code, i)
                sex = "F" if rng.random() < 0.5 else "M"
                born = _birth_date(rng, today)
                region = home if rng.random() < 0.9 else kecamatan[int(rng.integers(0, len(kecamatan)))]
                key = f"{region}{sex}{born.isoformat()}"
                serials[key] = serials.get(key, 0) + 1
                nik = nik_mod.make(region, sex, born, serials[key])
                missing = frozenset({int(rng.integers(1, 11))}) if rng.random() < 0.01 else frozenset()
                person = Person(person_id=nik, sex=sex, birth_year=born.year, missing_fingers=missing)
                people.append(Resident(nik, person, code, _script(person, nik)))
            self._waiting[code] = people

    def take(self, code: str, n: int) -> list[Resident]:
        with self._lock:
            queue = self._waiting.get(code, [])
            taken, self._waiting[code] = queue[:n], queue[n:]
            return taken

    def give_back(self, residents: list[Resident]) -> None:
        """Those who queued but were not served before closing come another day."""
        with self._lock:
            for r in residents:
                self._waiting.setdefault(r.kelurahan_code, []).insert(0, r)

    def mark_enrolled(self, resident: Resident) -> None:
        with self._lock:
            self.enrolled[resident.nik] = resident

    def left(self, code: str) -> int:
        with self._lock:
            return len(self._waiting.get(code, []))

    def total_left(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._waiting.values())

    def all_residents(self) -> list[Resident]:
        with self._lock:
            return [r for v in self._waiting.values() for r in v] + list(self.enrolled.values())

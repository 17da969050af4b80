"""How the dashboard writes times, ages, sizes and NIKs (Jinja filters).

Times are WIB (UTC+7, no daylight saving). A NIK is always masked
(``3372********0001``); only the admin's audited reveal shows it whole.
"""

from __future__ import annotations

import datetime as dt

from protocol import nik as nik_mod
from protocol.wib import WIB


def mask_nik(nik: str | None) -> str:
    return nik_mod.mask(nik) if nik else "-"


def wib(ts: float | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, WIB).strftime(fmt)


def hhmm(ts: float | None) -> str:
    return wib(ts, "%H:%M:%S")


def iso(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts, WIB).isoformat()


def age(seconds: float | None, lang: str = "id") -> str:
    if seconds is None:
        return "-"
    s = max(0.0, seconds)
    units = {"id": ("dtk", "mnt", "jam", "hr"), "en": ("s", "min", "h", "d")}[lang if lang == "en" else "id"]
    if s < 90:
        return f"{s:.0f} {units[0]}"
    if s < 5400:
        return f"{s / 60:.0f} {units[1]}"
    if s < 172800:
        return f"{s / 3600:.0f} {units[2]}"
    return f"{s / 86400:.0f} {units[3]}"


def size(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "-"


def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "-"


FILTERS = {"mask_nik": mask_nik, "wib": wib, "hhmm": hhmm, "iso": iso, "size": size}

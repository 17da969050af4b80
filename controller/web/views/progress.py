"""Progress: recorded against target per kecamatan and kelurahan (charts and a tile grid),
today's recordings by station and by hour, the forecast finish date of the current plan, and the
hand-off: how far the records got at the centre, and who must come back."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from controller.export.delivery import NEEDS_RESIDENT
from controller.store.dashboard import WIB_OFFSET_S
from protocol import regions
from controller.web import fmt
from controller.web.i18n import translate
from controller.web.pages import dash, guard, language, render


def _today_span(now: float) -> tuple[float, float]:
    day = dt.datetime.fromtimestamp(now, fmt.WIB).date()
    start = dt.datetime.combine(day, dt.time(), fmt.WIB).timestamp()
    return start, start + 86400


def tile_colour(fraction: float) -> str:
    """Red (nothing) through amber to green (done): hue 0..130."""
    f = max(0.0, min(1.0, fraction))
    return f"hsl({round(130 * f)}, 70%, {88 - round(18 * f)}%)"


def _region_name(code: str) -> str:
    try:
        return regions.region(code).name
    except regions.RegionError:
        return code


@guard("viewer")
def progress_page(request: Request) -> Response:
    d = dash(request)
    rows = d.store.progress()
    by_kec: dict[str, dict] = {}
    for p in rows:
        k = by_kec.setdefault(p.kecamatan_code, {"name": p.kecamatan, "wajib": 0, "recorded": 0, "here": 0,
                                                  "kelurahan": []})
        k["wajib"] += p.wajib_ktp
        k["recorded"] += min(p.recorded, p.wajib_ktp)
        k["here"] += p.recorded_here
        k["kelurahan"].append({"p": p, "fraction": min(1.0, p.recorded / p.wajib_ktp) if p.wajib_ktp else 1.0})
    for k in by_kec.values():
        for t in k["kelurahan"]:
            t["colour"] = tile_colour(t["fraction"])
    total_w = sum(k["wajib"] for k in by_kec.values())
    total_r = sum(k["recorded"] for k in by_kec.values())
    plan = d.active_plan()
    since, until = _today_span(d.clock())
    today = d.store.recordings_by_hour(since, until)
    funnel = [(r, _region_name(r.kecamatan_code)) for r in d.store.funnel()]
    revisits = [(k, _region_name(k), p, fmt.mask_nik(n), s.removeprefix("ENROLL_FAILURE_").lower())
                for k, p, n, s in d.store.revisits(NEEDS_RESIDENT)]
    return render(request, "progress.html", {
        "funnel": funnel, "revisits": revisits,
        "kecamatan": by_kec, "total_w": total_w, "total_r": total_r, "here": sum(k["here"] for k in by_kec.values()),
        "plan": plan[1] if plan else None, "plan_id": plan[0] if plan else None,
        "today_total": sum(n for *_, n in today), "pct": fmt.pct,
    })


@guard("viewer")
def progress_json(request: Request) -> Response:
    d = dash(request)
    lang = language(request)
    what = request.query_params.get("what", "kecamatan")
    if what == "kecamatan":
        by_kec: dict[str, list[int]] = {}
        names: dict[str, str] = {}
        for p in d.store.progress():
            acc = by_kec.setdefault(p.kecamatan_code, [0, 0])
            acc[0] += p.wajib_ktp
            acc[1] += min(p.recorded, p.wajib_ktp)
            names[p.kecamatan_code] = p.kecamatan
        codes = sorted(by_kec)
        return JSONResponse({"x": list(range(len(codes))), "xkind": "index", "xlabels": [names[c] for c in codes],
                             "bars": True, "series": [
                                 {"label": translate("Wajib KTP", lang), "values": [by_kec[c][0] for c in codes],
                                  "color": "#8a94a3"},
                                 {"label": translate("Recorded", lang), "values": [by_kec[c][1] for c in codes],
                                  "color": "#1a7f37"}]})
    since, until = _today_span(d.clock())
    rows = d.store.recordings_by_hour(since, until)
    if what == "hour":
        hours: dict[int, int] = {}
        for _sid, h, n in rows:
            hours[h] = hours.get(h, 0) + n
        hs = sorted(hours)
        return JSONResponse({"x": [h * 3600 - WIB_OFFSET_S for h in hs], "bars": True,
                             "series": [{"label": translate("Recorded", lang), "values": [hours[h] for h in hs]}]})
    if what == "station":
        per: dict[str, int] = {}
        for sid, _h, n in rows:
            per[sid] = per.get(sid, 0) + n
        sids = sorted(per)
        return JSONResponse({"x": list(range(len(sids))), "xkind": "index", "xlabels": sids, "bars": True,
                             "series": [{"label": translate("Recorded", lang), "values": [per[s] for s in sids]}]})
    return JSONResponse({"error": "what must be kecamatan, hour or station"}, status_code=400)


routes = [Route("/progress", progress_page), Route("/progress/data.json", progress_json)]

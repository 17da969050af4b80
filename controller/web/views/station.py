"""One station's page: what it is, its state now, telemetry charts over a chosen range, its alarms and commands."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from controller.commands import DEVICE_KINDS
from controller.store.dashboard import WIB_OFFSET_S
from controller.web import fmt
from controller.web.i18n import translate
from controller.web.pages import dash, guard, language, render
from controller.web.views.fleet import build_rows
from protocol.messages import CommandName

RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400}
RANGE_LABELS = {"1h": "last hour", "6h": "last 6 hours", "24h": "last 24 hours", "7d": "last 7 days"}


def _span(request: Request, now: float) -> tuple[float, float, str]:
    """(since, until, label) from ``range`` or a ``from``/``to`` pair of WIB dates."""
    q = request.query_params
    try:
        if q.get("from"):
            since = dt.datetime.combine(dt.date.fromisoformat(q["from"]), dt.time(), fmt.WIB).timestamp()
            to = dt.date.fromisoformat(q["to"]) if q.get("to") else dt.date.fromisoformat(q["from"])
            until = dt.datetime.combine(to + dt.timedelta(days=1), dt.time(), fmt.WIB).timestamp()
            if until > since:
                return since, min(until, since + 92 * 86400), "custom"
    except ValueError:
        pass
    key = q.get("range", "6h")
    key = key if key in RANGES else "6h"
    return now - RANGES[key], now, key


def _station_or_404(request: Request):
    st = dash(request).store.station(request.path_params["station_id"])
    if st is None:
        return None, render(request, "notfound.html", {"what": request.path_params["station_id"]}, status=404)
    return st, None


@guard("viewer")
def station_page(request: Request) -> Response:
    st, missing = _station_or_404(request)
    if missing:
        return missing
    d = dash(request)
    since, until, key = _span(request, d.clock())
    [row] = build_rows(d, [st.station_id]) or [None]
    query = request.url.query or "range=6h"
    return render(request, "station.html", {
        "st": st, "row": row, "range": key, "ranges": RANGE_LABELS, "query": query,
        "from": request.query_params.get("from", ""), "to": request.query_params.get("to", ""),
        "alarms": d.store.alarm_records(station_id=st.station_id, limit=20),
        "commands": d.store.commands(station_id=st.station_id, limit=10),
        "packets": d.store.packet_count(st.station_id),
        "command_names": [c.value for c in CommandName], "device_kinds": DEVICE_KINDS,
    })


@guard("viewer")
def station_summary(request: Request) -> Response:
    st, missing = _station_or_404(request)
    if missing:
        return missing
    [row] = build_rows(dash(request), [st.station_id]) or [None]
    return render(request, "station_summary.html", {"st": st, "row": row}, fragment=True)


@guard("viewer")
def telemetry_json(request: Request) -> Response:
    st, missing = _station_or_404(request)
    if missing:
        return JSONResponse({"error": "no such station"}, status_code=404)
    d = dash(request)
    lang = language(request)
    since, until, _ = _span(request, d.clock())
    metric = request.query_params.get("metric", "outbox")
    if metric == "enrollments":
        by_hour = d.store.recordings_by_hour(since, until, st.station_id)
        xs = [h * 3600 - WIB_OFFSET_S for _, h, _n in by_hour]
        return JSONResponse({"x": xs, "bars": True, "series": [
            {"label": translate("Enrollments per hour", lang), "values": [n for *_, n in by_hour]}]})
    points = d.store.telemetry_range(st.station_id, since, until)
    pick = {
        "outbox": ("Outbox depth", lambda p: p.outbox_depth),
        "disk": ("Disk free (MiB)", lambda p: None if p.disk_free_bytes is None else round(p.disk_free_bytes / 2**20)),
        "temperature": ("Temperature (°C)", lambda p: p.temperature_c),
    }.get(metric)
    if pick is None:
        return JSONResponse({"error": "metric must be outbox, disk, temperature or enrollments"}, status_code=400)
    label, value = pick
    return JSONResponse({"x": [p.at for p in points],
                         "series": [{"label": translate(label, lang), "values": [value(p) for p in points]}]})


routes = [
    Route("/stations/{station_id}", station_page),
    Route("/stations/{station_id}/summary", station_summary),
    Route("/stations/{station_id}/telemetry.json", telemetry_json),
]

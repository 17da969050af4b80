"""Schedule: the active plan as a calendar by station and by kelurahan, the re-plans and why, venues.

Venues are added, edited and removed here; the running controller re-plans
around them at its next tick ("outreach events changed"), and the page hears
of the new plan on the live channel.
"""

from __future__ import annotations

import datetime as dt
import zlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.errors import StoreError
from controller.scheduler import Venue, VenueError, VenueKind
from controller.scheduler.codec import venue_to_json
from controller.web.context import kelurahan_name
from controller.web.i18n import error_text, translate
from controller.web.pages import audit, dash, field, flash, guard, language, redirect, render


def _colour(code: str) -> str:
    return f"hsl({zlib.crc32(code[:8].encode()) % 360}, 55%, 86%)"


def _grid(request: Request) -> dict:
    d = dash(request)
    q = request.query_params
    view = q.get("view", "station") if q.get("view") in ("station", "kelurahan") else "station"
    try:
        start = dt.date.fromisoformat(q["from"]) if q.get("from") else d.today()
    except ValueError:
        start = d.today()
    try:
        days = min(60, max(1, int(q.get("days", "14"))))
    except ValueError:
        days = 14
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    row = d.store.active_plan()
    cells: dict[str, dict[str, list]] = {}
    if row is not None:
        last = dates[-1].isoformat()
        for a in d.store.assignments(row[0], from_date=start.isoformat()):
            if a.date > last:
                continue
            venue = (a.venue or {}).get("name", "")
            if view == "station":
                cells.setdefault(a.station_id, {}).setdefault(a.date, []).append(
                    (kelurahan_name(a.kelurahan_code), venue, _colour(a.kelurahan_code)))
            else:
                cells.setdefault(a.kelurahan_code, {}).setdefault(a.date, []).append(
                    (a.station_id, venue, _colour(a.kelurahan_code)))
    if view == "station":
        for st in d.store.stations():
            if not st.revoked:
                cells.setdefault(st.station_id, {})
        labels = {k: k for k in cells}
    else:
        labels = {k: kelurahan_name(k) for k in cells}
    return {"view": view, "dates": dates, "cells": dict(sorted(cells.items())), "labels": labels,
            "start": start.isoformat(), "days": days, "today": d.today().isoformat(), "plan_id": row[0] if row else None,
            "query": request.url.query}


@guard("viewer")
def schedule_page(request: Request) -> Response:
    d = dash(request)
    ctx = _grid(request)
    edit = request.query_params.get("edit")
    ctx.update(plans=d.store.plan_entries(30), venues=d.store.venues(from_date=(d.today() - dt.timedelta(days=7))
                                                                      .isoformat()),
               kinds=[k.value for k in VenueKind], editing=d.store.venue(edit) if edit else None)
    return render(request, "schedule.html", ctx)


@guard("viewer")
def schedule_grid(request: Request) -> Response:
    return render(request, "schedule_grid.html", _grid(request), fragment=True)


@guard("viewer")
def schedule_plans(request: Request) -> Response:
    return render(request, "schedule_plans.html", {"plans": dash(request).store.plan_entries(30)}, fragment=True)


def _venue_from_form(request: Request) -> Venue:
    stations = field(request, "stations")
    try:
        people = int(field(request, "expected_people") or "0")
        n = int(stations) if stations else None
        day = dt.date.fromisoformat(field(request, "date"))
        start, end = (dt.time.fromisoformat(field(request, h)) if field(request, h) else None for h in ("start", "end"))
    except ValueError:
        raise VenueError("date must be YYYY-MM-DD, hours HH:MM, expected people and stations whole numbers") from None
    return Venue(field(request, "venue_id"), field(request, "kind"), field(request, "name"), field(request, "address"),
                 field(request, "kelurahan_code"), day, people, n, start, end)


@guard("operator")
def save_venue(request: Request) -> Response:
    old = request.path_params.get("venue_id")
    d = dash(request)
    try:
        venue = _venue_from_form(request)
        if old:
            d.store.replace_venue(old, venue_to_json(venue))
        else:
            d.store.add_venue(venue_to_json(venue))
    except (VenueError, StoreError) as exc:
        flash(request, error_text(exc, language(request)), "err")
        return redirect("/schedule" + (f"?edit={old}" if old else "") + "#venues")
    audit(request, "venue.edit" if old else "venue.add", venue.venue_id,
          f"{venue.kind.value} {venue.name!r} {venue.date} {venue.kelurahan_code} ({venue.expected_people} people)")
    flash(request, translate("Venue saved; the controller re-plans around it.", language(request)))
    return redirect("/schedule#venues")


@guard("operator")
def remove_venue(request: Request) -> Response:
    venue_id = request.path_params["venue_id"]
    if dash(request).store.remove_venue(venue_id):
        audit(request, "venue.remove", venue_id)
        flash(request, translate("Venue removed.", language(request)))
    else:
        flash(request, translate("No venue {venue}.", language(request)).format(venue=venue_id), "err")
    return redirect("/schedule#venues")


routes = [
    Route("/schedule", schedule_page),
    Route("/schedule/grid", schedule_grid),
    Route("/schedule/plans", schedule_plans),
    Route("/schedule/venues", save_venue, methods=["POST"]),
    Route("/schedule/venues/{venue_id}", save_venue, methods=["POST"]),
    Route("/schedule/venues/{venue_id}/delete", remove_venue, methods=["POST"]),
]

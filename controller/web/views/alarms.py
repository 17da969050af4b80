"""Alarms: the open ones (live), their history, acknowledgement by a named user, webhook deliveries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.alarms import ALARM_KINDS
from controller.web.i18n import translate
from controller.web.pages import audit, dash, field, flash, guard, language, redirect, render, safe_next


def _lists(request: Request) -> dict:
    d = dash(request)
    q = request.query_params
    station, kind = q.get("station") or None, q.get("kind") or None
    try:
        days = min(90, max(1, int(q.get("days", "7"))))
    except ValueError:
        days = 7
    open_ = d.store.alarm_records(open_only=True, station_id=station, kind=kind)
    history = [a for a in d.store.alarm_records(station_id=station, kind=kind, since=d.clock() - days * 86400,
                                                limit=300) if not a.open]
    return {"open": open_, "history": history, "station": station or "", "kind": kind or "", "days": days,
            "kinds": ALARM_KINDS, "deliveries": d.store.notifications([a.id for a in open_ + history]),
            "webhook": bool(d.config.notify.webhook_url), "query": request.url.query}


@guard("viewer")
def alarms_page(request: Request) -> Response:
    return render(request, "alarms.html", _lists(request))


@guard("viewer")
def alarms_list(request: Request) -> Response:
    return render(request, "alarms_list.html", _lists(request), fragment=True)


@guard("operator")
def acknowledge(request: Request) -> Response:
    d = dash(request)
    lang = language(request)
    try:
        alarm_id = int(request.path_params["alarm_id"])
    except ValueError:
        return render(request, "notfound.html", {"what": request.path_params["alarm_id"]}, status=404)
    alarm = d.store.alarm(alarm_id)
    if alarm is None:
        return render(request, "notfound.html", {"what": f"alarm {alarm_id}"}, status=404)
    note = field(request, "note")[:500]
    if d.store.ack_alarm(alarm_id, request.state.user.username, note):
        audit(request, "alarm.ack", f"alarm {alarm_id}", f"{alarm.station_id} {alarm.kind}" + (f": {note}" if note else ""))
        flash(request, translate("Alarm acknowledged.", lang))
        d.hub.notify("alarms", {"open": sum(d.store.open_alarm_counts().values()), "critical": sum(
            n for (_k, s), n in d.store.open_alarm_counts().items() if s == "critical")})
    else:
        flash(request, translate("Already acknowledged.", lang), "err")
    return redirect(safe_next(field(request, "next")) if field(request, "next") else "/alarms")


routes = [
    Route("/alarms", alarms_page),
    Route("/alarms/list", alarms_list),
    Route("/alarms/{alarm_id}/ack", acknowledge, methods=["POST"]),
]

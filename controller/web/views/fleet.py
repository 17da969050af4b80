"""The fleet page: every station's state, live, with filter and sort.

A row says: online/offline (a station "online" but silent for
``silent_after_s`` counts as offline) and when it was last seen; today's
assignment and where the station itself believes it is (its telemetry's
assignment, flagged when the place differs); outbox depth and how long it has
not been empty; disk, temperature, devices and drivers, software version,
enrollments today; open alarms. :func:`build_rows` serves the page, its
refresh fragment and the live channel alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.alarms import SEVERITY_ORDER
from controller.web.context import Dashboard, kelurahan_name
from controller.web.pages import dash, guard, render


@dataclass(frozen=True)
class StationRow:
    station_id: str
    revoked: bool
    online: bool
    silent: bool
    last_seen: float | None
    planned: str | None  # kelurahan code
    planned_name: str
    venue: str
    actual: str | None
    actual_name: str
    mismatch: bool
    outbox_depth: int | None
    #: When the oldest packet waiting was sealed (the station says), else since when the controller
    #: has seen the outbox not empty (a station from before it said so)
    oldest_at: float | None
    oldest_exact: bool
    disk_free: int | None
    temperature: float | None
    drivers: tuple[tuple[str, str, bool, str], ...]
    version: str
    enrolled_today: int | None
    alarms: tuple[tuple[str, str], ...]  # (kind, severity)

    @property
    def severity(self) -> str:
        return min((s for _, s in self.alarms), key=lambda s: SEVERITY_ORDER.get(s, 9), default="")

    @property
    def state(self) -> str:
        return "revoked" if self.revoked else "online" if self.online else "silent" if self.silent else "offline"


def build_rows(d: Dashboard, station_ids: list[str] | None = None) -> list[StationRow]:
    now = d.clock()
    silent_after = d.config.fleet.silent_after_s
    today = d.assignments_on(d.today().isoformat())
    wanted = set(station_ids or ())
    with d.store.transaction():
        stations = d.store.stations() if station_ids is None else d.store.stations_named(sorted(wanted))
        open_alarms = d.store.open_alarm_keys()
    severity: dict[str, list[tuple[str, str]]] = {}
    if open_alarms:
        from controller.alarms import SEVERITY
        for (sid, kind) in open_alarms:
            severity.setdefault(sid, []).append((kind, SEVERITY.get(kind, "warning")))
    reported = {(s.last_telemetry or {}).get("assignment_id") for s in stations} - {None}
    places = d.places(reported) if reported else {}
    rows = []
    for s in stations:
        t = s.last_telemetry or {}
        silent = bool(s.online and s.last_seen is not None and now - s.last_seen > silent_after)
        plan = today.get(s.station_id)
        planned = plan.kelurahan_code if plan else None
        actual = places.get(t.get("assignment_id")) if t.get("assignment_id") else None
        drivers = tuple((kind, str(h.get("driver", "?")), bool(h.get("ok", True)), str(h.get("reason") or ""))
                        for kind, h in sorted((t.get("drivers") or {}).items()) if isinstance(h, dict)) or \
            tuple((k, v, True, "") for k, v in sorted(s.drivers.items()))
        rows.append(StationRow(
            station_id=s.station_id, revoked=s.revoked, online=s.online and not silent, silent=silent,
            last_seen=s.last_seen, planned=planned, planned_name=kelurahan_name(planned) if planned else "",
            venue=(plan.venue or {}).get("name", "") if plan else "",
            actual=actual, actual_name=kelurahan_name(actual) if actual else "",
            mismatch=bool(actual and planned and actual != planned),
            outbox_depth=t.get("outbox_depth"),
            oldest_at=t.get("outbox_oldest_at") or d.outbox_nonempty_since.get(s.station_id),
            oldest_exact=t.get("outbox_oldest_at") is not None,
            disk_free=t.get("disk_free_bytes"), temperature=t.get("temperature_c"), drivers=drivers,
            version=s.version or "", enrolled_today=t.get("enrollments_today"),
            alarms=tuple(sorted(severity.get(s.station_id, []), key=lambda a: SEVERITY_ORDER.get(a[1], 9))),
        ))
    return rows


SORTS = {
    "station": lambda r: r.station_id,
    "last_seen": lambda r: -(r.last_seen or 0),
    "outbox": lambda r: -(r.outbox_depth or 0),
    "disk": lambda r: r.disk_free if r.disk_free is not None else float("inf"),
    "temperature": lambda r: -(r.temperature if r.temperature is not None else -1000),
    "enrolled": lambda r: -(r.enrolled_today or 0),
    "alarms": lambda r: (SEVERITY_ORDER.get(r.severity, 9), -len(r.alarms), r.station_id),
}


def select(rows: list[StationRow], q: str, state: str, sort: str) -> list[StationRow]:
    q = q.strip().lower()
    if q:
        rows = [r for r in rows if q in r.station_id.lower() or q in r.planned_name.lower()
                or q in r.actual_name.lower() or q in (r.planned or "")]
    if state in ("online", "offline"):
        rows = [r for r in rows if (r.state == "online") == (state == "online")]
    elif state == "alarm":
        rows = [r for r in rows if r.alarms]
    return sorted(rows, key=SORTS.get(sort, SORTS["station"]))


def _query(request: Request) -> tuple[str, str, str]:
    q = request.query_params
    return q.get("q", "")[:100], q.get("state", "all"), q.get("sort", "station")


@guard("viewer")
def fleet_page(request: Request) -> Response:
    d = dash(request)
    all_rows = build_rows(d)
    q, state, sort = _query(request)
    rows = select(all_rows, q, state, sort)
    summary = {
        "stations": sum(1 for r in all_rows if not r.revoked),
        "online": sum(1 for r in all_rows if r.state == "online"),
        "alarms": sum(len(r.alarms) for r in all_rows),
        "outbox": sum(r.outbox_depth or 0 for r in all_rows),
        "enrolled": sum(r.enrolled_today or 0 for r in all_rows),
    }
    return render(request, "fleet.html", {"rows": rows, "q": q, "state": state, "sort": sort, "summary": summary,
                                          "sorts": list(SORTS), "query": request.url.query})


@guard("viewer")
def fleet_rows(request: Request) -> Response:
    q, state, sort = _query(request)
    return render(request, "fleet_rows.html", {"rows": select(build_rows(dash(request)), q, state, sort)},
                  fragment=True)


routes = [Route("/fleet", fleet_page), Route("/fleet/rows", fleet_rows)]

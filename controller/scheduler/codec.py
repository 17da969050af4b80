"""A scheduler :class:`~controller.scheduler.Plan` to JSON and back, validated by msgspec.

The store keeps each plan whole (targets and the field state at its start,
constraints, model, home areas, deadline, parameters, assignments) so a
restarted controller can re-plan from it without remembering anything else.
Everything read back goes through msgspec Structs first: a stored plan or a
venue that does not fit is refused with a ``PlanningError`` naming the field
(``$.targets[3][4]``), never half-read. Floats JSON cannot hold
(``inf``) are written as strings.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import msgspec

from .model import Constraints, KelurahanTarget, Plan, PlanningError, StationDay
from .params import TurnoutParameters
from .state import FieldState
from .turnout import TurnoutModel
from .venues import Venue, VenueError

HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Count = Annotated[int, msgspec.Meta(ge=0)]
Share = Annotated[float, msgspec.Meta(ge=0)]


class TargetDoc(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    code: str
    name: str
    kecamatan_code: str
    kecamatan: str
    wajib_ktp: Count
    recorded: Count
    first_voters: Count = 0
    home_bound: Count = 0
    lat: float | None = None
    lon: float | None = None


class AssignmentDoc(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    date: dt.date
    station_id: str
    place: str
    kelurahan: str
    start: HHMM
    end: HHMM
    reason: str = ""


class VenueDoc(msgspec.Struct, forbid_unknown_fields=True):
    venue_id: str
    kind: str
    name: str
    address: str
    kelurahan_code: str
    date: dt.date
    expected_people: Annotated[int, msgspec.Meta(ge=1)]
    stations: Annotated[int, msgspec.Meta(ge=1)] | None = None
    start: HHMM | None = None
    end: HHMM | None = None


class ConstraintsDoc(msgspec.Struct, forbid_unknown_fields=True):
    days_off: list[dt.date] = []
    weekdays_off: list[Annotated[int, msgspec.Meta(ge=0, le=6)]] = []
    unavailable: dict[str, list[dt.date]] = {}
    dropped_out: dict[str, dt.date] = {}
    venues: list[VenueDoc] = []


class ModelDoc(msgspec.Struct, forbid_unknown_fields=True):
    params: dict[str, float]
    noise: Share = 0.0
    seed: int = 0


class StateDoc(msgspec.Struct, forbid_unknown_fields=True):
    reachable: list[Share]
    hard: list[Share]
    home: list[Share]
    first_voters: list[Share]
    last_visit: list[int | None]


class PlanDoc(msgspec.Struct, forbid_unknown_fields=True):
    planner: str
    parameters: dict[str, Any]
    start: dt.date
    station_ids: list[str]
    finished: bool
    model: ModelDoc
    targets: list[TargetDoc]
    constraints: ConstraintsDoc
    assignments: list[AssignmentDoc]
    expected_left: dict[str, Share] = {}
    warnings: list[str] = []
    homes: dict[str, str] = {}
    state: StateDoc | None = None
    deadline: dt.date | None = None


def plan_to_json(plan: Plan) -> dict[str, Any]:
    c = plan.constraints
    s = plan.state
    doc = PlanDoc(
        planner=plan.planner,
        parameters={k: _num_out(v) for k, v in plan.parameters.items()},
        start=plan.start,
        station_ids=list(plan.station_ids),
        finished=plan.finished,
        model=ModelDoc(plan.model.params.as_dict(), plan.model.noise, plan.model.seed),
        targets=[TargetDoc(t.code, t.name, t.kecamatan_code, t.kecamatan, t.wajib_ktp, t.recorded, t.first_voters,
                           t.home_bound, t.lat, t.lon) for t in plan.targets],
        constraints=ConstraintsDoc(
            days_off=sorted(c.days_off), weekdays_off=sorted(c.weekdays_off),
            unavailable={st: sorted(days) for st, days in c.unavailable.items()},
            dropped_out=dict(c.dropped_out), venues=[_venue_doc(v) for v in c.venues],
        ),
        assignments=[AssignmentDoc(a.date, a.station_id, a.place, a.kelurahan, f"{a.start:%H:%M}", f"{a.end:%H:%M}",
                                   a.reason) for a in plan.assignments],
        expected_left=dict(plan.expected_left),
        warnings=list(plan.warnings),
        homes=dict(plan.homes),
        state=None if s is None else StateDoc(list(s.reachable), list(s.hard), list(s.home), list(s.first_voters),
                                              list(s.last_visit)),
        deadline=plan.deadline,
    )
    return msgspec.to_builtins(doc)


def plan_from_json(raw: Any) -> Plan:
    """A Plan from its JSON form; PlanningError naming the field when it does not fit."""
    try:
        d = msgspec.convert(raw, PlanDoc)
    except msgspec.ValidationError as exc:
        raise PlanningError(f"stored plan: {exc}") from None
    c = d.constraints
    targets = tuple(KelurahanTarget(t.code, t.name, t.kecamatan_code, t.kecamatan, t.wajib_ktp, t.recorded,
                                    t.first_voters, t.home_bound, t.lat, t.lon) for t in d.targets)
    state = None
    if d.state is not None:
        st = d.state
        state = FieldState(tuple(t.code for t in targets), tuple(st.reachable), tuple(st.hard), tuple(st.home),
                           tuple(st.first_voters), tuple(st.last_visit))
    try:
        params = TurnoutParameters(**d.model.params)
    except TypeError as exc:
        raise PlanningError(f"stored plan: model.params: {exc}") from None
    return Plan(
        assignments=tuple(StationDay(a.date, a.station_id, a.place, a.kelurahan, dt.time.fromisoformat(a.start),
                                     dt.time.fromisoformat(a.end), a.reason) for a in d.assignments),
        planner=d.planner,
        parameters={k: _num_in(v) for k, v in d.parameters.items()},
        targets=targets,
        station_ids=tuple(d.station_ids),
        start=d.start,
        constraints=Constraints(
            days_off=frozenset(c.days_off), weekdays_off=frozenset(c.weekdays_off),
            unavailable={s: frozenset(days) for s, days in c.unavailable.items()},
            dropped_out=dict(c.dropped_out), venues=tuple(_venue(v) for v in c.venues),
        ),
        model=TurnoutModel(params, d.model.noise, d.model.seed),
        finished=d.finished,
        expected_left=d.expected_left,
        warnings=tuple(d.warnings),
        homes=d.homes,
        state=state,
        deadline=d.deadline,
    )


def _venue_doc(v: Venue) -> VenueDoc:
    return VenueDoc(v.venue_id, v.kind.value, v.name, v.address, v.kelurahan_code, v.date, v.expected_people,
                    v.stations, f"{v.start:%H:%M}" if v.start else None, f"{v.end:%H:%M}" if v.end else None)


def _venue(d: VenueDoc) -> Venue:
    return Venue(d.venue_id, d.kind, d.name, d.address, d.kelurahan_code, d.date, d.expected_people, d.stations,
                 dt.time.fromisoformat(d.start) if d.start else None, dt.time.fromisoformat(d.end) if d.end else None)


def venue_to_json(v: Venue) -> dict[str, Any]:
    return msgspec.to_builtins(_venue_doc(v))


def venue_from_json(raw: Any) -> Venue:
    """A Venue from its JSON form (a store row); VenueError naming the field when it does not fit."""
    try:
        return _venue(msgspec.convert(raw, VenueDoc))
    except msgspec.ValidationError as exc:
        raise VenueError(f"venue {raw.get('venue_id') if isinstance(raw, dict) else raw!r}: {exc}") from None


def _num_out(v: Any) -> Any:
    return str(v) if isinstance(v, float) and not math.isfinite(v) else v


def _num_in(v: Any) -> Any:
    return float(v) if v in ("inf", "-inf", "nan") else v

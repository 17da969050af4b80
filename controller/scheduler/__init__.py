"""The scheduler: which station goes where, day by day, until what stations can record is recorded.

Pure planning: plain data in, plain data out; no MQTT, database or threads.
The controller stores the plans and publishes each station's assignments
(``service``); ``codec`` turns plans into validated JSON and back; ``cli`` is
``rekam controller targets|venue|schedule``.

- ``params``     the turnout model's parameters, where each comes from
- ``turnout``    how many residents a day of stations records (the one model)
- ``state``      who is still unrecorded where, split as the model needs
- ``model``      targets, constraints, station-day assignments, plans
- ``calendar``   national holidays, cuti bersama, weekly days off
- ``geography``  home areas, how far a move goes, who takes which place
- ``venues``     outreach events (schools, markets, hospitals, meetings, homes)
- ``dayloop``    the day loop every planner shares
- ``rotation``   Solo 2013's safari rotation, the baseline
- ``chains``     how soon one kelurahan alone can be finished under the stop rule
- ``lookahead``  visit today, with one station fewer, or rest: whichever finishes first
- ``backlog``    station-days where they record the most, in home areas
- ``replan``     changing a plan under way from a given day
- ``simulate``   running a plan against the model
- ``bound``      the LP bound (HiGHS) and the chains, independent of every planner
- ``baselines``  rotation variants; the best of them is what gains are claimed over
- ``coverage``   days to 90/95/98%, the residue for office and home service
- ``fit``        the Solo 2013 facts and the fit of the model to them
- ``sensitivity``every headline figure with each parameter moved +/-50%
- ``targets``    the operator's CSV, Solo 2013-like and province-scale target sets
"""

from .backlog import plan_backlog
from .calendar import Calendar, national_holidays
from .model import (
    Constraints,
    KelurahanTarget,
    Plan,
    PlanningError,
    StationDay,
    Visit,
)
from .params import FITTED, MIN_PER_STATION_DAY, TurnoutParameters
from .replan import PLANNERS, Replan, expected_recorded, replan
from .rotation import plan_rotation
from .simulate import SimulationResult, capacity_bound, simulate
from .state import FieldState
from .targets import (
    TargetsError,
    parse_targets_csv,
    read_targets_csv,
    solo_2013_targets,
)
from .turnout import DEFAULT_HOURS, TurnoutModel
from .venues import Venue, VenueError, VenueKind

__all__ = [
    "DEFAULT_HOURS",
    "FITTED",
    "MIN_PER_STATION_DAY",
    "PLANNERS",
    "Calendar",
    "Constraints",
    "FieldState",
    "KelurahanTarget",
    "Plan",
    "PlanningError",
    "Replan",
    "SimulationResult",
    "StationDay",
    "TargetsError",
    "TurnoutModel",
    "TurnoutParameters",
    "Venue",
    "VenueError",
    "VenueKind",
    "Visit",
    "capacity_bound",
    "expected_recorded",
    "national_holidays",
    "parse_targets_csv",
    "plan_backlog",
    "plan_rotation",
    "read_targets_csv",
    "replan",
    "simulate",
    "solo_2013_targets",
]

"""The scheduler: which station goes where, day by day, until every kelurahan is recorded.

Pure planning: plain data in, plain data out; no MQTT, database or threads.
The controller stores the plans and publishes each station's assignments.

- ``model``     targets, constraints, station-day assignments, plans
- ``turnout``   how many residents a day of stations records (the one model)
- ``venues``    outreach events (schools, markets, hospitals, meetings, homes)
- ``planning``  the day loop both planners share
- ``rotation``  Solo 2013's safari rotation, the baseline
- ``backlog``   station-days where the most visits are still needed
- ``replan``    changing a plan under way from a given day
- ``simulate``  running a plan against the model, and the lower bounds
- ``targets``   the operator's CSV, and a Solo 2013-like target set
"""

from .backlog import plan_backlog
from .model import (
    DEFAULT_HOURS,
    Constraints,
    KelurahanTarget,
    Plan,
    PlanningError,
    StationDay,
    Visit,
)
from .replan import PLANNERS, Replan, expected_recorded, replan
from .rotation import plan_rotation
from .simulate import SimulationResult, lower_bound, model_lower_bound, simulate
from .targets import (
    TargetsError,
    parse_targets_csv,
    read_targets_csv,
    solo_2013_targets,
)
from .turnout import TurnoutModel
from .venues import Venue, VenueError, VenueKind

__all__ = [
    "DEFAULT_HOURS",
    "PLANNERS",
    "Constraints",
    "KelurahanTarget",
    "Plan",
    "PlanningError",
    "Replan",
    "SimulationResult",
    "StationDay",
    "TargetsError",
    "TurnoutModel",
    "Venue",
    "VenueError",
    "VenueKind",
    "Visit",
    "expected_recorded",
    "lower_bound",
    "model_lower_bound",
    "parse_targets_csv",
    "plan_backlog",
    "plan_rotation",
    "read_targets_csv",
    "replan",
    "simulate",
    "solo_2013_targets",
]

"""The planning model behind the active plan: the fit, the bound, the baselines and the coverage.

The same figures ``rekam controller schedule simulate`` prints, for the plan
the controller is running. They take seconds (the LP, a simulation of every
rotation variant), so the page comes at once and its figures follow from
``/schedule/model/figures``, worked out once per plan and kept.
"""

from __future__ import annotations

import logging
import threading

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.errors import ControllerError
from controller.scheduler import PlanningError, solo_2013_targets
from controller.scheduler.codec import plan_from_json
from controller.scheduler.coverage import share_by
from controller.scheduler.fit import facts
from controller.scheduler.params import ORIGIN
from controller.scheduler.sensitivity import Headline, summarise
from controller.web.context import kelurahan_name
from controller.web.pages import dash, guard, render

log = logging.getLogger(__name__)

RESIDUE_ROWS = 15


class _Figures:
    """The active plan's headline, worked out once per plan id (two kept: the last one and the new one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[str, Headline] = {}

    def get(self, plan_id: str, params: dict) -> Headline:
        with self._lock:  # one at a time: a second viewer waits for the first one's figures
            if plan_id not in self._done:
                headline = summarise(plan_from_json(params), plan_id)
                self._done = {**dict(list(self._done.items())[-1:]), plan_id: headline}
            return self._done[plan_id]


FIGURES = _Figures()
_FACTS = None


def _facts():
    global _FACTS
    if _FACTS is None:
        _FACTS = facts(solo_2013_targets())
    return _FACTS


@guard("viewer")
def model_page(request: Request) -> Response:
    row = dash(request).store.active_plan()
    return render(request, "schedule_model.html", {"plan_id": row[0] if row else None})


@guard("viewer")
def model_figures(request: Request) -> Response:
    row = dash(request).store.active_plan()
    if row is None:
        return render(request, "schedule_model_figures.html", {"head": None}, fragment=True)
    try:
        head = FIGURES.get(row[0], row[2])
    except (PlanningError, ControllerError) as exc:
        log.error("figures of plan %s could not be worked out: %s", row[0], exc)
        return render(request, "schedule_model_figures.html", {"head": None, "failed": True}, fragment=True)
    plan = plan_from_json(row[2])
    result, cov = head.result, head.coverage
    residue = sorted(cov.residue, key=lambda x: -(x.office + x.home))
    return render(request, "schedule_model_figures.html", {
        "head": head, "result": result, "cov": cov, "champion": head.best_baseline, "facts": _facts(),
        "params": [(n, v, ORIGIN[n]) for n, v in plan.model.params.as_dict().items()],
        "minimum": plan.parameters.get("min_people", 20), "deadline": plan.deadline,
        "residue": [(x, kelurahan_name(x.code)) for x in residue[:RESIDUE_ROWS]],
        "residue_count": len(residue), "office_total": sum(x.office for x in residue),
        "home_total": sum(x.home for x in residue),
        "share_by": {b.variant.name: share_by(b.result, plan.deadline, cov) for b in head.baselines},
    }, fragment=True)


routes = [
    Route("/schedule/model", model_page),
    Route("/schedule/model/figures", model_figures),
]

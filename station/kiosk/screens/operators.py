"""Operators (supervisors only): the station's accounts, a new one, a lockout lifted, a finger enrolled.

Every change needs the supervisor's PIN again at the moment of the change,
not only their session: an unattended logged-in kiosk cannot make accounts.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from drivers.errors import DeviceError
from station.kiosk.web import kiosk, render, session, to_login
from station.operators import OperatorError, Role, finger


def _page(request: Request, message: str | None = None, error: str | None = None, status_code: int = 200):
    k = kiosk(request)
    store = k.runtime.operators
    accounts = [(a, store.locked_until(a.operator_id) is not None) for a in store.accounts()]
    return render(request, "operators.html", status_code=status_code, accounts=accounts, roles=list(Role),
                  message=message, error=error)


async def page(request: Request):
    if session(request, Role.SUPERVISOR) is None:
        return to_login()
    return _page(request)


async def change(request: Request):
    s = session(request, Role.SUPERVISOR)
    if s is None:
        return to_login()
    k = kiosk(request)
    form = {key: str(v) for key, v in (await request.form()).items()}
    by = (s.operator_id, form.get("supervisor_pin", ""))
    action = request.path_params["action"]
    target = form.get("operator_id", "").strip().lower()
    store = k.runtime.operators
    try:
        if action == "add":
            roles = [r for r in (form.get("role", "operator"),) if r in {x.value for x in Role}]
            await run_in_threadpool(store.add, target, form.get("name", target), form.get("pin", ""), roles, by=by)
        elif action == "unlock":
            await run_in_threadpool(store.unlock, target, by=by)
        elif action == "remove":
            await run_in_threadpool(store.remove, target, by=by)
        elif action == "finger":
            await run_in_threadpool(store.verify, by[0], by[1], role=Role.SUPERVISOR)
            slot = await run_in_threadpool(finger.enroll, k.runtime.devices.scanner,
                                           timeout=k.settings.finger_timeout_s)
            store.set_finger_slot(target, slot)
        else:
            return _page(request, error=k.t("k.bad_answer"), status_code=404)
    except OperatorError as exc:
        return _page(request, error=k.t(f"e.{exc.reason_id}", **exc.params), status_code=422)
    except DeviceError as exc:
        return _page(request, error=k.t(f"e.{exc.reason_id}", device=k.t("device.fingerprint")), status_code=422)
    return _page(request, message=k.t("k.saved", who=target))


routes = [Route("/operators", page), Route("/operators/{action}", change, methods=["POST"])]

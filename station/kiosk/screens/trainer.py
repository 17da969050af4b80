"""Trainer mode's panel: the trainer plays the resident and the faults (emulated devices only).

Each button changes the scene or injects a simulator fault through
:class:`station.trainer.Trainer`; the enrollment screen beside it then shows
what the operator would see with real hardware.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from station.kiosk.web import kiosk, redirect, session, to_login


async def act(request: Request):
    if session(request) is None:
        return to_login()
    k = kiosk(request)
    tr = k.trainer
    if tr is None:
        return Response(k.t("e.trainer_unavailable"), status_code=404)
    form = {key: str(v) for key, v in (await request.form()).items()}
    action = request.path_params["action"]
    condition = form.get("condition", "good")
    try:
        if action == "step_up":
            tr.step_up(condition)
        elif action == "leave":
            tr.leave_camera()
        elif action == "place":
            tr.place_finger(int(form.get("position", "0")), condition)
        elif action == "lift":
            tr.lift_finger()
        elif action == "sign":
            tr.sign(condition)
        elif action == "stick_pen":
            tr.stick_pen()
        elif action == "release_pen":
            tr.release_pen()
        elif action == "unplug":
            await run_in_threadpool(tr.unplug, form.get("device", "fingerprint"))
        elif action == "silence":
            tr.silence(form.get("device", "fingerprint"), True)
        elif action == "restore":
            tr.silence(form.get("device", "fingerprint"), False)
        else:
            return Response(k.t("k.bad_answer"), status_code=404)
    except ValueError:  # a condition or device the panel does not offer (a hand-made request)
        return Response(k.t("k.bad_answer"), status_code=422)
    return redirect("/enroll")


routes = [Route("/trainer/{action}", act, methods=["POST"])]

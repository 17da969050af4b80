"""The enrollment screens: NIK, confirmation, face, fingers, signature, review, receipt.

One URL, ``/enroll``, shows whatever the workflow asks now (the current
:class:`~station.kiosk.enrollment.Question`); the template is
``enroll/<kind>.html``. Answers are posted with the question's serial and
turned into what the workflow expects here, in :func:`parse_answer`. The
page's script swaps in the next screen when the live channel says it
changed; without the script, the post redirects back to ``/enroll``.

No NIK ever appears in a URL, and the face photo is served from memory with
``no-store``.
"""

from __future__ import annotations

from typing import Any

import segno
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from drivers.errors import DeviceError
from drivers.types import DeviceKind
from protocol import nik as nik_mod
from protocol.record import FaceException, FingerException
from station.kiosk.enrollment import EnrollmentSession, Question
from station.kiosk.web import NO_STORE, kiosk, redirect, render, session, to_login
from station.workflow import FaceExceptionRequest, ReviewAction, ReviewDecision

FINGER_EXCEPTIONS = list(FingerException)
FACE_EXCEPTIONS = list(FaceException)
#: Trainer choices per screen (the scene's condition names).
FACE_CONDITIONS = ("good", "blurred", "off_centre", "too_far", "no_face", "two_faces", "underexposed",
                   "wrong_backdrop")
FINGER_CONDITIONS = ("good", "smudged", "partial", "dry")
SIGNATURE_CONDITIONS = ("good", "shaky", "too_short")


class BadAnswer(ValueError):
    """The posted form does not answer the question on screen (an error text id)."""


def parse_answer(q: Question, form: dict[str, str]) -> Any:
    action = form.get("action", "")
    if q.kind == "nik":
        try:
            return nik_mod.parse(form.get("nik", "")).value
        except nik_mod.NIKError as exc:
            raise BadAnswer(f"nik.{exc.reason_id}") from None
    if q.kind == "confirm":
        return action == "yes"
    if q.kind == "face":
        return action == "capture"
    if q.kind in ("finger", "finger_fault"):
        if action in ("scan", "retry"):
            return action
        try:
            return FingerException(action).value
        except ValueError:
            raise BadAnswer("k.bad_answer") from None
    if q.kind == "face_exception":
        if action != "confirm":
            return None
        try:
            reason = FaceException(form.get("reason", ""))
        except ValueError:
            raise BadAnswer("k.choose_reason") from None
        supervisor = form.get("supervisor_id", "").strip().lower()
        if not supervisor or not form.get("pin"):
            raise BadAnswer("k.supervisor_needed")
        return FaceExceptionRequest(reason, supervisor, form.get("pin", ""), form.get("note", "")[:200])
    if q.kind == "device_fault":
        return "retry" if action == "retry" else "stop"
    if q.kind == "review":
        if action.startswith("retake_finger:"):
            return ReviewDecision(ReviewAction.RETAKE_FINGER, int(action.split(":", 1)[1]))
        try:
            return ReviewDecision(ReviewAction(action))
        except ValueError:
            raise BadAnswer("k.bad_answer") from None
    raise BadAnswer("k.bad_answer")


def notice_text(k, msg_id: str, params: dict) -> str:
    """A workflow notice in the kiosk's language (device kinds and reason ids translated)."""
    p = dict(params)
    if isinstance(p.get("device"), str):
        p["device"] = k.t(f"device.{p['device']}")
    if "reason_id" in p:
        p["reason"] = k.t(str(p.pop("reason_id")))
    p.setdefault("detail", "")
    return k.t(msg_id, **p)


def _view(request: Request, e: EnrollmentSession | None, error: str | None = None, status_code: int = 200,
          form: dict | None = None):
    fragment = request.query_params.get("fragment") == "1"
    template = "enroll_fragment.html" if fragment else "enroll.html"
    ctx: dict[str, Any] = {"e": e, "view": e.view if e else None, "error": error, "form": form or {},
                           "finger_exceptions": FINGER_EXCEPTIONS, "face_exceptions": FACE_EXCEPTIONS,
                           "face_conditions": FACE_CONDITIONS, "finger_conditions": FINGER_CONDITIONS,
                           "signature_conditions": SIGNATURE_CONDITIONS, "qr": None}
    q = e.view.question if e else None
    ctx["q"] = q
    k = kiosk(request)
    ctx["notices"] = [notice_text(k, m, p) for m, p in (e.view.notices[-3:] if e else [])]
    if e is not None and e.view.finished and e.view.outcome is not None:
        ctx["qr"] = segno.make(e.view.outcome.packet_id, error="m").svg_inline(scale=5, border=2)
    if q is not None and q.kind == "signature":
        pad = _device(request, DeviceKind.SIGNATURE)
        ctx["extent"] = tuple(pad.calibration.extent) if pad is not None and hasattr(pad, "calibration") \
            else (2000, 600)
    return render(request, template, status_code=status_code, **ctx)


def _device(request: Request, kind: DeviceKind):
    try:
        return kiosk(request).runtime.devices.get(kind)
    except DeviceError:
        return None


async def enroll(request: Request):
    if session(request) is None:
        return to_login()
    return _view(request, kiosk(request).enrollment)


async def start(request: Request):
    s = session(request)
    if s is None:
        return to_login()
    k = kiosk(request)
    code, _ = k.kelurahan()
    if code is None:
        return redirect("/home?error=no_kelurahan")
    e = await run_in_threadpool(k.start_enrollment, s.account)
    await run_in_threadpool(e.wait_question, 0, 2.0)
    return redirect("/enroll")


async def answer(request: Request):
    if session(request) is None:
        return to_login()
    k = kiosk(request)
    e = k.enrollment
    form = {key: str(v) for key, v in (await request.form()).items()}
    q = e.view.question if e else None
    if e is None or q is None or str(q.serial) != form.get("serial"):
        return redirect("/enroll")  # a tap meant for an earlier screen
    try:
        value = parse_answer(q, form)
    except BadAnswer as exc:
        return _view(request, e, error=str(exc), status_code=422,
                     form={k2: v for k2, v in form.items() if k2 not in ("pin", "nik")})
    e.answer(q.serial, value)
    await run_in_threadpool(e.wait_question, q.serial, 1.5)
    return redirect("/enroll")


async def pen(request: Request):
    if session(request) is None:
        return to_login()
    e = kiosk(request).enrollment
    form = await request.form()
    if e is not None:
        e.pen(str(form.get("command", "")))
    return redirect("/enroll")


async def cancel(request: Request):
    if session(request) is None:
        return to_login()
    await run_in_threadpool(kiosk(request).cancel_enrollment)
    return redirect("/home")


async def photo(request: Request):
    if session(request) is None:
        return Response(status_code=403)
    e = kiosk(request).enrollment
    data = e.view.photo if e is not None else None
    if data is None:
        return Response(status_code=404, headers=NO_STORE)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


routes = [
    Route("/enroll", enroll),
    Route("/enroll/start", start, methods=["POST"]),
    Route("/enroll/answer", answer, methods=["POST"]),
    Route("/enroll/pen", pen, methods=["POST"]),
    Route("/enroll/cancel", cancel, methods=["POST"]),
    Route("/enroll/photo", photo),
]

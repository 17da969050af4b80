"""Login: operator id and PIN on the number pad, then the operator's finger if one is enrolled.

Works offline (the accounts are on the station). Wrong PINs count toward the
lockout in :class:`~station.operators.OperatorStore`; the screen says how
many tries are left, or for how long the id is locked.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from drivers.errors import DeviceError
from station.kiosk.session import COOKIE
from station.kiosk.web import kiosk, redirect, render, session
from station.operators import LoginFailed, OperatorError, finger


async def login_page(request: Request):
    if session(request) is not None:
        return redirect("/home")
    return render(request, "login.html", error=None, operator_id="")


async def login(request: Request):
    form = await request.form()
    k = kiosk(request)
    operator_id = str(form.get("operator_id", "")).strip().lower()
    try:
        account = await run_in_threadpool(k.runtime.operators.verify, operator_id, str(form.get("pin", "")))
    except LoginFailed as exc:
        return render(request, "login.html", status_code=401, operator_id=operator_id,
                      error=k.t(f"e.{exc.reason_id}", **exc.params))
    needs_finger = account.finger_slot is not None
    s = k.sessions.start(account, awaiting_finger=needs_finger)
    response = redirect("/login/finger" if needs_finger else "/home")
    response.set_cookie(COOKIE, s.token, httponly=True, samesite="strict", path="/")
    return response


async def finger_page(request: Request):
    s = kiosk(request).sessions.get(request.cookies.get(COOKIE), complete=False)
    if s is None:
        return redirect("/login")
    return render(request, "login_finger.html", error=None)


async def finger_check(request: Request):
    k = kiosk(request)
    token = request.cookies.get(COOKIE)
    s = k.sessions.get(token, complete=False)
    if s is None or s.account.finger_slot is None:
        return redirect("/login")
    try:
        ok = await run_in_threadpool(finger.verify, k.runtime.devices.scanner, s.account.finger_slot,
                                     timeout=k.settings.finger_timeout_s)
    except DeviceError as exc:
        return render(request, "login_finger.html", error=k.t(f"e.{exc.reason_id}", device=k.t("device.fingerprint")))
    except OperatorError as exc:  # a scanner that cannot keep operator fingers: a supervisor must re-enrol
        return render(request, "login_finger.html", error=k.t(f"e.{exc.reason_id}", **exc.params))
    if not ok:
        k.sessions.end()
        await run_in_threadpool(k.runtime.operators.record_failure, s.operator_id)
        return render(request, "login.html", status_code=401, operator_id=s.operator_id,
                      error=k.t("k.finger_mismatch"))
    await run_in_threadpool(k.runtime.operators.record_success, s.operator_id)
    k.sessions.finger_done(token or "")
    return redirect("/home")


async def logout(request: Request):
    k = kiosk(request)
    await run_in_threadpool(k.cancel_enrollment)
    k.sessions.end()
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


async def language(request: Request):
    form = await request.form()
    lang = str(form.get("lang", ""))
    k = kiosk(request)
    if lang in ("id", "en"):
        k.language = lang
    back = str(form.get("back", "/home"))
    return redirect(back if back.startswith("/") and not back.startswith("//") else "/home")


async def root(request: Request):
    return redirect("/home")


routes = [
    Route("/", root),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/login/finger", finger_page, methods=["GET"]),
    Route("/login/finger", finger_check, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang", language, methods=["POST"]),
]

"""Technician: device self-test, each device's identity and driver, and driver swap, behind a technician PIN.

A technician logs in here with their own id and PIN (role ``technician``);
the grant lasts until they leave the screen or ten minutes pass. A swap that
fails puts the previous driver back (``Devices.swap``) and says why.
"""

from __future__ import annotations

import secrets
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from drivers import registry
from drivers.errors import DeviceError
from drivers.types import DeviceKind
from station.kiosk.web import kiosk, redirect, render
from station.operators import LoginFailed, Role

TECH_COOKIE = "rekam_technician"
GRANT_S = 600.0


def _granted(request: Request) -> bool:
    grant = getattr(request.app.state, "technician", None)
    token = request.cookies.get(TECH_COOKIE)
    return bool(grant and token and secrets.compare_digest(grant[0], token) and time.monotonic() < grant[1])


def _rows(request: Request):
    devices = kiosk(request).runtime.devices
    health = devices.health()
    names = devices.driver_names()
    rows = []
    for kind in DeviceKind:
        try:
            identity = devices.get(kind).identity.describe()
        except DeviceError as exc:
            identity = kiosk(request).t(f"e.{exc.reason_id}", device=kiosk(request).t(f"device.{kind.value}"))
        h = health.get(kind.value)
        rows.append((kind.value, names.get(kind.value, "-"), identity, h.ok if h else False,
                     [d.name for d in registry.available(kind)]))
    return rows


async def page(request: Request):
    if not _granted(request):
        return render(request, "technician_login.html", error=None)
    return render(request, "technician.html", rows=_rows(request), results=None, message=None)


async def login(request: Request):
    form = await request.form()
    k = kiosk(request)
    try:
        await run_in_threadpool(k.runtime.operators.verify, str(form.get("operator_id", "")),
                                str(form.get("pin", "")), role=Role.TECHNICIAN)
    except LoginFailed as exc:
        return render(request, "technician_login.html", status_code=401, error=k.t(f"e.{exc.reason_id}", **exc.params))
    token = secrets.token_urlsafe(24)
    request.app.state.technician = (token, time.monotonic() + GRANT_S)
    response = redirect("/technician")
    response.set_cookie(TECH_COOKIE, token, httponly=True, samesite="strict", path="/technician")
    return response


async def self_test(request: Request):
    if not _granted(request):
        return redirect("/technician")
    k = kiosk(request)
    if k.enrollment is not None and k.enrollment.running:
        return render(request, "technician.html", rows=_rows(request), results=None, message=k.t("k.busy_enrolling"))
    try:
        results = await run_in_threadpool(k.self_test)
    except DeviceError as exc:
        return render(request, "technician.html", rows=_rows(request), results=None,
                      message=k.t(f"e.{exc.reason_id}", device=(exc.device or "").split(" ")[0] or "-"))
    return render(request, "technician.html", rows=_rows(request), results=results, message=None)


async def swap(request: Request):
    if not _granted(request):
        return redirect("/technician")
    form = await request.form()
    k = kiosk(request)
    kind = DeviceKind(str(form.get("kind", "camera")))
    driver = str(form.get("driver", ""))
    if k.enrollment is not None and k.enrollment.running:
        message = k.t("k.busy_enrolling")
    else:
        configured = k.runtime.config.devices[kind]
        options = dict(configured.options) if configured.driver == driver else {}  # back to the configured one
        try:
            result = await run_in_threadpool(k.runtime.devices.swap, kind, driver, options)
            message = k.t("k.swapped", device=k.t(f"device.{kind.value}"), driver=driver,
                          identity=result.identity.describe())
        except DeviceError as exc:
            device = k.t(f"device.{kind.value}")
            # the reason in words, then the driver's own detail (in English) for the technician
            message = k.t("k.swap_failed", device=device, driver=driver,
                          detail=f"{k.t(f'e.{exc.reason_id}', device=device)} ({exc})")
    return render(request, "technician.html", rows=_rows(request), results=None, message=message)


async def leave(request: Request):
    request.app.state.technician = None
    response = redirect("/login")
    response.delete_cookie(TECH_COOKIE, path="/technician")
    return response


routes = [
    Route("/technician", page),
    Route("/technician/login", login, methods=["POST"]),
    Route("/technician/self-test", self_test, methods=["POST"]),
    Route("/technician/swap", swap, methods=["POST"]),
    Route("/technician/leave", leave, methods=["POST"]),
]

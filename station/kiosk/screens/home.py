"""Home: today's assignment, online/offline with the time since the last contact, outbox, disk,
devices, enrollments today, and the way into everything else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from drivers.types import DeviceKind
from station.kiosk.web import kiosk, render, session, to_login
from station.operators import Role


async def home(request: Request):
    s = session(request)
    if s is None:
        return to_login()
    k = kiosk(request)
    assignment = k.runtime.current_assignment()
    code, name = k.kelurahan()
    health = k.runtime.devices.health()
    devices = [(kind.value, health.get(kind.value)) for kind in DeviceKind]
    return render(request, "home.html", assignment=assignment, kelurahan_code=code, kelurahan_name=name,
                  devices=devices, is_supervisor=s.account.has(Role.SUPERVISOR))


routes = [Route("/home", home)]

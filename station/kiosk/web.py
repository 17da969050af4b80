"""What every kiosk view shares: templates, the language, the logged-in operator, redirects.

Templates are Jinja2 files in ``templates/`` with autoescaping on. Every
page gets ``t`` (the station's i18n in the kiosk's language), the operator,
the station's status and whether trainer mode is on. Responses carry
``Cache-Control: no-store`` so nothing a screen showed stays in the browser's
cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from station import i18n
from station.kiosk.core import Kiosk
from station.kiosk.session import COOKIE, Session
from station.operators import Role

HERE = Path(__file__).parent
NO_STORE = {"Cache-Control": "no-store"}

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def kiosk(request: Request) -> Kiosk:
    return request.app.state.kiosk


def session(request: Request, role: Role | None = None) -> Session | None:
    s = kiosk(request).sessions.get(request.cookies.get(COOKIE))
    if s is None or (role is not None and not s.account.has(role)):
        return None
    return s


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    k = kiosk(request)
    lang = k.language

    def t(msg_id: str, **params: object) -> str:
        return i18n.t(lang, msg_id, **params)

    def t_or(msg_id: str, fallback: str) -> str:
        """A translation where there is one (a reason, a measure), else the id as it came."""
        return i18n.t(lang, msg_id) if i18n.known(msg_id) else fallback

    def choosable(role: str | None = None) -> list:
        """Who may sign in here (holding ``role``): the screen lists them to be chosen by touch."""
        return [a for a in k.runtime.operators.accounts() if role is None or a.has(Role(role))]

    status = k.status()
    page = _env.get_template(template).render(
        t=t, t_or=t_or, choosable=choosable, lang=lang, finger_name=lambda p: i18n.finger_name(lang, p),
        problems=lambda ids: i18n.problems(lang, tuple(ids)), status=status,
        status_text=k.status_text(status), station_id=k.runtime.config.station_id,
        operator=session(request), trainer=k.trainer is not None, path=request.url.path, **ctx)
    return HTMLResponse(page, status_code=status_code, headers=NO_STORE)


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def to_login() -> Response:
    return redirect("/login")

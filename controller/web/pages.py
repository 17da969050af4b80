"""What every view shares: who is asking (and may they), rendering, flash messages, the audit log.

``guard(role)`` wraps a view: no valid session sends a page view to the login
form (and refuses anything else with 401); a role below ``role`` gets 403.
A session is valid while its user exists and the user's ``epoch`` (bumped
by a password or role change) is the one the session was signed with.
"""

from __future__ import annotations

import functools
from typing import Any, Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from controller import alarms as rules
from controller.accounts import at_least
from controller.store.users import WebUser
from controller.web import csrf, fmt
from controller.web.context import Dashboard
from controller.web.i18n import LANGUAGES, plan_reason, translate


def dash(request: Request) -> Dashboard:
    return request.app.state.dashboard


def templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


def language(request: Request) -> str:
    lang = request.session.get("lang")
    return lang if lang in LANGUAGES else dash(request).language


def current_user(request: Request) -> WebUser | None:
    name, epoch = request.session.get("u"), request.session.get("e")
    if not name:
        return None
    user = dash(request).store.user(name)
    if user is None or user.epoch != epoch:
        request.session.pop("u", None)
        request.session.pop("e", None)
        return None
    return user


def guard(role: str) -> Callable[[Callable[..., Response]], Callable[..., Any]]:
    """Wrap a plain (blocking) view: the form is read first, then the check and the view run off the event loop."""
    def wrap(view: Callable[..., Response]) -> Callable[..., Any]:
        def guarded(request: Request) -> Response:
            denied = check(request, role)
            return denied if denied is not None else view(request)

        @functools.wraps(view)
        async def inner(request: Request) -> Response:
            if request.method == "POST":
                request.state.form = await request.form()
            return await run_in_threadpool(guarded, request)
        inner.role = role  # type: ignore[attr-defined]
        return inner
    return wrap


def form(request: Request) -> FormData:
    return getattr(request.state, "form", None) or FormData()


def field(request: Request, name: str, default: str = "") -> str:
    value = form(request).get(name, default)
    return value.strip() if isinstance(value, str) else default


def check(request: Request, role: str) -> Response | None:
    """None if the request may go on; else the answer it gets."""
    user = current_user(request)
    if user is None:
        if request.method == "GET" and "text/html" in request.headers.get("accept", "text/html"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return Response("401 Unauthorized: log in first", status_code=401)
    request.state.user = user
    if not at_least(user.role, role):
        return render(request, "denied.html", {"needed": role}, status=403)
    return None


def flash(request: Request, text: str, kind: str = "ok") -> None:
    request.session.setdefault("flash", []).append([kind, text])


def audit(request: Request, action: str, target: str = "", detail: str = "") -> None:
    user: WebUser | None = getattr(request.state, "user", None)
    remote = request.client.host if request.client else None
    dash(request).store.audit(user.username if user else "-", user.role if user else None, action, target, detail,
                              remote)


def words(lang: str) -> dict[str, Any]:
    """What templates use to write in ``lang``; also used by the live channel's fragments."""
    return {"lang": lang, "_": lambda text: translate(text, lang), "age": lambda seconds: fmt.age(seconds, lang),
            "alarm_kind": lambda kind: rules.KIND_TEXT.get(kind, {}).get(lang, kind),
            "severity_text": lambda sev: rules.SEVERITY_TEXT.get(sev, {}).get(lang, sev),
            "alarm_text": lambda a: rules.text(a.kind, a.params, a.station_id, lang),
            "plan_reason": lambda text: plan_reason(text, lang)}


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200,
           fragment: bool = False) -> HTMLResponse:
    lang = language(request)
    d = dash(request)
    ctx = dict(context or {})
    user = getattr(request.state, "user", None)
    ctx.update(words(lang))
    ctx.update(
        user=user, csrf_token=csrf.token(request.session), now=d.clock(), path=request.url.path,
        can=lambda role: user is not None and at_least(user.role, role), controller_id=d.config.controller_id,
    )
    if not fragment:
        ctx["flashes"] = request.session.pop("flash", [])
        counts = d.store.open_alarm_counts() if user else {}
        ctx["alarm_open"] = sum(counts.values())
        ctx["alarm_critical"] = sum(n for (_k, sev), n in counts.items() if sev == "critical")
    return templates(request).TemplateResponse(request, name, ctx, status_code=status,
                                               headers={"Cache-Control": "no-store"})


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme): no open redirect after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/fleet"

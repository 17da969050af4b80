"""The Starlette app: routes of every view, the live channel, /metrics, static files, middleware.

Middleware, outermost first: security headers; the signed session cookie
(Starlette's SessionMiddleware over itsdangerous: HttpOnly, SameSite=Strict,
Secure); CSRF protection for every state change (:mod:`controller.web.csrf`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controller.metrics import CONTENT_TYPE_LATEST
from controller.web import fmt
from controller.web.context import Dashboard
from controller.web.csrf import CSRFMiddleware
from controller.web.live import sse
from controller.web.pages import check, current_user, language, render, words

HERE = Path(__file__).parent

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"same-origin"), (b"content-security-policy", CSP.encode())]
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with)


async def live(request: Request) -> Response:
    denied = await run_in_threadpool(check, request, "viewer")
    if denied is not None:
        return denied
    d: Dashboard = request.app.state.dashboard
    env: Environment = request.app.state.templates.env
    lang = language(request)
    username, epoch = request.state.user.username, request.state.user.epoch
    sub = d.hub.subscribe(asyncio.get_running_loop())
    rows_template = env.get_template("fleet_rows.html")

    async def stream():
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), 15)
                except asyncio.TimeoutError:
                    user = await run_in_threadpool(d.store.user, username)
                    if user is None or user.epoch != epoch:
                        return  # logged out elsewhere, password changed, user removed
                    yield ": ping\n\n"
                    continue
                if item is None:
                    return
                event, data = item
                if event == "station":
                    html = rows_template.render(rows=data, now=d.clock(), **words(lang))
                    yield sse("station", html)
                else:
                    yield sse(event, json.dumps(data))
        finally:
            d.hub.unsubscribe(sub)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def metrics(request: Request) -> Response:
    d: Dashboard = request.app.state.dashboard
    body = await run_in_threadpool(d.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def not_found(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404 and "text/html" in request.headers.get("accept", ""):
        user = await run_in_threadpool(current_user, request)
        request.state.user = user
        return await run_in_threadpool(render, request, "notfound.html", {"what": request.url.path}, status=404)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt.FILTERS)
    return Jinja2Templates(env=env)


def build_app(dashboard: Dashboard, secret_key: str) -> Starlette:
    from controller.web.views import (alarms, commands, fleet, model, packets, progress, reviews, schedule,
                                      session, station, users)

    routes = [
        *session.routes, *fleet.routes, *station.routes, *alarms.routes, *progress.routes, *schedule.routes,
        *model.routes, *packets.routes, *reviews.routes, *commands.routes, *users.routes,
        Route("/live", live),
        Route("/metrics", metrics),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    web = dashboard.config.web
    middleware = [
        Middleware(SecurityHeaders, hsts=web.tls),
        Middleware(SessionMiddleware, secret_key=secret_key, session_cookie="rekam_session",
                   max_age=int(web.session_hours * 3600), same_site="strict", https_only=True),
        Middleware(CSRFMiddleware),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
    app.state.dashboard = dashboard
    app.state.templates = make_templates()
    return app

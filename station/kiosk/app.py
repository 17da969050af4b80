"""The kiosk's ASGI app: Starlette routes from one module per screen, the live channel, the guard.

Served by the station process (:mod:`station.kiosk.serve`) on 127.0.0.1.
Static assets (our own CSS and script; nothing from a CDN, the station is
usually offline) come from ``static/``.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from station.kiosk.core import Kiosk
from station.kiosk.guard import LocalOnly
from station.kiosk.session import COOKIE
from station.kiosk.screens import enroll, home, login, operators, outbox, technician, trainer
from station.kiosk.web import HERE


def build_app(kiosk: Kiosk) -> Starlette:
    async def live(ws: WebSocket) -> None:
        token = ws.cookies.get(COOKIE)
        # asked again at each frame or stroke: a logout or idle timeout ends what this page sees
        await kiosk.hub.serve(ws, may_see=lambda: kiosk.sessions.get(token, touch=False) is not None)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        kiosk.hub.bind(asyncio.get_running_loop())
        kiosk.start()
        yield

    routes = [*login.routes, *home.routes, *enroll.routes, *outbox.routes, *technician.routes,
              *operators.routes, *trainer.routes,
              WebSocketRoute("/live", live),
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    settings = kiosk.settings
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(LocalOnly, allow=settings.allow, host=settings.host)])
    app.state.kiosk = kiosk
    app.state.technician = None
    return app

"""Who may talk to the kiosk: the station's own screen, and nobody else.

One ASGI middleware, three rules, checked on every HTTP request and
WebSocket before any view runs:

1. The client address must be in ``[kiosk] allow`` (127.0.0.1 and ::1 by
   default). The kiosk also listens on loopback only, but a listen address
   can be changed by mistake; this rule still holds then.
2. The ``Host`` header must name this machine (127.0.0.1, localhost, ::1, or
   the configured listen host), so a web page elsewhere cannot reach the
   kiosk through DNS rebinding.
3. A state-changing request (anything but GET/HEAD) or a WebSocket that
   carries ``Origin`` must come from the kiosk's own origin (cross-site
   request forgery from another local page), as Datasette's csrf rule does.

A refused request gets 403 with the rule that refused it, and is logged
without anything from its body.
"""

from __future__ import annotations

import logging
from typing import Iterable
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_LOCAL_NAMES = {"127.0.0.1", "localhost", "::1"}


class LocalOnly:
    def __init__(self, app, *, allow: Iterable[str], host: str) -> None:
        self.app = app
        self.allow = frozenset(allow)
        self.hosts = _LOCAL_NAMES | {host}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        why = self.refusal(scope)
        if why is None:
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("?", 0))[0]
        log.warning("kiosk refused a %s from %s: %s", scope["type"], client, why)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = f"refused: {why}\n".encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope) -> str | None:
        client = (scope.get("client") or ("", 0))[0]
        if client not in self.allow:
            return "the kiosk serves the station's own screen only ([kiosk] allow)"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = _hostname(headers.get("host", ""))
        if host not in self.hosts:
            return "unexpected Host header"
        origin = headers.get("origin")
        changes = scope["type"] == "websocket" or scope.get("method", "GET") not in ("GET", "HEAD")
        if changes and origin is not None and urlsplit(origin).netloc != headers.get("host", ""):
            return "cross-site request"
        return None


def _hostname(netloc: str) -> str:
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0]
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc

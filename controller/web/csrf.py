"""Cross-site request protection for every state change (pure ASGI middleware).

Rule: a request with an unsafe method (anything but GET, HEAD, OPTIONS) is
refused with 403 unless

1. its ``Sec-Fetch-Site`` header, when the browser sends one, is
   ``same-origin`` or ``none`` (typed by the user), and its ``Origin``
   header, when present, names this very host (as Datasette checks); and
2. it carries the session's CSRF token, in the ``X-CSRF-Token`` header or
   the ``csrf_token`` form field, compared in constant time.

The session middleware must run first (it puts the token in the session at
the first page view). The form body is read here and handed on unchanged.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE = {"GET", "HEAD", "OPTIONS"}
MAX_FORM = 1024 * 1024


def token(session: dict) -> str:
    """The session's CSRF token, made at the first call."""
    t = session.get("csrf")
    if not t:
        t = session["csrf"] = secrets.token_urlsafe(32)
    return t


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, *, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        why = self._cross_site(headers, scope)
        body = b""
        if why is None:
            expected = (scope.get("session") or {}).get("csrf")
            given = headers.get("x-csrf-token")
            if given is None and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                body, more = b"", True
                while more:
                    message = await receive()
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                    if len(body) > MAX_FORM:
                        await PlainTextResponse("form too large", status_code=413)(scope, receive, send)
                        return
                given = (parse_qs(body.decode("latin-1")).get("csrf_token") or [None])[0]
            if not expected or not given or not hmac.compare_digest(str(expected), str(given)):
                why = "missing or wrong CSRF token"
        if why is not None:
            await PlainTextResponse(f"403 Forbidden: {why}. Reload the page and try again.",
                                    status_code=403)(scope, receive, send)
            return
        if body:
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
        else:
            await self.app(scope, receive, send)

    @staticmethod
    def _cross_site(headers: Headers, scope: Scope) -> str | None:
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"cross-site request ({site})"
        origin = headers.get("origin")
        if origin is not None and origin != "null":
            host = headers.get("host", "")
            if urlsplit(origin).netloc != host:
                return "request from another origin"
        elif origin == "null":
            return "request from an opaque origin"
        return None

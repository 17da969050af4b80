"""Log in, log out, choose a language: the only views open without a session."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.web.i18n import LANGUAGES, translate
from controller.web.pages import current_user, dash, language, redirect, render, safe_next


def login_form(request: Request) -> Response:
    if current_user(request) is not None:
        return redirect(safe_next(request.query_params.get("next")))
    return render(request, "login.html", {"next": safe_next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    from starlette.concurrency import run_in_threadpool  # argon2 and the store block: off the event loop

    d = dash(request)
    result = await run_in_threadpool(d.auth.login, username, password, request.client.host if request.client else None)
    lang = language(request)
    if result.user is None:
        error = translate("Too many failed attempts: this account is locked for a while." if result.locked
                          else "Wrong user name or password.", lang)
        await run_in_threadpool(d.store.audit, username.strip().lower()[:64] or "-", None,
                                "login.locked" if result.locked else "login.failed", "", "",
                                request.client.host if request.client else None)
        return await run_in_threadpool(render, request, "login.html",
                                       {"error": error, "next": target, "username": username[:64]}, status=401)
    user = result.user
    keep_lang = request.session.get("lang")
    request.session.clear()  # a fresh session (and CSRF token) at every login
    request.session.update({"u": user.username, "e": user.epoch, "csrf": secrets.token_urlsafe(32)})
    if keep_lang:
        request.session["lang"] = keep_lang
    request.state.user = user
    await run_in_threadpool(d.store.audit, user.username, user.role, "login", "", "",
                            request.client.host if request.client else None)
    return redirect(target)


def logout(request: Request) -> Response:
    user = current_user(request)
    if user is not None:
        # the cookie is signed, not stored: moving the epoch on is what makes a copy of it worthless
        dash(request).store.end_sessions(user.username)
        dash(request).store.audit(user.username, user.role, "logout", "", "",
                                  request.client.host if request.client else None)
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    return redirect("/login")


async def set_language(request: Request) -> Response:
    form = await request.form()
    lang = str(form.get("lang", ""))
    if lang in LANGUAGES:
        request.session["lang"] = lang
    return redirect(safe_next(str(form.get("next", ""))))


def home(request: Request) -> Response:
    return redirect("/fleet")


def healthz(request: Request) -> Response:
    return Response("ok\n", media_type="text/plain")


routes = [
    Route("/", home),
    Route("/healthz", healthz),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang", set_language, methods=["POST"]),
]

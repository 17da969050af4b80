"""Users (admin only) and the audit log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller import accounts
from controller.errors import StoreError
from controller.store.users import AuditEntry
from controller.web.i18n import error_text, translate
from controller.web.pages import audit, dash, field, flash, form, guard, language, redirect, render


@guard("admin")
def users_page(request: Request) -> Response:
    return render(request, "users.html", {"users": dash(request).store.users(), "roles": accounts.ROLES})


@guard("admin")
def add_user(request: Request) -> Response:
    name, role = field(request, "username"), field(request, "role")
    try:
        accounts.add_user(dash(request).store, name, role, str(form(request).get("password", "")))
    except (accounts.AccountError, StoreError) as exc:
        flash(request, error_text(exc, language(request)), "err")
        return redirect("/users")
    audit(request, "user.add", name, f"role {role}")
    flash(request, translate("User saved.", language(request)))
    return redirect("/users")


@guard("admin")
def change_password(request: Request) -> Response:
    name = request.path_params["username"]
    try:
        accounts.change_password(dash(request).store, name, str(form(request).get("password", "")))
    except accounts.AccountError as exc:
        flash(request, error_text(exc, language(request)), "err")
        return redirect("/users")
    audit(request, "user.passwd", name)
    flash(request, translate("Password changed.", language(request)))
    if name == request.state.user.username:
        request.session["e"] = dash(request).store.user(name).epoch  # keep one's own session
    return redirect("/users")


@guard("admin")
def remove_user(request: Request) -> Response:
    name = request.path_params["username"]
    if name == request.state.user.username:
        flash(request, translate("An admin cannot remove their own account here; use {command}.", language(request)).format(
            command="`rekam controller user remove`"), "err")
        return redirect("/users")
    try:
        accounts.remove_user(dash(request).store, name)
    except accounts.AccountError as exc:
        flash(request, error_text(exc, language(request)), "err")
        return redirect("/users")
    audit(request, "user.remove", name)
    flash(request, translate("User removed.", language(request)))
    return redirect("/users")


@guard("admin")
def audit_page(request: Request) -> Response:
    q = request.query_params
    who, action = q.get("user") or None, q.get("action") or None
    store = dash(request).store
    entries = store.audit_log(username=who, action=action)
    # the hand-off keeps its own trail (exports, sends, purges, also from the CLI and the worker): one log here
    handoff = [AuditEntry(e.id, e.at, e.actor, None, e.action, e.batch_id or "",
                          f"{e.count} record(s)" + (f"; {e.detail}" if e.detail else ""), None)
               for e in store.export_audit_trail(500)
               if (who is None or e.actor == who) and (action is None or e.action.startswith(action))]
    entries = sorted([*entries, *handoff], key=lambda e: e.at, reverse=True)[:500]
    return render(request, "audit.html", {"entries": entries, "who": q.get("user"), "action": q.get("action")})


routes = [
    Route("/users", users_page, methods=["GET"]),
    Route("/users", add_user, methods=["POST"]),
    Route("/users/{username}/password", change_password, methods=["POST"]),
    Route("/users/{username}/delete", remove_user, methods=["POST"]),
    Route("/audit", audit_page, methods=["GET"]),
]

"""Commands: self-test, driver swap, config reload, requeue, to one station or a selection,
each tracked to its reply or a timeout and shown as it changes (live channel)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.commands import DEVICE_KINDS, CommandError, command_args
from controller.web.i18n import error_text, translate
from controller.web.pages import audit, dash, field, flash, form, guard, language, redirect, render, safe_next
from protocol.messages import CommandName


def _ctx(request: Request) -> dict:
    d = dash(request)
    batch = request.query_params.get("batch") or None
    return {"commands": d.store.commands(batch_id=batch, limit=200), "batch": batch or "",
            "stations": [s for s in d.store.stations() if not s.revoked], "command_names": [c.value for c in CommandName],
            "device_kinds": DEVICE_KINDS, "query": request.url.query, "dumps": lambda v: json.dumps(v, ensure_ascii=False)}


@guard("viewer")
def commands_page(request: Request) -> Response:
    return render(request, "commands.html", _ctx(request))


@guard("viewer")
def commands_list(request: Request) -> Response:
    return render(request, "commands_list.html", _ctx(request), fragment=True)


@guard("operator")
def send(request: Request) -> Response:
    d = dash(request)
    stations = [s for s in form(request).getlist("station") if isinstance(s, str) and s]
    back = safe_next(field(request, "next")) if field(request, "next") else "/commands"
    try:
        raw = field(request, "options")
        options = json.loads(raw) if raw else {}
        if not isinstance(options, dict):
            raise CommandError("driver options must be a JSON object, e.g. {\"timeout\": 5}")
        name, args = command_args(field(request, "name"), kind=field(request, "kind"), driver=field(request, "driver"),
                                  options=options, packet_id=field(request, "packet_id"))
        batch = d.tracker.send(stations, name, args, request.state.user.username)
    except json.JSONDecodeError:
        flash(request, translate("Driver options must be JSON, e.g. {example}.", language(request)).format(
            example='{"timeout": 5}'), "err")
        return redirect(back)
    except CommandError as exc:
        flash(request, error_text(exc, language(request)), "err")
        return redirect(back)
    audit(request, "command.send", ", ".join(stations[:20]) + (" ..." if len(stations) > 20 else ""),
          f"{name.value} {json.dumps(args, sort_keys=True)} batch {batch}")
    flash(request, translate("Command sent.", language(request)))
    return redirect(f"/commands?batch={batch}" if back == "/commands" else back)


routes = [
    Route("/commands", commands_page, methods=["GET"]),
    Route("/commands/list", commands_list, methods=["GET"]),
    Route("/commands", send, methods=["POST"]),
]

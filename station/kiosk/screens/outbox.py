"""Outbox: today's packets and where each one is, and requeue for a quarantined one.

States as the operator says them: waiting (pending), sent (published, no ack
yet), stored at the controller (acked stored or duplicate), quarantined with
the controller's reason. The central system's statuses (BIO_CAPTURED,
PRINT_READY_RECORD...) have their own column, filled by
``Kiosk.central_status`` once the controller relays them to stations.
"""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from protocol import wib
from station.errors import OutboxError
from station.kiosk.web import kiosk, redirect, render, session, to_login


async def outbox(request: Request):
    if session(request) is None:
        return to_login()
    k = kiosk(request)
    today = k.runtime.today()
    since = dt.datetime.combine(today, dt.time(0), tzinfo=wib.WIB).timestamp()
    rows = await run_in_threadpool(k.runtime.outbox.listing, since)
    central = k.central_status or (lambda packet_id: None)
    items = [(r, k.central_text(central(r.packet_id))) for r in rows]
    return render(request, "outbox.html", items=items, error=request.query_params.get("error"))


async def requeue(request: Request):
    if session(request) is None:
        return to_login()
    form = await request.form()
    k = kiosk(request)
    try:
        await run_in_threadpool(k.runtime.outbox.requeue_quarantined, str(form.get("packet_id", "")))
    except OutboxError:
        return redirect("/outbox?error=requeue")
    if k.runtime.uplink is not None:
        k.runtime.uplink.wake()
    return redirect("/outbox")


routes = [Route("/outbox", outbox), Route("/outbox/requeue", requeue, methods=["POST"])]

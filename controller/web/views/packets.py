"""Packets: look one up by id, by station and sequence, or by NIK; its timeline; the quarantine.

A NIK is entered in full (by POST, so it never lands in a URL or an access
log) and always shown masked; an admin may reveal it on one packet's page,
and that view is written to the audit log. Nothing here reads an envelope:
biometrics stay sealed. Requeue runs a kept quarantined payload through the
controller's own ingest again; delete (admin only) drops the kept bytes and
leaves the entry as the record of who did it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.web import fmt
from controller.web.i18n import translate
from controller.web.pages import audit, dash, field, flash, guard, language, redirect, render
from protocol import nik as nik_mod


def _results_page(request: Request, packets, searched: str, error: str = "") -> Response:
    return render(request, "packets.html", {"packets": packets, "searched": searched, "error": error,
                                            "id": request.query_params.get("id", ""),
                                            "station": request.query_params.get("station", ""),
                                            "seq": request.query_params.get("seq", "")})


@guard("viewer")
def packets_page(request: Request) -> Response:
    d = dash(request)
    q = request.query_params
    if q.get("id"):
        pid = q["id"].strip()[:100]
        info = d.store.packet_info(pid)
        if info is None and not d.store.quarantine_for_packet(pid):
            return _results_page(request, [], pid)
        return redirect(f"/packets/{pid}")
    if q.get("station") and q.get("seq"):
        try:
            seq = int(q["seq"])
        except ValueError:
            return _results_page(request, [], "", translate("The sequence number must be a whole number.",
                                                            language(request)))
        return _results_page(request, d.store.packet_at(q["station"].strip(), seq), f"{q['station']} #{seq}")
    return _results_page(request, None, "")


#: What a NIK search says when the NIK itself is wrong (never echoing the digits).
NIK_REASONS = {
    "not_digits": "A NIK has only digits.",
    "length": "A NIK has 16 digits.",
    "unknown_region": "The NIK's region (first 6 digits) is not a known kecamatan.",
    "birth_date": "The birth date in the NIK cannot be (women: day + 40).",
    "serial": "The NIK's serial (last 4 digits) starts at 0001.",
}


@guard("viewer")
def packets_by_nik(request: Request) -> Response:
    raw = "".join(ch for ch in field(request, "nik") if ch.isdigit())
    try:
        nik_mod.parse(raw)
    except nik_mod.NIKError as exc:
        why = NIK_REASONS.get(exc.reason_id, "That is not a valid NIK.")
        return _results_page(request, [], fmt.mask_nik(raw), translate(why, language(request)))
    found = dash(request).store.packet_infos_by_nik(raw)
    audit(request, "packet.lookup_nik", fmt.mask_nik(raw), f"{len(found)} packet(s)")
    return _results_page(request, found, fmt.mask_nik(raw))


def _packet(request: Request, reveal: bool = False) -> Response:
    d = dash(request)
    pid = request.path_params["packet_id"]
    info = d.store.packet_info(pid)
    quarantine = d.store.quarantine_for_packet(pid)
    if info is None and not quarantine:
        return render(request, "notfound.html", {"what": f"packet {pid}"}, status=404)
    return render(request, "packet.html", {"p": info, "pid": pid, "timeline": d.store.packet_timeline(pid),
                                           "quarantine": quarantine, "reveal": reveal,
                                           "kelurahan": info and info.kelurahan_code})


@guard("viewer")
def packet_page(request: Request) -> Response:
    return _packet(request)


@guard("admin")
def reveal_nik(request: Request) -> Response:
    pid = request.path_params["packet_id"]
    info = dash(request).store.packet_info(pid)
    if info is None:
        return render(request, "notfound.html", {"what": f"packet {pid}"}, status=404)
    audit(request, "nik.reveal", pid, f"NIK {fmt.mask_nik(info.nik)} shown unmasked")
    return _packet(request, reveal=True)


# -- the quarantine ---------------------------------------------------------------------------
@guard("viewer")
def quarantine_page(request: Request) -> Response:
    q = request.query_params
    rows = dash(request).store.quarantine_rows(station_id=q.get("station") or None,
                                               include_handled=q.get("handled") == "1")
    return render(request, "quarantine.html", {"rows": rows, "station": q.get("station", ""),
                                               "handled": q.get("handled") == "1",
                                               "counters": dash(request).store.counters("refused.")})


def _entry(request: Request):
    try:
        return dash(request).store.quarantine_row(int(request.path_params["entry_id"]))
    except ValueError:
        return None


@guard("operator")
def requeue(request: Request) -> Response:
    d = dash(request)
    entry = _entry(request)
    if entry is None or entry.handled:
        flash(request, translate("No such entry waiting in the quarantine.", language(request)), "err")
        return redirect("/quarantine")
    # Only a verified packet is kept whole; of anything else only the first bytes are (a budget no
    # sender can exhaust). Such a packet was never acknowledged, so its station still holds it.
    payload = d.store.quarantined_payload(entry.id) if entry.payload_kept else None
    if payload is None or d.reingest is None:
        flash(request, translate("Entry #{id}: only its first bytes were kept; the station still holds the packet "
                                 "and sends it again (or ask it to: command requeue_quarantine).",
                                 language(request)).format(id=entry.id), "err")
        return redirect("/quarantine")
    [result] = d.reingest(entry.topic, payload) or [None]
    if result is not None and result.outcome in ("stored", "duplicate"):
        note = result.outcome
    else:
        note = f"refused again: {result.reason_id if result else 'unknown'}"
    user = request.state.user.username
    d.store.handle_quarantined(entry.id, "requeued", user, note, drop_payload=note in ("stored", "duplicate"))
    if entry.packet_id:
        d.store.add_packet_event(entry.packet_id, "requeued", f"#{entry.id}: {note}", user)
    audit(request, "quarantine.requeue", f"#{entry.id}", f"{entry.station_id} {entry.packet_id or ''}: {note}")
    flash(request, f"#{entry.id}: {note}", "ok" if not note.startswith("refused") else "err")
    return redirect("/quarantine")


@guard("admin")
def delete(request: Request) -> Response:
    d = dash(request)
    entry = _entry(request)
    if entry is None:
        flash(request, translate("No such entry in the quarantine.", language(request)), "err")
        return redirect("/quarantine")
    user = request.state.user.username
    reason = field(request, "reason")[:300]
    if d.store.delete_quarantined(entry.id, user, reason):
        if entry.packet_id:
            d.store.add_packet_event(entry.packet_id, "deleted", f"#{entry.id}" + (f": {reason}" if reason else ""),
                                     user)
        audit(request, "quarantine.delete", f"#{entry.id}",
              f"{entry.station_id} {entry.packet_id or ''} {entry.reason_id}" + (f": {reason}" if reason else ""))
        flash(request, f"#{entry.id}: {translate('deleted', language(request))}")
    return redirect("/quarantine")


routes = [
    Route("/packets", packets_page, methods=["GET"]),
    Route("/packets/nik", packets_by_nik, methods=["POST"]),
    Route("/packets/{packet_id}", packet_page, methods=["GET"]),
    Route("/packets/{packet_id}/reveal", reveal_nik, methods=["POST"]),
    Route("/quarantine", quarantine_page, methods=["GET"]),
    Route("/quarantine/{entry_id}/requeue", requeue, methods=["POST"]),
    Route("/quarantine/{entry_id}/delete", delete, methods=["POST"]),
]

"""Reviews: NIKs enrolled twice, the two packets side by side (index data only), resolved with a decision and a reason.

Nothing is merged or deleted by a decision: it is recorded (who, when, why)
for the hand-off to carry to the central system, which decides for good.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.web import fmt
from controller.web.i18n import translate
from controller.web.pages import audit, dash, field, flash, guard, language, redirect, render

DECISIONS = ("keep_earlier", "keep_later", "different_persons", "escalated")


@guard("viewer")
def reviews_page(request: Request) -> Response:
    d = dash(request)
    show_all = request.query_params.get("all") == "1"
    pairs = d.store.review_pairs(unresolved_only=not show_all)
    infos = {}
    for p in pairs:
        for pid in (p.packet_id, p.other_packet_id):
            if pid not in infos:
                infos[pid] = d.store.packet_info(pid)
    return render(request, "reviews.html", {"pairs": pairs, "infos": infos, "decisions": DECISIONS,
                                            "show_all": show_all})


@guard("operator")
def resolve(request: Request) -> Response:
    decision, reason = field(request, "decision"), field(request, "reason")[:500]
    packet_id, other = field(request, "packet_id"), field(request, "other_packet_id")
    if decision not in DECISIONS:
        flash(request, translate("Choose a decision.", language(request)), "err")
        return redirect("/reviews")
    if not reason:
        flash(request, translate("Give the reason for the decision.", language(request)), "err")
        return redirect("/reviews")
    d = dash(request)
    info = d.store.packet_info(packet_id)
    if not d.store.resolve_review(packet_id, other, decision, reason, request.state.user.username):
        flash(request, translate("That pair is unknown or already resolved.", language(request)), "err")
        return redirect("/reviews")
    for pid in (packet_id, other):
        d.store.add_packet_event(pid, "review", f"{decision}: {reason}", request.state.user.username)
    audit(request, "review.resolve", f"{packet_id} / {other}",
          f"NIK {fmt.mask_nik(info.nik) if info else '?'}: {decision}: {reason}")
    flash(request, translate("Review resolved.", language(request)))
    return redirect("/reviews")


routes = [Route("/reviews", reviews_page), Route("/reviews/resolve", resolve, methods=["POST"])]

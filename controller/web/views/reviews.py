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
#: On what the hand-off raised: a biometric match under another NIK, the centre's duplicate or refusal,
#: a record that could not be exported (resolving that one lets the controller try it again).
HANDOFF_DECISIONS = ("same_person", "different_persons", "resident_contacted", "retry_export", "escalated")


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
    handoff = d.store.handoff_reviews()
    for r in handoff:
        for pid in (r.packet_id, r.other_packet_id):
            if pid and pid not in infos:
                infos[pid] = d.store.packet_info(pid)
    return render(request, "reviews.html", {"pairs": pairs, "infos": infos, "decisions": DECISIONS,
                                            "show_all": show_all, "handoff": handoff,
                                            "handoff_decisions": HANDOFF_DECISIONS})


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


@guard("operator")
def resolve_handoff(request: Request) -> Response:
    decision, reason = field(request, "decision"), field(request, "reason")[:500]
    if decision not in HANDOFF_DECISIONS:
        flash(request, translate("Choose a decision.", language(request)), "err")
        return redirect("/reviews#handoff")
    if not reason:
        flash(request, translate("Give the reason for the decision.", language(request)), "err")
        return redirect("/reviews#handoff")
    d = dash(request)
    try:
        review_id = int(request.path_params["review_id"])
    except ValueError:
        review_id = -1
    review = next((r for r in d.store.handoff_reviews() if r.id == review_id), None)
    if review is None or not d.store.resolve_handoff_review(review_id, decision, reason, request.state.user.username):
        flash(request, translate("That review is unknown or already resolved.", language(request)), "err")
        return redirect("/reviews#handoff")
    d.store.add_packet_event(review.packet_id, "review", f"{review.kind}: {decision}: {reason}",
                             request.state.user.username)
    audit(request, "review.handoff", f"#{review_id} {review.packet_id}", f"{review.kind}: {decision}: {reason}")
    flash(request, translate("Review resolved.", language(request)))
    return redirect("/reviews#handoff")


routes = [Route("/reviews", reviews_page), Route("/reviews/resolve", resolve, methods=["POST"]),
          Route("/reviews/handoff/{review_id}/resolve", resolve_handoff, methods=["POST"])]

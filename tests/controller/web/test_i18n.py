"""Every text a template or view asks for has its Bahasa Indonesia translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import controller.web
from controller.web.i18n import ID

WEB = Path(controller.web.__file__).parent
CALL = re.compile(r"""_\(\s*(["'])(.+?)\1\s*\)""")
LISTED = re.compile(r"""\(\s*["'][^"']*["']\s*,\s*["']([^"']+)["']\s*\)""")  # ("/fleet", "Fleet") pairs in templates


def translated_literals(source: str) -> set[str]:
    """The literal first arguments of translate(...) calls, implicit concatenations joined."""
    return {n.args[0].value for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "translate"
            and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)}


def test_every_template_and_view_text_has_an_indonesian_translation():
    wanted: set[str] = set()
    for f in (WEB / "templates").glob("*.html"):
        text = f.read_text()
        wanted |= {m.group(2) for m in CALL.finditer(text)}
        for block in re.findall(r"\{%\s*for .*? in \[(.*?)\]\s*%\}", text, re.S):
            wanted |= set(LISTED.findall(block))
    for f in (WEB / "views").glob("*.py"):
        wanted |= translated_literals(f.read_text())
    assert len(wanted) > 100
    missing = sorted(w for w in wanted if w not in ID)
    assert missing == []


def test_values_shown_through_translation_are_translated_too():
    from controller.accounts import ROLES
    from controller.scheduler import VenueKind
    from controller.web.views.reviews import DECISIONS, HANDOFF_DECISIONS
    from protocol.messages import CommandName

    values = {"online", "offline", "silent", "revoked", "sent", "not_sent", "replied", "timeout", "sealed", "stored",
              "quarantined", "requeued", "deleted", "exported", "purged", "review", *DECISIONS, *HANDOFF_DECISIONS, *ROLES,
              "biometric_duplicate", "central_duplicate", "central_failure", "export_refused",
              *(k.value for k in VenueKind), *(c.value for c in CommandName)}
    assert sorted(v for v in values if v not in ID) == []
    from controller.scheduler import solo_2013_targets
    from controller.scheduler.fit import facts
    from controller.scheduler.params import ORIGIN

    shown = {x for f in facts(solo_2013_targets()) for x in (f.name, f.role)} | set(ORIGIN.values())  # the plan figures page
    assert sorted(v for v in shown if v not in ID) == []


def test_translations_keep_their_placeholders():
    fields = re.compile(r"\{(\w*)\}")
    assert [k for k, v in ID.items() if sorted(fields.findall(k)) != sorted(fields.findall(v))] == []


def test_errors_the_dashboard_shows_after_a_form_are_translated():
    """The controller's own errors (accounts, commands, venues, venue store) keep a template the
    dashboard translates; a NIK search's reasons likewise."""
    import controller.accounts
    import controller.commands
    import controller.scheduler.venues
    import controller.store.dashboard
    import controller.store.planning
    from controller.web.views.packets import NIK_REASONS

    templates = set()
    for mod in (controller.accounts, controller.commands, controller.scheduler.venues,
                controller.store.dashboard, controller.store.planning):
        for n in ast.walk(ast.parse(Path(mod.__file__).read_text())):
            if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call) and n.exc.keywords and n.exc.args \
                    and isinstance(n.exc.args[0], ast.Constant):
                templates.add(n.exc.args[0].value)
    assert len(templates) >= 15
    assert sorted(t for t in templates | set(NIK_REASONS.values()) if t not in ID) == []


def test_an_error_reads_in_the_operators_language_with_its_values():
    from controller.accounts import AccountError
    from controller.web.i18n import error_text

    err = AccountError("a password needs at least {count} characters", count=12)
    assert str(err) == "a password needs at least 12 characters" and err.params == {"count": 12}
    assert error_text(err, "id") == "kata sandi paling sedikit 12 karakter"
    assert error_text(err, "en") == str(err)
    assert error_text(AccountError("something new"), "id") == "something new"  # untranslated: as written


def test_why_a_plan_was_made_reads_in_the_operators_language():
    from controller.web.i18n import plan_reason

    why = "new day, st-02 offline, st-03 back, kelurahan 33.72.05.1001 finished, outreach events changed"
    assert plan_reason(why, "id") == ("hari baru, st-02 offline, st-03 aktif kembali, kelurahan 33.72.05.1001 selesai, "
                                      "acara jemput bola berubah")
    assert plan_reason(why, "en") == why and plan_reason(None, "id") == "rencana baru"
    assert plan_reason("something new", "id") == "something new"

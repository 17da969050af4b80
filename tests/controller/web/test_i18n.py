"""Every text a template or view asks for has its Bahasa Indonesia translation."""

from __future__ import annotations

import re
from pathlib import Path

import controller.web
from controller.web.i18n import ID

WEB = Path(controller.web.__file__).parent
CALL = re.compile(r"""_\(\s*(["'])(.+?)\1\s*\)""")
LISTED = re.compile(r"""\(\s*["'][^"']*["']\s*,\s*["']([^"']+)["']\s*\)""")  # ("/fleet", "Fleet") pairs in templates
TRANSLATED = re.compile(r"""translate\(\s*["']([^"']+)["']""")


def test_every_template_and_view_text_has_an_indonesian_translation():
    wanted: set[str] = set()
    for f in (WEB / "templates").glob("*.html"):
        text = f.read_text()
        wanted |= {m.group(2) for m in CALL.finditer(text)}
        for block in re.findall(r"\{%\s*for .*? in \[(.*?)\]\s*%\}", text, re.S):
            wanted |= set(LISTED.findall(block))
    for f in (WEB / "views").glob("*.py"):
        wanted |= set(TRANSLATED.findall(f.read_text()))
    assert len(wanted) > 100
    missing = sorted(w for w in wanted if w not in ID)
    assert missing == []


def test_values_shown_through_translation_are_translated_too():
    from controller.accounts import ROLES
    from controller.scheduler import VenueKind
    from controller.web.views.reviews import DECISIONS
    from protocol.messages import CommandName

    values = {"online", "offline", "silent", "revoked", "sent", "not_sent", "replied", "timeout", "sealed", "stored",
              "quarantined", "requeued", "deleted", "exported", "review", *DECISIONS, *ROLES,
              *(k.value for k in VenueKind), *(c.value for c in CommandName)}
    assert sorted(v for v in values if v not in ID) == []

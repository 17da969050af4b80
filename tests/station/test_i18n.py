"""Every reason an operator can be shown has Bahasa Indonesia and English text."""

import inspect
import string

import pytest

import drivers.errors
import drivers.fingerprint.gt521.codec
import station.errors
import station.operators.store
import station.pen
import station.provisioning
import station.trainer
from protocol import nik
from station import i18n
from station.quality import FACE_PROBLEMS, FINGER_PROBLEMS, SIGNATURE_PROBLEMS


def _reason_ids(*modules):
    ids = set()
    for m in modules:
        for _, obj in inspect.getmembers(m, inspect.isclass):
            rid = getattr(obj, "reason_id", None)
            if isinstance(rid, str) and rid not in ("device_error",):
                ids.add(rid)
    return ids


@pytest.mark.parametrize("rid", sorted(_reason_ids(drivers.errors, station.errors, drivers.fingerprint.gt521.codec,
                                                   station.provisioning, station.operators.store, station.pen,
                                                   station.trainer)))
def test_error_reasons_are_translated(rid):
    for lang in ("id", "en"):
        assert lang in (i18n.MESSAGES.get(f"e.{rid}") or i18n.KIOSK_MESSAGES[f"e.{rid}"]), rid


@pytest.mark.parametrize("pid", sorted(set(FACE_PROBLEMS) | set(FINGER_PROBLEMS) | set(SIGNATURE_PROBLEMS)))
def test_quality_problems_are_translated(pid):
    assert set(i18n.MESSAGES[f"q.{pid}"]) >= {"id", "en"}


@pytest.mark.parametrize("text", ["123", "3372053212900001", "9999054512900001", "3372054512900000", "33x"])
def test_nik_reasons_are_translated(text):
    with pytest.raises(nik.NIKError) as err:
        nik.parse(text)
    assert set(i18n.MESSAGES[f"nik.{err.value.reason_id}"]) >= {"id", "en"}


def test_message_parameters_fill_in_both_languages():
    for msg_id, texts in {**i18n.MESSAGES, **i18n.KIOSK_MESSAGES}.items():
        for lang in ("id", "en"):
            if lang in texts:
                names = {n for _, n, _, _ in string.Formatter().parse(texts[lang]) if n}
                other = "en" if lang == "id" else "id"
                if other in texts:
                    other_names = {n for _, n, _, _ in string.Formatter().parse(texts[other]) if n}
                    assert names == other_names, msg_id


def test_every_text_the_kiosk_asks_for_by_name_exists():
    """Literal ids in the kiosk's templates (t('...')) and code (k.t("...")); built ids are checked where built."""
    import re
    from pathlib import Path

    import station.kiosk

    root = Path(station.kiosk.__file__).parent
    literal = re.compile(r"""\bt\(\s*(["'])([a-z][a-z0-9_.]*)\1\s*[,)]""")  # not t('x.' + ...)
    wanted = set()
    for f in [*root.rglob("*.html"), *root.rglob("*.py")]:
        wanted |= {m.group(2) for m in literal.finditer(f.read_text())}
    assert len(wanted) > 80
    assert sorted(w for w in wanted if not i18n.known(w)) == []

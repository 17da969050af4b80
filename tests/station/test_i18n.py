"""Every reason an operator can be shown has Bahasa Indonesia and English text."""

import inspect
import string

import pytest

import drivers.errors
import drivers.fingerprint.gt521.codec
import station.errors
import station.provisioning
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
                                                   station.provisioning)))
def test_error_reasons_are_translated(rid):
    for lang in ("id", "en"):
        assert lang in i18n.MESSAGES[f"e.{rid}"], rid


@pytest.mark.parametrize("pid", sorted(set(FACE_PROBLEMS) | set(FINGER_PROBLEMS) | set(SIGNATURE_PROBLEMS)))
def test_quality_problems_are_translated(pid):
    assert set(i18n.MESSAGES[f"q.{pid}"]) >= {"id", "en"}


@pytest.mark.parametrize("text", ["123", "3372053212900001", "9999054512900001", "3372054512900000", "33x"])
def test_nik_reasons_are_translated(text):
    with pytest.raises(nik.NIKError) as err:
        nik.parse(text)
    assert set(i18n.MESSAGES[f"nik.{err.value.reason_id}"]) >= {"id", "en"}


def test_message_parameters_fill_in_both_languages():
    for msg_id, texts in i18n.MESSAGES.items():
        for lang in ("id", "en"):
            if lang in texts:
                names = {n for _, n, _, _ in string.Formatter().parse(texts[lang]) if n}
                other = "en" if lang == "id" else "id"
                if other in texts:
                    other_names = {n for _, n, _, _ in string.Formatter().parse(texts[other]) if n}
                    assert names == other_names, msg_id

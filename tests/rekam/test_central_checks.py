"""How the emulated centre judges single transactions, including broken ones."""

from __future__ import annotations

from controller.export import nist
from rekam.central import checks
from rekam.central.residents import realistic_record

NOW = 1_700_000_000.0


def tx_without(tag_type: int, tag: int) -> bytes:
    rec = realistic_record("3372054512900001", "33.72.05.1001", started_at=NOW)
    msg = nist.parse(nist.build(rec, "p-1", origin="c", now=NOW).data)
    for r in msg.iter(tag_type):
        del r[tag]
        break
    return msg.NIST


def test_a_good_transaction_is_sent_for_enrollment_with_index_finger_templates():
    rec = realistic_record("3372054512900001", "33.72.05.1001", started_at=NOW)
    v = checks.judge(nist.build(rec, "p-1", origin="c", now=NOW).data, "p-1", min_quality=40, biometric=True)
    assert (v.nik, v.status) == ("3372054512900001", "SENT_FOR_ENROLLMENT")
    assert sorted(v.templates) == [2, 7]


def test_broken_transactions_are_refused_with_a_reason_not_a_crash():
    assert checks.judge(b"garbage", "p-1", min_quality=40, biometric=False).status == \
        "ENROLL_FAILURE_INVALID_TRANSACTION"
    assert checks.judge(tx_without(14, 13), "p-1", min_quality=40, biometric=False).status == \
        "ENROLL_FAILURE_INVALID_TRANSACTION"  # a finger without its position
    v = checks.judge(tx_without(2, 4), "p-1", min_quality=40, biometric=False)
    assert v.status == "ENROLL_FAILURE_INVALID_TRANSACTION" and "kelurahan" in v.reason
    rec = realistic_record("3372054512900001", "33.72.05.1001", started_at=NOW)
    assert checks.judge(nist.build(rec, "p-1", origin="c", now=NOW).data, "p-other", min_quality=40,
                        biometric=False).status == "ENROLL_FAILURE_INVALID_TRANSACTION"  # TCN is not the packet

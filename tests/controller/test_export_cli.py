"""The operator's commands of the hand-off, on a prepared store: status, funnel, revisits, history, purge."""

from __future__ import annotations

from controller.store.handoff import BatchRow
from rekam.cli import main
from rekam.sandbox import synthetic_niks, synthetic_record
from tests.fixtures.handoff import make_handoff


def test_export_views_and_purge(tmp_path, capsys):
    h = make_handoff(tmp_path)
    conf = str(h.ctl.config_path)
    with h.ctl.store() as store:
        ids = h.store_records(store, [synthetic_record(n) for n in synthetic_niks(3)])
        store.record_batch(BatchRow("b-1", 1.0, "ana", 3, "/x", "/y", "00"), [(i, "h") for i in ids], actor="ana")
        store.batch_accepted("b-1", actor="ana")
        store.apply_statuses([(ids[0], "SENT_FOR_ENROLLMENT", "", 1.0), (ids[0], "PRINT_READY_RECORD", "", 2.0),
                              (ids[1], "ENROLL_FAILURE_FINGER_UNREADABLE", "finger 2", 1.0)])
        store.raise_handoff_review("central_failure", ids[1], "ENROLL_FAILURE_FINGER_UNREADABLE finger 2")
    assert main(["controller", "export", "status", "--config", conf]) == 0
    out = capsys.readouterr().out
    assert "stored and not yet in a batch: 0" in out and "b-1" in out and "export.delivered" in out
    assert main(["controller", "export", "funnel", "--config", conf]) == 0
    out = capsys.readouterr().out
    assert "Banjarsari" in out.replace("BANJARSARI", "Banjarsari") and "print-ready" in out
    assert main(["controller", "export", "revisits", "--config", conf]) == 0
    out = capsys.readouterr().out
    assert ids[1] in out and "FINGER_UNREADABLE" in out and synthetic_niks(3)[1] not in out  # NIK masked
    assert main(["controller", "export", "history", ids[0], "--config", conf]) == 0
    out = capsys.readouterr().out
    assert out.index("SENT_FOR_ENROLLMENT") < out.index("PRINT_READY_RECORD") and "held" in out
    assert main(["controller", "export", "history", ids[2], "--config", conf]) == 2  # no status yet: one line
    assert "no central status" in capsys.readouterr().err
    text = h.ctl.config_path.read_text() + "\n[export]\npurge_grace_days = 0\n"
    h.ctl.config_path.write_text(text)
    assert main(["controller", "export", "purge", "--config", conf]) == 0
    assert "payloads of 1 record(s)" in capsys.readouterr().out
    assert main(["controller", "reviews", "--config", conf]) == 0
    assert "central_failure" in capsys.readouterr().out
    assert main(["controller", "progress", "--config", conf]) == 0  # no targets yet: says so, no funnel crash

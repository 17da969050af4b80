"""The hand-off's store: one batch per packet, statuses with history, funnel, revisits, and the purge."""

from __future__ import annotations

import pytest

from controller.errors import StoreError
from controller.store.handoff import BatchRow
from rekam.sandbox import synthetic_niks, synthetic_record
from tests.fixtures.handoff import make_handoff


@pytest.fixture
def setup(tmp_path):
    h = make_handoff(tmp_path)
    store = h.ctl.store().open()
    # Filler bytes that are easy to find in the database file.
    records = [synthetic_record(nik, kelurahan_code="33.72.05.1001" if i < 3 else "33.72.01.1001",
                                face_bytes=20_000, filler=b"FINDME%02d" % i) for i, nik in enumerate(synthetic_niks(4))]
    ids = h.store_records(store, records)
    yield h, store, ids
    store.close()


def batch(bid: str, n: int) -> BatchRow:
    return BatchRow(bid, 1.0, "tester", n, f"/x/{bid}.batch", f"/x/{bid}.manifest.json", "00")


def test_a_packet_goes_into_one_batch_only(setup):
    h, store, ids = setup
    assert store.packets_to_export() == ids
    store.record_batch(batch("b-1", 2), [(ids[0], "a"), (ids[1], "b")], actor="ana")
    assert store.packets_to_export() == ids[2:]
    with pytest.raises(StoreError):
        store.record_batch(batch("b-2", 2), [(ids[1], "b"), (ids[2], "c")], actor="ana")
    assert store.batch("b-2") is None  # the whole second batch was rolled back
    assert store.packets_to_export() == ids[2:]
    trail = store.export_audit_trail()
    assert [(a.actor, a.action, a.count, a.batch_id) for a in trail] == [("ana", "export.sealed", 2, "b-1")]


def test_statuses_keep_their_history_and_feed_the_funnel_and_revisits(setup):
    h, store, ids = setup
    store.record_batch(batch("b-1", 4), [(i, "h") for i in ids], actor="ana")
    assert store.batch_accepted("b-1", actor="ana") and not store.batch_accepted("b-1", actor="ana")
    assert store.apply_statuses([(ids[0], "SENT_FOR_ENROLLMENT", "", 10.0),
                                 (ids[1], "ENROLL_FAILURE_FINGER_UNREADABLE", "finger 3", 10.0),
                                 (ids[2], "DUPLICATE_RECORD", "nik", 10.0),
                                 ("not-ours", "SENT_FOR_ENROLLMENT", "", 10.0)]) == ids[:3]
    assert store.apply_statuses([(ids[0], "SENT_FOR_ENROLLMENT", "", 10.0)]) == []  # heard before
    store.apply_statuses([(ids[0], "PRINT_READY_RECORD", "", 20.0), (ids[3], "SENT_FOR_ENROLLMENT", "", 11.0)])
    store.apply_statuses([(ids[0], "PRINTED", "", 30.0)])
    assert [s for s, *_ in store.status_history(ids[0])] == ["SENT_FOR_ENROLLMENT", "PRINT_READY_RECORD", "PRINTED"]
    assert store.central_status(ids[0]).status == "PRINTED"
    funnel = {r.kecamatan_code: r for r in store.funnel()}
    banjarsari, laweyan = funnel["33.72.05"], funnel["33.72.01"]
    assert (banjarsari.recorded, banjarsari.sent, banjarsari.enrolled, banjarsari.print_ready,
            banjarsari.printed, banjarsari.distributed) == (3, 3, 1, 1, 1, 0)
    assert (laweyan.recorded, laweyan.enrolled) == (1, 1)
    assert store.revisits(["ENROLL_FAILURE_FINGER_UNREADABLE"]) == [
        ("33.72.05.1001", ids[1], synthetic_niks(4)[1], "ENROLL_FAILURE_FINGER_UNREADABLE")]
    unpublished = store.unpublished_statuses()
    assert {r.packet_id for r in unpublished} == set(ids)
    assert [r.status for r in unpublished if r.packet_id == ids[0]] == [
        "SENT_FOR_ENROLLMENT", "PRINT_READY_RECORD", "PRINTED"]  # every step, not only the latest
    store.statuses_published(unpublished)
    assert store.unpublished_statuses() == []


def test_purge_removes_the_sealed_bytes_from_the_database_file_and_keeps_the_index(setup):
    h, store, ids = setup
    db_file = h.cfg.store_path
    envelope = store.packet_envelope(ids[0])
    marker = envelope[1000:1064]  # a stretch of the HPKE ciphertext
    store.compact()
    assert marker in db_file.read_bytes()
    store.record_batch(batch("b-1", 4), [(i, "h") for i in ids], actor="ana")
    store.apply_statuses([(ids[0], "SENT_FOR_ENROLLMENT", "", 10.0), (ids[1], "DUPLICATE_RECORD", "nik", 10.0)])
    assert store.purgeable(3600) == []  # inside the grace period
    assert store.purgeable(0, now=store._clock() + 1) == [ids[0]]  # a duplicate is not a confirmation
    store.add_dedup_rows([(ids[0], b"n" * 12, b"TEMPLATES-0"), (ids[1], b"n" * 12, b"TEMPLATES-1")])
    assert store.purge_payloads([ids[0]], actor="ana") == 1
    assert [r[0] for r in store.dedup_rows()] == [ids[1]]  # its sealed finger templates went with it
    store.compact()
    files = db_file.read_bytes() + (db_file.with_name(db_file.name + "-wal").read_bytes()
                                    if db_file.with_name(db_file.name + "-wal").exists() else b"")
    assert marker not in files
    assert store.packet_envelope(ids[1])[1000:1064] in files  # the unconfirmed one is still whole
    assert store.packet_envelope(ids[0]) == b""
    assert store.purged(ids[0]) and not store.purged(ids[1])
    assert store.packets_by_nik(synthetic_niks(4)[0]) == [ids[0]]  # the index stays
    assert [s for s, *_ in store.status_history(ids[0])] == ["SENT_FOR_ENROLLMENT"]
    assert store.export_audit_trail()[-1].action == "purge"
    assert store.packets_to_export() == []


def test_statuses_wait_for_their_station_to_be_online_then_go_in_one_message(setup):
    """Sent every cycle to a station away for days, they overflowed the broker's queue for it and were lost."""
    from controller.export.delivery import HandOff
    from protocol import messages

    h, store, ids = setup
    store.record_batch(batch("b-1", 4), [(i, "h") for i in ids], actor="ana")
    store.apply_statuses([(ids[0], "SENT_FOR_ENROLLMENT", "", 10.0)])
    handoff = HandOff(store, h.settings(), origin="controller-1", client=None, actor="tester")
    sent: list[tuple[str, bytes]] = []
    assert handoff.publish(lambda topic, payload: sent.append((topic, payload)) or True) == 0  # st-01 offline
    store.apply_statuses([(ids[0], "PRINT_READY_RECORD", "", 20.0)])
    assert handoff.publish(lambda topic, payload: sent.append((topic, payload)) or True) == 0
    assert sent == [] and len(store.unpublished_statuses()) == 2
    store.record_state("st-01", True, 1, "0.1.0", {}, 30.0)
    assert handoff.publish(lambda topic, payload: sent.append((topic, payload)) or True) == 2
    [(topic, payload)] = sent
    msg = messages.decode(messages.CentralStatuses, payload)
    assert [s.status for s in msg.statuses] == ["SENT_FOR_ENROLLMENT", "PRINT_READY_RECORD"]
    assert store.unpublished_statuses() == []

"""The central-system emulator over real HTTPS, driven by the controller's exporter and hand-off."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from controller.export.client import CentralClient, CentralRefused, CentralUnavailable
from controller.export.delivery import HandOff
from controller.export.exporter import Exporter
from controller.export.sealing import seal_batch
from protocol.keys import SigningKey
from protocol.record import FingerException, Quality
from rekam.central.residents import realistic_record
from rekam.central.server import CentralServer
from rekam.sandbox import synthetic_niks
from tests.fixtures.handoff import make_handoff
from tests.fixtures.mqtt import wait_until

KEL = "33.72.05.1001"


def run_handoff(h, store, srv):
    settings = h.settings(central_url=srv.url, central_ca_file=srv.dir.cert)
    exporter = Exporter(store, h.ctl.keys, settings, origin=h.cfg.controller_id, central_key=h.central_key,
                        signing_key=h.signing_key)
    client = CentralClient(srv.url, ca_file=srv.dir.cert, timeout_s=30)
    return exporter, HandOff(store, settings, origin=h.cfg.controller_id, client=client, actor="tester")


def statuses(store, ids):
    return {pid: (store.central_status(pid).status if store.central_status(pid) else None) for pid in ids}


def test_records_are_judged_and_move_through_printing_held_back_by_the_card_stock(tmp_path):
    h = make_handoff(tmp_path, central={"blank_cards": 1})
    niks = synthetic_niks(5)
    weak = Quality(passed=False, forced=True, attempts=3, measures={"contiguous_fraction": 0.2})
    records = [
        realistic_record(niks[0], KEL, person_id="p-0"),
        realistic_record(niks[1], KEL, person_id="p-1", excepted={4: FingerException.AMPUTATED}),
        realistic_record(niks[0], KEL, person_id="p-other", capture_seed=1),  # the same NIK again
        realistic_record(niks[3], KEL, person_id="p-0", capture_seed=3),  # p-0 again under another NIK
        realistic_record(niks[4], KEL, person_id="p-4"),
    ]
    last = records[4]
    records[4] = msgspec.structs.replace(last, fingers=tuple(
        msgspec.structs.replace(f, quality=weak) if f.position == 6 else f for f in last.fingers))
    # (the capture chain no longer holds for the altered one; rebuild it as the station would)
    from protocol.record import ChainBuilder

    chain = ChainBuilder(last.nik, last.station_id, last.started_at)
    r4 = records[4]
    records[4] = msgspec.structs.replace(r4, face=chain.add(r4.face),
                                         fingers=tuple(chain.add(f) for f in sorted(r4.fingers, key=lambda f: f.position)),
                                         signature=chain.add(r4.signature))
    with h.ctl.store() as store, CentralServer(h.central.path) as srv:
        ids = h.store_records(store, records)
        exporter, handoff = run_handoff(h, store, srv)
        report = exporter.run("ana")
        assert report.exported == 5 and len(report.batches) == 1
        assert report.flagged == 1  # p-0 under two NIKs, found before export
        review = store.handoff_reviews("biometric_duplicate")[0]
        assert (review.packet_id, review.other_packet_id) == (ids[3], ids[0])
        assert handoff.push() == (1, 0)
        assert wait_until(lambda: (handoff.poll() or True) and all(statuses(store, ids).values()), 10)
        s = statuses(store, ids)
        assert s[ids[2]] == "DUPLICATE_RECORD" and store.status_history(ids[2])[0][1] == "nik"
        assert s[ids[3]] == "DUPLICATE_RECORD" and store.status_history(ids[3])[0][1] == "biometric"
        assert s[ids[4]] == "ENROLL_FAILURE_FINGER_UNREADABLE"
        # one blank card: one of the two good records is printed, the other waits print-ready
        assert wait_until(lambda: (handoff.poll() or True) and sorted(statuses(store, ids[:2]).values())
                          == ["DISTRIBUTED", "PRINT_READY_RECORD"], 10)
        assert srv.central.store.stock() == 0
        CentralClient(srv.url, ca_file=srv.dir.cert)._request("POST", "/v1/stock", json={"add": 5})
        assert wait_until(lambda: (handoff.poll() or True) and set(statuses(store, ids[:2]).values())
                          == {"DISTRIBUTED"}, 10)
        kinds = sorted(r.kind for r in store.handoff_reviews())
        assert kinds == ["biometric_duplicate", "central_duplicate", "central_duplicate", "central_failure"]
        assert [p for _, p, _, _ in store.revisits(["ENROLL_FAILURE_FINGER_UNREADABLE"])] == [ids[4]]
        history = [st for st, *_ in store.status_history(ids[0])]
        assert history == ["SENT_FOR_ENROLLMENT", "PRINT_READY_RECORD", "PRINTED", "DISTRIBUTED"]
        counts = srv.central.store.counts()
        assert counts["records"] == 5 and counts["records_received_twice"] == 0


def test_a_resent_batch_is_recognised_and_an_untrusted_one_refused(tmp_path):
    h = make_handoff(tmp_path)
    with h.ctl.store() as store, CentralServer(h.central.path) as srv:
        ids = h.store_records(store, [realistic_record(n, KEL) for n in synthetic_niks(2)])
        exporter, handoff = run_handoff(h, store, srv)
        exporter.run("ana")
        batch = store.batches()[0]
        client = handoff.client
        data, manifest = Path(batch.path).read_bytes(), Path(batch.manifest_path).read_bytes()
        first = client.send_batch(data, manifest)
        again = client.send_batch(data, manifest)
        assert (first.received, first.duplicate_batch, again.duplicate_batch) == (2, False, True)
        assert wait_until(lambda: srv.central.store.counts()["records"] == 2, 10)
        assert srv.central.store.counts()["batch_deliveries"] == 2
        assert srv.central.store.counts()["records_received_twice"] == 0
        stranger = seal_batch("b-x", [(ids[0], b"x")], origin="intruder", created_at=1.0,
                              central_key=h.central_key, signing_key=SigningKey.generate())
        with pytest.raises(CentralRefused) as exc:
            client.send_batch(stranger.data, stranger.manifest)
        assert exc.value.reason_id == "unknown_signer"
        assert srv.central.store.counts()["batches"] == 1


def test_https_is_verified_and_a_centre_that_is_away_loses_nothing(tmp_path):
    h = make_handoff(tmp_path)
    with h.ctl.store() as store:
        h.store_records(store, [realistic_record(n, KEL) for n in synthetic_niks(2)])
        with CentralServer(h.central.path) as srv:
            url = srv.url
            with pytest.raises(CentralUnavailable):  # a certificate we were not told to trust
                CentralClient(url, timeout_s=5).statuses("controller-1", 0)
            exporter, handoff = run_handoff(h, store, srv)
            exporter.run("ana")
        # the centre is gone: delivery fails, is retried later, the batch stays sealed on disk
        assert handoff.push() == (0, 1)
        b = store.batches()[0]
        assert b.state == "sealed" and b.attempts == 1 and "unreachable" in b.last_error
        assert Path(b.path).exists()
        with CentralServer(h.central.path) as srv2:
            handoff.client = CentralClient(srv2.url, ca_file=srv2.dir.cert)
            assert handoff.push(force=True) == (1, 0)
            assert store.batches()[0].state == "accepted"
            assert wait_until(lambda: srv2.central.store.counts()["records"] == 2, 10)

"""The ingest pipeline without a broker: every refusal has its reason, good packets keep flowing."""

from __future__ import annotations


import cbor2
import msgspec
import pytest

from controller.ingest import Ingest
from controller.store import Store
from protocol import packet, topics
from protocol.keys import ControllerKeys, SigningKey, Suite
from protocol.messages import AckStatus
from protocol.record import FingerException
from tests.fixtures.records import make_record, sample_niks

CK = ControllerKeys.generate()
KEYS = {"st-01": SigningKey.generate(), "st-02": SigningKey.generate()}


def topic(sid="st-01"):
    return topics.station(sid, topics.Leaf.PACKETS)


def sealed(sid="st-01", record=None, seq=1, key=None, suite=Suite.MLKEM768_X25519, plaintext=None) -> bytes:
    record = record or make_record(station_id=sid)
    pt = plaintext if plaintext is not None else record.to_cbor()
    return packet.seal(pt, station_id=sid, seq=seq, controller_key=CK.public.for_suite(suite),
                       station_key=key or KEYS[sid]).to_bytes()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "controller.db") as s:
        for sid, k in KEYS.items():
            s.add_station(sid, k.public.to_pem(), k.public.kid)
        yield s


@pytest.fixture
def ingest(store):
    return Ingest(store, CK, max_packet_bytes=2_000_000)


def test_store_migrates_to_latest(store):
    from adapters.sqlite import migrations_in

    shipped = [m.name for m in migrations_in("controller.store.migrations")]
    assert shipped[:2] == ["0001_initial", "0002_venues"]
    assert store.migrations == shipped


def test_two_stations_stored_once_each_and_resend_is_duplicate(ingest, store):
    a = sealed("st-01", make_record(sample_niks(1)[0], station_id="st-01"))
    b = sealed("st-02", make_record(sample_niks(2)[1], station_id="st-02"))
    results = ingest.process([(topic("st-01"), a), (topic("st-02"), b)])
    assert [r.ack.status for r in results] == [AckStatus.STORED, AckStatus.STORED]
    assert [r.station_id for r in results] == ["st-01", "st-02"]
    again = ingest.process([(topic("st-01"), a)])
    assert again[0].ack.status is AckStatus.DUPLICATE
    assert store.packet_count() == 2
    assert store.packet_envelope(results[0].packet_id) == a  # kept exactly as received, still sealed


def test_same_packet_twice_in_one_batch_stored_once(ingest, store):
    a = sealed()
    results = ingest.process([(topic(), a), (topic(), a)])
    assert [r.outcome for r in results] == ["stored", "duplicate"]
    assert store.packet_count() == 1


def test_plaintext_never_in_the_database(ingest, store, tmp_path):
    rec = make_record(image_bytes=4096)
    ingest.process([(topic(), sealed(record=rec))])
    store.close()
    raw = (tmp_path / "controller.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("controller.db-*"))
    assert rec.face.image[:200] not in raw
    assert rec.fingers[0].image[:200] not in raw


def test_same_nik_twice_is_kept_and_flagged(ingest, store):
    r1 = make_record(started_at=1000.0)
    r2 = make_record(started_at=2000.0)
    first = ingest.process([(topic(), sealed(record=r1, seq=1))])[0]
    second = ingest.process([(topic(), sealed(record=r2, seq=2))])[0]
    assert (first.outcome, second.outcome) == ("stored", "stored")
    assert second.same_nik == (first.packet_id,)
    assert store.packets_by_nik(r1.nik) == [first.packet_id, second.packet_id]
    assert store.duplicate_enrollments() == [(r1.nik, second.packet_id, first.packet_id)]


def _flip(data: bytes, field: str) -> bytes:
    body = cbor2.loads(data)
    v = bytearray(body[field])
    v[len(v) // 2] ^= 1
    body[field] = bytes(v)
    return cbor2.dumps(body, canonical=True)


def bad_packets():
    good = sealed()
    bad_record = msgspec.structs.replace(make_record(), nik="3372053212900001")
    return {
        "malformed": good[:-40],
        "bad_signature": _flip(good, "ct"),
        "wrong_station_key": sealed(key=SigningKey.generate()),
        "unknown_controller_key": packet.seal(make_record().to_cbor(), station_id="st-01", seq=1,
                                              controller_key=ControllerKeys.generate().public.keys[0],
                                              station_key=KEYS["st-01"]).to_bytes(),
        "invalid_nik": sealed(record=bad_record),
        "fingers_incomplete": sealed(record=msgspec.structs.replace(make_record(), fingers=make_record().fingers[:9])),
        "unknown_kelurahan": sealed(record=make_record(kelurahan_code="33.72.05.1999")),
        "record_mismatch": sealed(record=make_record(station_id="st-02")),
        "malformed_record": sealed(plaintext=b"\xa1\x01"),
        "too_large": b"\x00" * 2_000_001,
    }


def test_every_bad_packet_quarantined_with_its_reason_while_good_ones_flow(ingest, store):
    bad = bad_packets()
    batch = []
    for name, data in bad.items():
        batch.append((topic(), data))
        batch.append((topic("st-02"), sealed("st-02", make_record(sample_niks(40)[len(batch)], station_id="st-02"),
                                             seq=len(batch))))
    results = ingest.process(batch)
    goods = results[1::2]
    bads = results[0::2]
    assert all(r.outcome == "stored" for r in goods)
    quarantined = [q.reason_id for q in store.quarantined() if q.topic == topic()]
    reasons = dict(zip(bad, quarantined))
    assert len(quarantined) == len(bad)
    assert reasons == {
        "malformed": "malformed", "bad_signature": "bad_signature", "wrong_station_key": "wrong_station_key",
        "unknown_controller_key": "unknown_controller_key", "invalid_nik": "invalid_nik",
        "fingers_incomplete": "fingers_incomplete", "unknown_kelurahan": "unknown_kelurahan",
        "record_mismatch": "record_mismatch", "malformed_record": "malformed", "too_large": "too_large",
    }
    # refusals of packets the station really signed are acked so it stops resending; nothing unverified is
    acked = {name: r.ack.status if r.ack else None for name, r in zip(bad, bads)}
    unverified = {"malformed", "too_large", "bad_signature", "wrong_station_key"}
    assert {name for name, status in acked.items() if status is None} == unverified
    assert all(acked[name] is AckStatus.REJECTED for name in set(bad) - unverified)
    assert store.counters("refused.")["refused.invalid_nik"] == 1
    assert store.packet_count() == len(goods)


def test_station_mismatch_between_topic_and_header_is_not_acked(ingest):
    [r] = ingest.process([(topic("st-02"), sealed("st-01"))])
    assert (r.outcome, r.ack, r.reason_id) == ("dropped", None, "station_mismatch")


def test_unknown_and_revoked_stations_quarantined_not_dropped(ingest, store):
    stranger = SigningKey.generate()
    data = packet.seal(make_record(station_id="st-99").to_cbor(), station_id="st-99", seq=1,
                       controller_key=CK.public.keys[0], station_key=stranger).to_bytes()
    [r] = ingest.process([(topic("st-99"), data)])
    assert (r.outcome, r.ack, r.reason_id) == ("dropped", None, "unknown_station")  # never parsed, never acked
    # the station is checked before a byte is decoded: garbage from a stranger is not even "malformed"
    [r] = ingest.process([(topic("st-99"), b"\x81" * 1_000_000)])
    assert (r.outcome, r.reason_id) == ("dropped", "unknown_station")
    store.revoke_station("st-02", "stolen from the kelurahan office")
    data = sealed("st-02", make_record(station_id="st-02"))
    [r] = ingest.process([(topic("st-02"), data)])
    assert (r.outcome, r.ack.reason_id) == ("rejected", "station_revoked")
    assert "stolen" in r.ack.reason
    [q] = store.quarantined("st-02")
    assert store.quarantined_payload(q.id) == data


def test_garbage_on_a_foreign_topic(ingest, store):
    [r] = ingest.process([("rekam/v1/stations/UPPER/packets", b"x")])
    assert r.outcome == "dropped" and store.quarantined()[0].reason_id == "bad_topic"


def test_compat_suite_and_excepted_fingers_accepted(ingest):
    rec = make_record(excepted={6: FingerException.AMPUTATED, 7: FingerException.BANDAGED})
    [r] = ingest.process([(topic(), sealed(record=rec, suite=Suite.X25519))])
    assert r.outcome == "stored"


def test_flood_of_garbage_keeps_only_digests_and_first_bytes(ingest, store):
    junk = [b"junk%d" % i + b"x" * 100_000 for i in range(20)]
    ingest.process([(topic(), j) for j in junk])
    entries = store.quarantined("st-01")
    assert len(entries) == 20 and store.counters()["refused.malformed"] == 20
    assert all(e.kept_bytes == 256 and not e.payload_kept for e in entries)  # never verified: a prefix only
    assert [e.sha256 for e in entries] == [__import__("hashlib").sha256(j).hexdigest() for j in junk]
    assert store.quarantine_usage()["st-01"] == (20, 20 * 256)


def test_quarantine_budgets_per_station_in_total_and_in_rows(tmp_path):
    from controller.store import QuarantineBudget

    budget = QuarantineBudget(station_bytes=3_000, total_bytes=5_000, max_rows=6, prefix_bytes=100)
    with Store(tmp_path / "c.db", quarantine_budget=budget) as store:
        for sid in ("st-01", "st-02"):
            store.add_station(sid, KEYS[sid].public.to_pem(), KEYS[sid].public.kid)
        kept = [store.quarantine(topic="t", reason_id="x", reason="r", payload=b"p" * 1_000, station_id=sid,
                                 verified=True) for sid in ("st-01",) * 4 + ("st-02",) * 2]
        assert all(k is not None for k in kept)
        sizes = [e.kept_bytes for e in store.quarantined()]
        assert sizes == [1000, 1000, 1000, 100, 1000, 100]  # st-01 past 3 KB, then everyone past 5 KB
        assert store.quarantine(topic="t", reason_id="x", reason="r", payload=b"p", verified=True) is None
        assert store.counters()["quarantine.rows_dropped"] == 1 and store.counters()["quarantine.trimmed"] == 2
        assert store.counters()["refused.x"] == 7


def test_one_station_cannot_spend_the_quarantine_rows_of_the_others(tmp_path):
    """Before, the row budget was global: a revoked station still signing could fill it for everyone."""
    from controller.store import QuarantineBudget

    budget = QuarantineBudget(station_rows=3, max_rows=100, prefix_bytes=10)
    with Store(tmp_path / "c.db", quarantine_budget=budget) as store:
        for sid in ("st-01", "st-02"):
            store.add_station(sid, KEYS[sid].public.to_pem(), KEYS[sid].public.kid)
        loud = [store.quarantine(topic="t", reason_id="x", reason="r", payload=b"p", station_id="st-01")
                for _ in range(10)]
        assert [k is not None for k in loud] == [True] * 3 + [False] * 7
        assert store.quarantine(topic="t", reason_id="x", reason="r", payload=b"p", station_id="st-02") is not None
        assert store.counters()["quarantine.rows_dropped"] == 7 and store.counters()["refused.x"] == 11


def test_failed_commit_stores_nothing_and_is_not_acked_and_the_next_batch_commits(tmp_path):
    """After a COMMIT fails, later batches must really commit (and the failed one must not be acked)."""
    import sqlite3

    from controller.errors import StoreError

    failed = {"armed": False, "done": False}

    class Failing(sqlite3.Connection):
        def execute(self, sql, *a):
            if sql == "COMMIT" and failed["armed"] and not failed["done"]:
                failed["done"] = True
                raise sqlite3.OperationalError("disk I/O error")
            return super().execute(sql, *a)

    with Store(tmp_path / "c.db", connect=lambda *a, **kw: sqlite3.connect(*a, factory=Failing, **kw)) as store:
        store.add_station("st-01", KEYS["st-01"].public.to_pem(), KEYS["st-01"].public.kid)
        ingest = Ingest(store, CK)
        failed["armed"] = True
        first = sealed(record=make_record(sample_niks(3)[0]))
        with pytest.raises(StoreError):
            ingest.process([(topic(), first)])
        assert failed["done"]
        second = sealed(record=make_record(sample_niks(3)[1]))
        [r] = ingest.process([(topic(), second)])
        assert r.outcome == "stored"
    with Store(tmp_path / "c.db") as again:  # a fresh connection: what is really on disk
        assert again.packet_ids() == [r.packet_id]


def test_store_failure_while_checking_is_not_a_rejection(tmp_path, monkeypatch):
    """A locked or failing database must not quarantine a good packet at the station."""
    from controller.errors import StoreError

    with Store(tmp_path / "c.db") as store:
        store.add_station("st-01", KEYS["st-01"].public.to_pem(), KEYS["st-01"].public.kid)
        ingest = Ingest(store, CK)

        def locked(*a):
            raise StoreError("database is locked")

        monkeypatch.setattr(store, "station", locked)
        with pytest.raises(StoreError):
            ingest.process([(topic(), sealed())])
        assert store.quarantined() == []


def test_a_forged_copy_cannot_make_a_station_quarantine_its_genuine_packet(ingest, store):
    genuine = sealed(record=make_record(sample_niks(7)[3]))
    forged = _flip(genuine, "ct")  # one bit: same packet id, signature no longer holds
    first, second = ingest.process([(topic(), forged), (topic(), genuine)])
    assert (first.outcome, first.ack, first.reason_id) == ("dropped", None, "bad_signature")
    assert second.outcome == "stored" and second.ack.status is AckStatus.STORED
    assert [q.packet_id for q in store.quarantined()] == [None]  # the forgery's id is not taken at its word


def test_a_signed_packet_with_an_impossible_seq_fails_alone_and_the_batch_is_stored(ingest, store):
    niks = sample_niks(3)
    huge = sealed(record=make_record(niks[0]), seq=2**63)
    results = ingest.process([(topic(), sealed(record=make_record(niks[1]), seq=5)), (topic(), huge),
                              (topic(), sealed(record=make_record(niks[2]), seq=6))])
    assert [r.outcome for r in results] == ["stored", "dropped", "stored"]
    assert results[1].reason_id == "malformed" and store.packet_count() == 2


def test_a_packet_the_database_refuses_fails_alone_and_is_rejected_with_a_reason(tmp_path):
    import sqlite3

    niks = sample_niks(3)
    datas = [sealed(record=make_record(n), seq=i + 1) for i, n in enumerate(niks)]
    victim = packet.parse(datas[1]).packet_id

    class Refusing(sqlite3.Connection):
        def execute(self, sql, *a):
            if sql.startswith("INSERT INTO packets") and a and a[0][0] == victim:
                raise sqlite3.IntegrityError("CHECK constraint failed")
            return super().execute(sql, *a)

    with Store(tmp_path / "c.db", connect=lambda *a, **kw: sqlite3.connect(*a, factory=Refusing, **kw)) as store:
        store.add_station("st-01", KEYS["st-01"].public.to_pem(), KEYS["st-01"].public.kid)
        results = Ingest(store, CK).process([(topic(), d) for d in datas])
        assert [r.outcome for r in results] == ["stored", "rejected", "stored"]
        assert (results[1].ack.status, results[1].ack.reason_id) == (AckStatus.REJECTED, "store_refused")
        assert store.packet_count() == 2 and store.counters()["ack.stored"] == 2


def test_only_a_packet_id_already_held_counts_as_a_duplicate(store):
    """INSERT OR IGNORE swallowed a NOT NULL failure as "duplicate": the station would have deleted its packet."""
    from controller.store.rows import PacketIndex

    def index(pid: str, nik: str | None) -> PacketIndex:
        return PacketIndex(pid, "st-01", 1, nik, "33.72.05.1001", None, "op-1", 1.0, 2.0)

    first, again, broken = store.store_packets([(index("p-1", "3372050101800001"), b"sealed"),
                                                (index("p-1", "3372050101800001"), b"sealed"),
                                                (index("p-2", None), b"sealed")])
    assert (first.duplicate, first.refused) == (False, None)
    assert again.duplicate is True
    assert broken.duplicate is False and broken.refused == "IntegrityError"
    assert store.packet_count() == 1


def test_a_batch_is_one_write_transaction_with_its_counters_and_refusals(tmp_path):
    """Counting each ack in its own transaction cost one fsync a packet (and drifted after a kill)."""
    import sqlite3

    commits = []

    class Counting(sqlite3.Connection):
        def execute(self, sql, *a):
            if sql == "COMMIT" and self.total_changes != getattr(self, "_at_begin", 0):
                commits.append(sql)
            if sql.startswith("BEGIN"):
                self._at_begin = self.total_changes
            return super().execute(sql, *a)

    with Store(tmp_path / "c.db", connect=lambda *a, **kw: sqlite3.connect(*a, factory=Counting, **kw)) as store:
        store.add_station("st-01", KEYS["st-01"].public.to_pem(), KEYS["st-01"].public.kid)
        batch = [(topic(), sealed(record=make_record(n), seq=i + 1)) for i, n in enumerate(sample_niks(10))]
        batch += [(topic(), b"junk%d" % i) for i in range(5)]
        commits.clear()
        results = Ingest(store, CK).process(batch)
        assert [r.outcome for r in results].count("stored") == 10
        assert len(commits) == 1
        assert store.counters()["ack.stored"] == store.packet_count() == 10
        assert store.counters()["refused.malformed"] == 5


def test_a_verified_packet_of_an_unknown_suite_is_acked_rejected_so_the_station_stops_resending(ingest, store):
    """Before, it was quarantined but never acked: the station sent it again every ack timeout, for ever."""
    import dataclasses

    env = packet.parse(sealed("st-01", make_record(station_id="st-01")))
    for change in ({"suite": "rot13"}, {"version": 2}):  # newer software on the station, signed by it
        header = dataclasses.replace(env.header, **change)
        unsigned = packet.Envelope(header, env.ciphertext, b"")
        data = packet.Envelope(header, env.ciphertext, KEYS["st-01"].sign(unsigned.signed_bytes())).to_bytes()
        [r] = ingest.process([(topic(), data)])
        assert r.outcome == "rejected" and r.ack is not None and r.ack.packet_id == env.packet_id
        assert r.ack.reason_id == ("unknown_suite" if "suite" in change else "unsupported_version")
    assert store.packet_count() == 0


def test_a_controller_bug_on_a_signed_packet_is_acked_rejected_and_kept_whole(ingest, store, monkeypatch):
    """Before, it was never acked: the station sent it again every ack timeout, for ever."""
    niks = sample_niks(2)
    good, victim = sealed(record=make_record(niks[0]), seq=1), sealed(record=make_record(niks[1]), seq=2)
    victim_id = packet.parse(victim).packet_id
    real_open = Ingest._open

    def buggy(self, station_id, env):
        if env.packet_id == victim_id:
            raise KeyError("a bug")
        return real_open(self, station_id, env)

    monkeypatch.setattr(Ingest, "_open", buggy)
    first, second = ingest.process([(topic(), good), (topic(), victim)])
    assert first.outcome == "stored"
    assert second.outcome == "rejected" and second.ack.packet_id == victim_id
    assert second.ack.reason_id == "internal_error" and "KeyError" in second.ack.reason
    [entry] = store.quarantined("st-01")
    assert entry.payload_kept and store.quarantined_payload(entry.id) == victim  # to requeue after the fix

"""Fleet state, stale wills and alarms, on a real SQLite store (no broker needed)."""

from __future__ import annotations

import pytest

from controller.config import FleetSettings
from controller.fleet import Fleet
from controller.store import Store
from protocol import messages, topics
from protocol.keys import SigningKey
from protocol.messages import DriverHealth, State, Telemetry


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def world(tmp_path):
    clock = Clock()
    with Store(tmp_path / "c.db", clock=clock) as store:
        k = SigningKey.generate().public
        store.add_station("st-01", k.to_pem(), k.kid)
        fleet = Fleet(store, FleetSettings(offline_alarm_s=60, silent_after_s=300, outbox_alarm_depth=10,
                                           disk_low_mb=1), clock=clock)
        yield fleet, store, clock


def state(online: bool, connection: int) -> bytes:
    return messages.encode(State("st-01", online, connection, "0.1.0", {"camera": "emulated"}, 0.0))


def telemetry(**kw) -> bytes:
    base = dict(station_id="st-01", at=1.0, connection=2, outbox_depth=0, outbox_bytes=0, quarantined=0,
                disk_free_bytes=10**9, enrollments_today=0)
    base.update(kw)
    return messages.encode(Telemetry(**base))


def test_late_will_from_an_older_connection_is_ignored(world):
    fleet, store, clock = world
    assert fleet.on_state("st-01", state(True, 2))
    assert not fleet.on_state("st-01", state(False, 1))  # the will of connection 1, delivered late
    assert store.station("st-01").online
    assert fleet.on_state("st-01", state(False, 2))
    assert not store.station("st-01").online


def test_state_claiming_another_station_and_garbage_are_ignored(world):
    fleet, store, _ = world
    other = messages.encode(State("st-02", True, 5))
    assert not fleet.on_state("st-01", other)
    assert not fleet.on_state("st-01", b"{")
    assert fleet.on_telemetry("st-01", b"nope") is None


def test_offline_during_assignment_raises_then_clears(world):
    fleet, store, clock = world
    fleet.on_state("st-01", state(False, 1))
    clock.t += 30
    assert fleet.check_alarms({"st-01"}) == []
    clock.t += 60
    [change] = fleet.check_alarms({"st-01"})
    assert (change.kind, change.raised) == ("offline", True)
    assert fleet.check_alarms({"st-01"}) == []  # raised once
    fleet.on_state("st-01", state(True, 2))
    [change] = fleet.check_alarms({"st-01"})
    assert (change.kind, change.raised) == ("offline", False)


def test_offline_without_assignment_is_no_alarm(world):
    fleet, store, clock = world
    fleet.on_state("st-01", state(False, 1))
    clock.t += 10_000
    assert fleet.check_alarms(set()) == []


def test_silent_station_counts_as_offline(world):
    fleet, store, clock = world
    fleet.on_state("st-01", state(True, 1))
    clock.t += 301 + 61
    [change] = fleet.check_alarms({"st-01"})
    assert change.kind == "offline" and "silent" in change.message


def test_outbox_driver_and_disk_alarms_from_telemetry(world):
    fleet, store, clock = world
    fleet.on_state("st-01", state(True, 2))
    fleet.on_telemetry("st-01", telemetry(outbox_depth=50, disk_free_bytes=10,
                                          drivers={"fingerprint": DriverHealth("zhiantec", False, "unplugged")}))
    kinds = {c.kind: c.message for c in fleet.check_alarms(set())}
    assert set(kinds) == {"outbox_backlog", "driver_failing", "disk_low"}
    assert "fingerprint: unplugged" in kinds["driver_failing"]
    [row] = fleet.table()
    assert row.outbox_depth == 50 and set(row.alarms) == {"outbox_backlog", "driver_failing", "disk_low"}
    assert "fingerprint:zhiantec!" in row.drivers
    assert store.telemetry_history("st-01")[0]["outbox_depth"] == 50


def test_one_bad_report_costs_only_itself_in_the_fleet_batch(tmp_path):
    """A number no station can send (5,000 digits) once rolled back 500 other stations' updates."""
    from adapters.mocklink import MockBroker, MockLink
    from controller.service import ControllerService
    from protocol.keys import SigningKey
    from tests.fixtures.controller import make_controller_dir

    ctl = make_controller_dir(tmp_path / "controller", None)
    for sid in ("st-01", "st-02"):
        ctl.register(sid, SigningKey.generate())
    with ctl.store() as store:
        service = ControllerService(ctl.config, store, ctl.keys, link=MockLink(MockBroker()))
        good = [(topics.station("st-02", topics.Leaf.TELEMETRY), messages.encode(messages.Telemetry(
            "st-02", 100.0 + i, 1, i, 0, 0, 10**9, 0)), 100.0 + i) for i in range(20)]
        bad = (topics.station("st-01", topics.Leaf.STATE),
               b'{"v":1,"type":"state","station_id":"st-01","online":true,"connection":' + b"9" * 5000 + b"}", 99.0)
        assert service.apply_fleet_batch(good[:10] + [bad] + good[10:]) == 0  # refused at decoding
        assert len(store.telemetry_history("st-02")) == 20
        assert store.station("st-01").online is False
        # a report the database itself refuses (a real SQLite error, mid-batch) costs only itself too
        with store.transaction() as db:
            db.execute("CREATE TRIGGER refuse_st01 BEFORE UPDATE ON stations WHEN NEW.station_id = 'st-01' "
                       "BEGIN SELECT RAISE(ABORT, 'refused'); END")
        fine = (topics.station("st-01", topics.Leaf.STATE), messages.encode(messages.State(
            "st-01", True, 1, "1.0", {})), 130.0)
        more = [(t, p, at + 30) for t, p, at in good]
        assert service.apply_fleet_batch(more[:10] + [fine] + more[10:]) == 1
        assert len(store.telemetry_history("st-02")) == 40
        assert store.station("st-01").online is False
        # and a revoked station's command replies reach no one
        heard = []
        service.reply_listeners.append(lambda sid, payload, at: heard.append(sid))
        reply = messages.encode(messages.CommandReply("c-1", "st-02", True))
        store.revoke_station("st-02", "stolen")
        service.apply_fleet_batch([(topics.station("st-02", topics.Leaf.CMD_REPLY), reply, 150.0)])
        assert heard == []


def test_a_revoked_station_is_not_brought_online_by_its_reports(world):
    fleet, store, clock = world
    store.revoke_station("st-01", "stolen")
    assert fleet.on_state("st-01", state(True, 1), 10.0) is False
    assert fleet.on_telemetry("st-01", telemetry(), 10.0) is None
    assert store.station("st-01").online is False and store.telemetry_history("st-01") == []


def test_a_station_online_when_revoked_is_offline_from_then_on(world):
    fleet, store, clock = world
    assert fleet.on_state("st-01", state(True, 1), 10.0) is True
    store.revoke_station("st-01", "stolen")
    assert store.station("st-01").online is False
    assert fleet.on_state("st-01", state(False, 1), 11.0) is False  # its will is ignored like the rest
    assert store.station("st-01").online is False

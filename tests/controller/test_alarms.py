"""Alarm rules (pure), the fleet's alarm book (severity, parameters, acknowledgement, history), both languages."""

from __future__ import annotations

import pytest

from controller import alarms as rules
from controller.config import FleetSettings
from controller.fleet import Fleet
from controller.store import Store
from protocol import messages
from protocol.keys import SigningKey
from protocol.messages import DriverHealth, State, Telemetry
from tests.controller.test_fleet import Clock

SETTINGS = FleetSettings(offline_alarm_s=60, silent_after_s=300, outbox_alarm_depth=10, disk_low_mb=1,
                         stale_after_h=2, quarantine_alarm=1)


@pytest.fixture
def world(tmp_path):
    clock = Clock()
    with Store(tmp_path / "c.db", clock=clock) as store:
        k = SigningKey.generate().public
        store.add_station("st-01", k.to_pem(), k.kid)
        yield Fleet(store, SETTINGS, clock=clock, notify=True), store, clock


def telemetry(**kw) -> bytes:
    base = dict(station_id="st-01", at=1.0, connection=2, outbox_depth=0, outbox_bytes=0, quarantined=0,
                disk_free_bytes=10**9, enrollments_today=0)
    base.update(kw)
    return messages.encode(Telemetry(**base))


def test_every_kind_has_a_severity_and_both_languages():
    for kind in rules.ALARM_KINDS:
        assert rules.SEVERITY[kind] in rules.SEVERITY_ORDER
        assert rules.KIND_TEXT[kind]["id"] and rules.KIND_TEXT[kind]["en"]
    params = {"offline": {"minutes": 20, "silent": False}, "stale": {"hours": 6}, "outbox_backlog": {"depth": 300},
              "driver_failing": {"devices": [{"kind": "fingerprint", "reason": "unplugged"}]},
              "disk_low": {"free_mib": 40}, "quarantined": {"at_station": 2, "at_controller": 1}}
    for kind, p in params.items():
        text_id, text_en = rules.text(kind, p, "st-07", "id"), rules.text(kind, p, "st-07", "en")
        assert "st-07" in text_id and "st-07" in text_en and text_id != text_en, kind
    assert rules.text("offline", {"minutes": 20, "silent": False}, "st-07") == "st-07 offline selama 20 menit saat bertugas"
    assert "unplugged" in rules.text("driver_failing", params["driver_failing"], "st-07", "en")
    assert rules.text("offline", {}, "st-07", "en") == "Offline during assignment (st-07)"  # old params: no crash


def test_stale_station_is_alarmed_whether_assigned_or_not(world):
    fleet, store, clock = world
    fleet.on_state("st-01", messages.encode(State("st-01", True, 1)))
    clock.t += 2 * 3600 + 1
    kinds = {c.kind for c in fleet.check_alarms(set())}
    assert "stale" in kinds and "offline" not in kinds
    [a] = store.alarm_records(open_only=True, kind="stale")
    assert a.severity == "warning" and a.params == {"hours": 2}
    assert rules.text(a.kind, a.params, a.station_id, "id") == "Kontak terakhir dengan st-01 sudah lebih dari 2 jam"


def test_quarantined_packets_on_the_station_or_here_raise_and_clear(world):
    fleet, store, clock = world
    fleet.on_state("st-01", messages.encode(State("st-01", True, 1)))
    fleet.on_telemetry("st-01", telemetry(quarantined=3))
    [c] = fleet.check_alarms(set())
    assert (c.kind, c.raised, c.severity) == ("quarantined", True, "warning")
    fleet.on_telemetry("st-01", telemetry(quarantined=0))
    [c] = fleet.check_alarms(set())
    assert (c.kind, c.raised) == ("quarantined", False)
    entry = store.quarantine(topic="t", reason_id="malformed", reason="bad", payload=b"x", station_id="st-01")
    [c] = fleet.check_alarms(set())
    assert c.raised and store.alarm(c.alarm_id).params == {"at_station": 0, "at_controller": 1}
    store.handle_quarantined(entry, "requeued", "opa")
    [c] = fleet.check_alarms(set())
    assert not c.raised


def test_alarm_history_acknowledgement_and_one_notification_per_event(world):
    fleet, store, clock = world
    fleet.on_state("st-01", messages.encode(State("st-01", True, 2)))
    fleet.on_telemetry("st-01", telemetry(drivers={"fingerprint": DriverHealth("zhiantec", False, "unplugged")}))
    heard = []
    fleet.listeners.append(heard.append)
    [raised] = fleet.check_alarms(set())
    assert raised.severity == "critical" and heard == [[raised]]
    assert fleet.check_alarms(set()) == []  # raised once
    assert store.ack_alarm(raised.alarm_id, "opa", "swapped the scanner")
    assert not store.ack_alarm(raised.alarm_id, "ana")  # acknowledged once, by a named user
    clock.t += 10
    fleet.on_telemetry("st-01", telemetry())
    [cleared] = fleet.check_alarms(set())
    a = store.alarm(raised.alarm_id)
    assert not a.open and a.cleared_at - a.raised_at == 10 and a.acked_by == "opa"
    due = store.due_notifications(clock.t, lease_s=30)
    assert [(n.alarm.id, n.event) for n in due] == [(a.id, "raised"), (a.id, "cleared")]
    assert store.due_notifications(clock.t, lease_s=30) == []  # claimed: nobody else sends them meanwhile
    history = store.alarm_records(station_id="st-01")
    assert [h.id for h in history] == [a.id]


def test_a_revoked_station_raises_nothing(world):
    fleet, store, clock = world
    store.revoke_station("st-01", "stolen")
    clock.t += 10 * 3600
    assert fleet.check_alarms({"st-01"}) == []

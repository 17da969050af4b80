"""The demo fleet end to end, small and fast, on a real Mosquitto."""

from __future__ import annotations

from protocol import packet
from protocol.record import EnrollmentRecord
from rekam.demo.fleet import DemoFleet, DemoOptions
from rekam.demo.report import summary
from station import keyfiles as station_keys


def test_demo_fleet_records_delivers_catches_up_and_replans(tmp_path):
    said: list[str] = []
    fleet = DemoFleet(DemoOptions(stations=3, days=4, day_seconds=4.0, scale=100,
                                  workdir=tmp_path / "demo", offline_station=2, offline_day=1, offline_days=2),
                      say=said.append)
    try:
        fleet.setup()
        assert any(s.startswith("broker: Mosquitto") for s in said)
        fleet.run()
        drained = fleet.drain(timeout=60)
        assert drained
        enrolled = sum(st.stats.enrolled for st in fleet.stations)
        assert enrolled >= 1
        assert fleet.store.packet_count() == enrolled  # every sealed packet stored, exactly once
        assert fleet.offline is not None and fleet.offline.came_back is not None
        assert any("st-02 offline" in reason for _, reason, _ in fleet.planning.history)
        # a stored packet is still sealed, and opens with the controller's key
        from controller import keyfiles

        keys = keyfiles.load_private(fleet.workdir / "controller" / "keys" / "controller.key")
        pid = fleet.store.packet_ids()[0]
        env = packet.parse(fleet.store.packet_envelope(pid))
        st = next(s for s in fleet.stations if s.station_id == env.header.station_id)
        key = station_keys.load_signing_key(st.runtime.config.signing_key).public
        record = EnrollmentRecord.from_cbor(packet.open_packet(fleet.store.packet_envelope(pid), key, keys)[1])
        assert record.kelurahan_code.startswith("33.72.")
        assert fleet.handoff.finish(fleet.store)  # the hand-off: everything exported and confirmed by the centre
        assert fleet.store.export_backlog() == 0 and fleet.store.batches("sealed") == []
        assert sum(r.sent for r in fleet.store.funnel()) == enrolled
        text = summary(fleet, drained)
        assert "== rekam demo summary ==" in text and "all outboxes empty    yes" in text
        assert f"central system        recorded {enrolled} -> sent {enrolled}" in text
    finally:
        fleet.close()

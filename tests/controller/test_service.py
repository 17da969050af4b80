"""The controller against a real Mosquitto, with real station uplinks and outboxes."""

from __future__ import annotations

import dataclasses
import signal

import paho.mqtt.client as mqtt
import msgspec
import pytest

from controller.service import ControllerService
from protocol import messages, packet, topics
from protocol.keys import SigningKey
from protocol.messages import Ack, AckStatus, ControllerStatus
from station.config import MqttSettings
from station.outbox import Outbox
from station.uplink import Uplink
from tests.fixtures.controller import make_controller_dir
from tests.fixtures.mqtt import Recorder, wait_until
from tests.fixtures.relay import Relay
from tests.fixtures.records import make_record, sample_niks

NIKS = sample_niks(400)


class Station:
    """A real station outbox + uplink, with packets sealed from valid records."""

    def __init__(self, sid: str, tmp_path, broker, ctl, *, ack_timeout_s: float = 2.0):
        self.sid = sid
        self.key = SigningKey.generate()
        ctl.register(sid, self.key)
        self.ctl = ctl
        self.outbox = Outbox(tmp_path / f"{sid}.db").open()
        self.settings = MqttSettings(host=broker.host, port=broker.port, keepalive_s=5, window=8,
                                     ack_timeout_s=ack_timeout_s, reconnect_min_s=0.1, reconnect_max_s=1)
        self.uplink: Uplink | None = None
        self.sealed: list[str] = []

    def seal(self, n: int, offset: int = 0) -> list[str]:
        ids = []
        for i in range(n):
            nik = NIKS[offset + i]
            env = packet.seal(make_record(nik, station_id=self.sid).to_cbor(), station_id=self.sid,
                              seq=self.outbox.next_seq(), controller_key=self.ctl.keys.public.keys[0],
                              station_key=self.key)
            self.outbox.add(env)
            ids.append(env.packet_id)
        self.sealed += ids
        if self.uplink:
            self.uplink.wake()
        return ids

    def start(self) -> "Station":
        self.uplink = Uplink(self.sid, self.settings, self.outbox).start()
        return self

    def stop(self) -> None:
        if self.uplink:
            self.uplink.stop()
        self.outbox.close()

    def drained(self) -> bool:
        return self.outbox.stats().depth == 0


@pytest.fixture
def ctl(tmp_path, broker):
    return make_controller_dir(tmp_path / "controller", broker)


def test_two_stations_stored_once_each_with_acks(tmp_path, broker, ctl):
    store = ctl.store().open()
    service = ControllerService(ctl.config, store, ctl.keys).start()
    a = Station("st-01", tmp_path, broker, ctl).start()
    b = Station("st-02", tmp_path, broker, ctl).start()
    try:
        a.seal(5, 0)
        b.seal(5, 100)
        assert wait_until(lambda: a.drained() and b.drained(), 20)
        assert sorted(store.packet_ids()) == sorted(a.sealed + b.sealed)
        assert store.packet_count("st-01") == 5 and store.packet_count("st-02") == 5
        assert service.counts.stored == 10

        # a station that lost our ack resends: acked duplicate, stored once
        acks = Recorder(broker, "spy", [topics.station("st-01", topics.Leaf.ACKS)]).start()
        env = store.packet_envelope(a.sealed[0])
        acks.client.publish(topics.station("st-01", topics.Leaf.PACKETS), env, qos=1)
        assert acks.wait_for(lambda m: any(messages.decode(Ack, x.payload).status is AckStatus.DUPLICATE
                                            for x in m))
        acks.stop()
        assert store.packet_count() == 10
    finally:
        a.stop()
        b.stop()
        service.stop()
        store.close()


def test_bad_packets_quarantined_while_good_ones_flow_and_revoked_station(tmp_path, broker, ctl):
    store = ctl.store().open()
    service = ControllerService(ctl.config, store, ctl.keys).start()
    a = Station("st-01", tmp_path, broker, ctl).start()
    b = Station("st-02", tmp_path, broker, ctl).start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="vandal")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        t = topics.station("st-01", topics.Leaf.PACKETS)
        pub.publish(t, b"\x00" * 300_000, qos=0)  # outside the receive window's reach: not taken at all
        for junk in (b"", b"\xff" * 10, b"not cbor at all", b"\x00" * 300_000):
            pub.publish(t, junk, qos=1)
        a.seal(3, 0)
        assert wait_until(lambda: a.drained(), 20)
        assert wait_until(lambda: len(store.quarantined("st-01")) == 4)
        assert {q.reason_id for q in store.quarantined("st-01")} == {"malformed"}
        assert service.counts.refused_qos0 == 1

        store.revoke_station("st-02", "reported stolen")
        b.seal(2, 200)
        assert wait_until(lambda: b.outbox.stats().quarantined == 2, 20)
        assert {q.reason_id for q in b.outbox.quarantined()} == {"station_revoked"}
        assert len(store.quarantined("st-02")) == 2
        assert store.packet_count("st-02") == 0
        assert store.packet_count("st-01") == 3
    finally:
        pub.loop_stop()
        a.stop()
        b.stop()
        service.stop()
        store.close()


def test_controller_status_retained_with_will(tmp_path, broker, ctl):
    store = ctl.store().open()
    with Relay(broker.host, broker.port) as cable, Recorder(broker, "watch", [topics.ALL_CONTROLLER_STATUS]) as watch:
        cfg = dataclasses.replace(ctl.config, mqtt=msgspec.structs.replace(ctl.config.mqtt, port=cable.port))
        service = ControllerService(cfg, store, ctl.keys).start()
        assert watch.wait_for(lambda m: m and messages.decode(ControllerStatus, m[-1].payload).online)
        cable.cut()  # abrupt: the broker publishes the will
        assert watch.wait_for(lambda m: any(not messages.decode(ControllerStatus, x.payload).online for x in m))
        service.stop()
    store.close()


def test_kill_9_mid_ingest_then_restart_stores_every_packet_once(tmp_path, broker, ctl):
    stations = [Station(f"st-{i:02d}", tmp_path, broker, ctl, ack_timeout_s=3).start() for i in range(1, 4)]
    for i, st in enumerate(stations):
        st.seal(20, i * 100)
    proc = ctl.spawn()
    try:
        with ctl.store() as store:
            assert wait_until(lambda: store.packet_count() >= 10, 30), "controller never started storing"
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            stored_at_kill = store.packet_count()
        assert stored_at_kill < 60, "kill came too late to be mid-ingest"
        proc = ctl.spawn()
        assert wait_until(lambda: all(s.drained() for s in stations), 60)
        with ctl.store() as store:
            ids = store.packet_ids()
        assert len(ids) == len(set(ids)) == 60
        assert set(ids) == {pid for s in stations for pid in s.sealed}
    finally:
        proc.terminate()
        proc.wait(20)
        for s in stations:
            s.stop()


def test_two_controllers_share_the_load_and_store_each_packet_once(tmp_path, broker, ctl):
    watch = Recorder(broker, "watch", [topics.ALL_CONTROLLER_STATUS]).start()
    procs = [ctl.spawn("controller-a"), ctl.spawn("controller-b")]
    stations = [Station(f"st-{i:02d}", tmp_path, broker, ctl).start() for i in range(1, 5)]
    try:
        with ctl.store() as store:
            # Each controller subscribes before it publishes its status on the same connection,
            # so seeing both statuses means both are in the share group.
            assert watch.wait_for(lambda m: {messages.decode(ControllerStatus, x.payload).controller_id
                                             for x in m} >= {"controller-a", "controller-b"}, 20)
            for i, st in enumerate(stations):
                st.seal(15, i * 50)
            assert wait_until(lambda: all(s.drained() for s in stations), 60)
            ids = store.packet_ids()
            assert len(ids) == len(set(ids)) == 60
            split = store.stored_by()
        assert set(split) == {"controller-a", "controller-b"}, split
        assert min(split.values()) >= 10, split
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p.wait(30) == 0
        for s in stations:
            s.stop()
        watch.stop()

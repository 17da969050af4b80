"""A station and a controller joined in memory by MockLinks: the same code paths as over Mosquitto."""

from __future__ import annotations

import pytest

from adapters.mocklink import MockBroker, MockLink
from controller.service import ControllerService
from protocol import messages, packet, topics
from protocol.keys import SigningKey
from protocol.messages import State
from station.config import MqttSettings
from station.outbox import Outbox
from station.uplink import Uplink
from tests.fixtures.controller import make_controller_dir
from tests.fixtures.mqtt import wait_until
from tests.fixtures.records import make_record, sample_niks


@pytest.fixture
def hub():
    return MockBroker()


def test_station_and_controller_in_memory_store_ack_and_empty_the_outbox(tmp_path, hub):
    ctl = make_controller_dir(tmp_path / "controller", None)
    key = SigningKey.generate()
    ctl.register("st-01", key)
    with ctl.store() as store:
        service = ControllerService(ctl.config, store, ctl.keys, link=MockLink(hub, "controller-1")).start()
        with Outbox(tmp_path / "outbox.db") as outbox:
            for nik in sample_niks(5):
                outbox.add(packet.seal(make_record(nik).to_cbor(), station_id="st-01", seq=outbox.next_seq(),
                                       controller_key=ctl.keys.public.keys[0], station_key=key))
            with Uplink("st-01", MqttSettings(window=2), outbox, link=MockLink(hub, "st-01")) as up:
                assert wait_until(lambda: outbox.stats().depth == 0, 20)
                assert up.status.acked == 5
            assert store.packet_count("st-01") == 5
            assert service.wait_idle(5)
            assert [m.topic for m in hub.acked].count(topics.station("st-01", topics.Leaf.PACKETS)) == 5
        service.stop()
        # the controller's goodbye is retained for late joiners
        assert messages.decode(messages.ControllerStatus, hub.retained[topics.controller_status("controller-1")]).online is False


def test_a_dropped_link_sends_the_will_and_the_next_connection_says_online_again(tmp_path, hub):
    with Outbox(tmp_path / "outbox.db") as outbox:
        link = MockLink(hub, "st-01")
        with Uplink("st-01", MqttSettings(), outbox, link=link):
            state = topics.station("st-01", topics.Leaf.STATE)
            assert wait_until(lambda: state in hub.retained and messages.decode(State, hub.retained[state]).online)
            first = messages.decode(State, hub.retained[state]).connection
            link.drop()
            will = messages.decode(State, hub.retained[state])
            assert (will.online, will.connection) == (False, first)
            link.restore()
            assert wait_until(lambda: messages.decode(State, hub.retained[state]).online)
            assert messages.decode(State, hub.retained[state]).connection == first + 1

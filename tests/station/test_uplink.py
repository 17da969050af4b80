"""The uplink against a real Mosquitto: delivery, window, resend, restarts, wills, commands."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from protocol import messages, packet, topics
from protocol.keys import ControllerKeys, SigningKey
from protocol.messages import Ack, AckStatus, Command, CommandName, CommandReply, State, Telemetry
from station.config import MqttSettings
from station.outbox import Outbox
from station.uplink import Uplink
from adapters.mocklink import MockBroker, MockLink
from tests.fixtures.mqtt import Recorder, announce, wait_until
from tests.fixtures.relay import Relay

CK = ControllerKeys.generate()
SK = SigningKey.generate()
SID = "st-01"


def settings(broker, **kw) -> MqttSettings:
    host, port = (broker.host, broker.port) if broker is not None else ("127.0.0.1", 1)
    base = dict(host=host, port=port, keepalive_s=5, window=4, ack_timeout_s=30,
                telemetry_interval_s=3600, reconnect_min_s=0.1, reconnect_max_s=1)
    base.update(kw)
    return MqttSettings(**base)


def fill(outbox: Outbox, n: int, size: int = 2000) -> list[str]:
    ids = []
    for _ in range(n):
        env = packet.seal(b"r" * size, station_id=SID, seq=outbox.next_seq(),
                          controller_key=CK.public.keys[1], station_key=SK)
        outbox.add(env)
        ids.append(env.packet_id)
    return ids


class Controller:
    """Stands in for the controller: opens each packet and acks it (policy decides how)."""

    def __init__(self, broker, policy=lambda env, count: AckStatus.STORED, client_id="fake-controller"):
        self.policy = policy
        self.seen: dict[str, int] = {}
        self.opened: set[str] = set()
        self.lock = threading.Lock()
        self.rec = Recorder(broker, client_id, [topics.all_stations(topics.Leaf.PACKETS)],
                            on_message=self._on_packet, clean_session=False)

    def _on_packet(self, rec: Recorder, msg: mqtt.MQTTMessage) -> None:
        env, _plaintext = packet.open_packet(msg.payload, SK.public, CK)
        with self.lock:
            self.seen[env.packet_id] = self.seen.get(env.packet_id, 0) + 1
            count = self.seen[env.packet_id]
            self.opened.add(env.packet_id)
        status = self.policy(env, count)
        if status is not None:
            rec.client.publish(topics.station(env.header.station_id, topics.Leaf.ACKS),
                               messages.encode(Ack(env.packet_id, status)), qos=1)

    def __enter__(self):
        self.rec.start()
        announce(self.rec.client)
        return self

    def __exit__(self, *exc):
        self.rec.stop()


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox.db") as ob:
        yield ob


def test_packets_delivered_opened_and_removed_on_ack(broker, outbox):
    ids = fill(outbox, 6)
    with Controller(broker) as ctl, Uplink(SID, settings(broker), outbox):
        assert wait_until(lambda: outbox.stats().depth == 0, 15)
        assert ctl.opened == set(ids)
    assert outbox.stats().delivered == 6


def test_window_bounds_packets_waiting_for_ack_in_memory(outbox):
    """The uplink over a MockLink: at most `window` unacked, and each ack lets exactly one more out."""
    hub = MockBroker()
    seen: list[str] = []
    ctl = MockLink(hub, "controller")
    ctl.on_message = lambda m: seen.append(packet.parse(m.payload).packet_id)
    ctl.open()
    ctl.subscribe([(topics.all_stations(topics.Leaf.PACKETS), 1)])
    ctl.publish(topics.controller_status("controller"),
                messages.encode(messages.ControllerStatus("controller", True, 1.0)), qos=1, retain=True)
    ids = fill(outbox, 10)
    with Uplink(SID, settings(None, window=3), outbox, link=MockLink(hub, SID)) as up:
        assert wait_until(lambda: outbox.stats().sent == 3)
        assert seen == ids[:3]  # oldest first
        assert up.status.in_flight == 3 and outbox.stats().pending == 7
        ctl.publish(topics.station(SID, topics.Leaf.ACKS), messages.encode(Ack(seen[0], AckStatus.STORED)), qos=1)
        assert wait_until(lambda: len(seen) == 4 and outbox.stats().sent == 3)
        assert seen[3] == ids[3]
        assert outbox.stats().pending == 6 and outbox.stats().delivered == 1
        assert up.status.published == 4 and up.status.in_flight == 3


def test_unacked_packet_is_sent_again(broker, outbox):
    ids = fill(outbox, 3)
    # ignore the first copy of every packet; ack the second
    with Controller(broker, lambda env, n: AckStatus.STORED if n >= 2 else None) as ctl, \
            Uplink(SID, settings(broker, ack_timeout_s=0.5), outbox):
        assert wait_until(lambda: outbox.stats().depth == 0, 20)
        assert all(ctl.seen[i] >= 2 for i in ids)


def test_broker_restart_mid_stream_loses_nothing(broker, outbox):
    ids = fill(outbox, 24, size=50_000)
    with Controller(broker) as ctl, Uplink(SID, settings(broker, ack_timeout_s=3, window=2), outbox) as up:
        assert ctl.rec.wait_for(lambda m: len(m) >= 4, 15)
        broker.restart()
        assert wait_until(lambda: outbox.stats().depth == 0, 60), outbox.stats()
        assert ctl.opened == set(ids)
        assert up.status.connection >= 2  # it really did reconnect


def test_controller_ups_and_downs_while_away_resend_nothing_on_return(broker, outbox):
    """Only the retained present counts: the history a persistent session would queue sent whole windows again."""
    with Uplink(SID, settings(broker), outbox) as up:  # the session exists from here on
        assert up.wait_connected(10)
    with Recorder(broker, "replica-b", ["rekam-test/nothing"]) as other:  # another replica comes and goes, over and over
        for online in (True, False, True, False, True, False):
            other.client.publish(topics.controller_status("replica-b"),
                                 messages.encode(messages.ControllerStatus("replica-b", online, 1.0 + online)),
                                 qos=1, retain=True).wait_for_publish(10)
    ids = fill(outbox, 4)
    with Controller(broker) as ctl, Uplink(SID, settings(broker), outbox) as up:
        assert wait_until(lambda: outbox.stats().depth == 0, 15)
        assert ctl.seen == {i: 1 for i in ids}
        assert up.status.published == 4


def test_duplicate_ack_from_controller_removes_and_is_counted(broker, outbox):
    fill(outbox, 2)
    with Controller(broker, lambda env, n: AckStatus.DUPLICATE), Uplink(SID, settings(broker), outbox) as up:
        assert wait_until(lambda: outbox.stats().depth == 0, 15)
        assert up.status.acked == 2


def test_rejected_packet_is_quarantined_with_reason(broker, outbox):
    [pid] = fill(outbox, 1)

    class Rejecting(Controller):
        def _on_packet(self, rec, msg):
            env = packet.parse(msg.payload)
            rec.client.publish(topics.station(SID, topics.Leaf.ACKS), messages.encode(
                Ack(env.packet_id, AckStatus.REJECTED, "invalid_nik", "NIK birth date does not exist")), qos=1)

    with Rejecting(broker), Uplink(SID, settings(broker), outbox) as up:
        assert wait_until(lambda: outbox.stats().quarantined == 1, 15)
        [q] = outbox.quarantined()
        assert (q.packet_id, q.reason_id) == (pid, "invalid_nik")
        assert up.status.rejected == 1


def test_oversized_packet_is_quarantined_not_published(broker, outbox):
    small = fill(outbox, 1, size=100)
    big = fill(outbox, 1, size=5000)
    with Controller(broker) as ctl, Uplink(SID, settings(broker, max_packet_bytes=3000), outbox):
        assert wait_until(lambda: outbox.stats().quarantined == 1 and outbox.stats().pending == 0, 15)
        assert wait_until(lambda: small[0] in ctl.opened)
        assert big[0] not in ctl.opened
        [q] = outbox.quarantined()
        assert q.packet_id == big[0] and q.reason_id == "too_large"


def test_state_retained_with_connection_number_and_will_on_abrupt_loss(broker, outbox):
    state_topic = topics.station(SID, topics.Leaf.STATE)
    with Relay(broker.host, broker.port) as cable, Recorder(broker, "watcher", [state_topic]) as watch, \
            Uplink(SID, settings(cable), outbox) as up:
        assert watch.wait_for(lambda m: any(messages.decode(State, x.payload).online for x in m))
        first = up.status.connection
        cable.cut()  # the socket dies without DISCONNECT: the broker publishes the will
        assert watch.wait_for(lambda m: any(
            not (s := messages.decode(State, x.payload)).online and s.connection == first for x in m), 15)
        assert watch.wait_for(lambda m: any(
            (s := messages.decode(State, x.payload)).online and s.connection > first for x in m), 15)

    # Whatever order the will and the new state arrived in, the retained state a
    # newcomer sees belongs to the newest connection.
    with Recorder(broker, "late", [state_topic]) as late:
        assert late.wait_for(lambda m: len(m) >= 1)
        retained = messages.decode(State, late.messages[-1].payload)
        assert retained.connection > first


def test_stale_will_retained_is_overwritten(broker, outbox):
    state_topic = topics.station(SID, topics.Leaf.STATE)
    with Recorder(broker, "watcher", [state_topic]) as watch, Uplink(SID, settings(broker), outbox) as up:
        assert up.wait_connected(10)
        assert watch.wait_for(lambda m: any(messages.decode(State, x.payload).online for x in m))
        stale = State(SID, False, up.status.connection - 1)
        watch.client.publish(state_topic, messages.encode(stale), qos=1, retain=True)
        n = len(watch.messages)
        assert watch.wait_for(lambda m: len(m) > n + 0 and messages.decode(State, m[-1].payload).online, 10)


def test_stop_publishes_offline(broker, outbox):
    state_topic = topics.station(SID, topics.Leaf.STATE)
    with Recorder(broker, "watcher", [state_topic]) as watch:
        up = Uplink(SID, settings(broker), outbox).start()
        assert up.wait_connected(10)
        up.stop()
        assert watch.wait_for(lambda m: m and not messages.decode(State, m[-1].payload).online)


def test_assignment_and_commands_handled_off_the_network_thread(broker, outbox):
    got_assignment = threading.Event()
    seen: dict = {}

    def on_assignment(update):
        seen["assignment"] = update
        seen["assignment_thread"] = threading.current_thread().name
        got_assignment.set()

    def on_command(cmd: Command) -> CommandReply:
        seen["cmd_thread"] = threading.current_thread().name
        return CommandReply(cmd.command_id, SID, True, {"echo": cmd.args})

    update = messages.AssignmentUpdate(SID, 1.0, "plan-1", messages.Assignment(
        "a-1", "2026-11-23", "15:00", "21:00", "33.72.01.1001", "Pajang"))
    reply_topic = topics.station(SID, topics.Leaf.CMD_REPLY)
    with Recorder(broker, "ctl", [reply_topic]) as ctl:
        ctl.client.publish(topics.station(SID, topics.Leaf.ASSIGNMENT), messages.encode(update), qos=1, retain=True)
        with Uplink(SID, settings(broker), outbox, on_assignment=on_assignment, on_command=on_command) as up:
            assert got_assignment.wait(10)
            assert seen["assignment"] == update
            assert up.wait_connected(5)
            ctl.client.publish(topics.station(SID, topics.Leaf.CMD), b"{not json", qos=1)
            ctl.client.publish(topics.station(SID, topics.Leaf.CMD), messages.encode(
                Command("c-1", CommandName.SELF_TEST, {"x": 1})), qos=1)
            assert ctl.wait_for(lambda m: len(m) >= 1)
            reply = messages.decode(CommandReply, ctl.messages[0].payload)
            assert (reply.command_id, reply.ok, reply.result) == ("c-1", True, {"echo": {"x": 1}})
    assert "paho" not in seen["assignment_thread"].lower() and seen["assignment_thread"] == "uplink"
    assert seen["cmd_thread"].startswith("uplink-cmd")


def test_telemetry_every_interval(broker, outbox):
    calls = []

    def telemetry(connection: int) -> Telemetry:
        calls.append(connection)
        s = outbox.stats()
        return Telemetry(SID, float(len(calls)), connection, s.depth, s.bytes, s.quarantined, 1, 0)

    with Recorder(broker, "ctl", [topics.station(SID, topics.Leaf.TELEMETRY)]) as ctl, \
            Uplink(SID, settings(broker, telemetry_interval_s=0.2), outbox, telemetry=telemetry):
        assert ctl.wait_for(lambda m: len(m) >= 3, 10)
        ats = [messages.decode(Telemetry, m.payload).at for m in ctl.messages[:3]]
        assert ats == sorted(ats) and len(set(ats)) == 3


def test_broker_down_at_start_then_up(broker, outbox):
    ids = fill(outbox, 2)
    broker.stop()
    with Uplink(SID, settings(broker), outbox) as up:
        assert not up.wait_connected(0.5)
        broker.start()
        with Controller(broker) as ctl:
            assert wait_until(lambda: outbox.stats().depth == 0, 30)
            assert ctl.opened == set(ids)


def test_abrupt_stop_leaves_the_will_to_say_offline(broker, outbox):
    state_topic = topics.station(SID, topics.Leaf.STATE)
    with Recorder(broker, "watcher", [state_topic]) as watch:
        up = Uplink(SID, settings(broker), outbox).start()
        assert up.wait_connected(10)
        assert watch.wait_for(lambda m: m and messages.decode(State, m[-1].payload).online)
        connection = up.status.connection
        up.stop(abrupt=True)
        assert watch.wait_for(lambda m: (s := messages.decode(State, m[-1].payload)).online is False
                              and s.connection == connection, 15)

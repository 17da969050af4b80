"""The embedded broker against real paho-mqtt 2.x clients and raw sockets on loopback.

Absence is checked with a marker: after the action under test, a marker message
is published on a topic the client also subscribes to; per-client ordering
means the marker must be the next thing that arrives.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from typing import Iterator

import paho.mqtt.client as mqtt
import pytest

from rekam.brokers import BrokerError, MosquittoBroker
from rekam.embedded_broker import BrokerLimits, EmbeddedBroker, topic_matches
from rekam.mqtt_codec import (
    Connack,
    Connect,
    MqttDecoder,
    Packet,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Will,
    encode,
    encode_remaining_length,
)

TIMEOUT = 5.0

AnyBroker = EmbeddedBroker | MosquittoBroker


#: Every client a test opens, closed after the test whatever happened in it.
_opened: list["Client | Raw"] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


@pytest.fixture
def embedded() -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker().start()
    try:
        yield broker
    finally:
        broker.close()


def gone(broker: EmbeddedBroker, client_id: str) -> bool:
    """Wait until the broker has finished with ``client_id``'s connection."""
    return broker.wait_for_clients(lambda ids: client_id not in ids, TIMEOUT)


class Client:
    """A paho 2.x client with its network thread, recording what it receives."""

    def __init__(self, broker: AnyBroker, client_id: str = "", *, clean_session: bool = True,
                 will: tuple[str, bytes, int, bool] | None = None, keepalive: int = 60,
                 username: str | None = None, password: str | None = None) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.session_present: bool | None = None
        self._subacks: dict[int, list[int]] = {}
        self._suback_event = threading.Condition()
        self.paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                clean_session=clean_session, protocol=mqtt.MQTTv311)
        if will is not None:
            self.paho.will_set(*will)
        if username is not None:
            self.paho.username_pw_set(username, password)
        self.paho.on_connect = self._on_connect
        self.paho.on_message = lambda c, u, m: self.messages.put(m)
        self.paho.on_subscribe = self._on_subscribe
        self.paho.on_disconnect = lambda *a: self.disconnected.set()
        self._closed = False
        _opened.append(self)
        self.paho.connect(broker.host, broker.port, keepalive=keepalive)
        self.paho.loop_start()
        assert self.connected.wait(TIMEOUT), "no CONNACK"

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.session_present = flags.session_present
        self.connect_rc = reason_code.value
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._suback_event:
            self._subacks[mid] = [rc.value for rc in reason_codes]
            self._suback_event.notify_all()

    def subscribe(self, *topics: tuple[str, int]) -> list[int]:
        """Subscribe and wait for SUBACK; returns the granted codes."""
        rc, mid = self.paho.subscribe(list(topics))
        assert rc == mqtt.MQTT_ERR_SUCCESS
        with self._suback_event:
            assert self._suback_event.wait_for(lambda: mid in self._subacks, TIMEOUT), "no SUBACK"
            return self._subacks[mid]

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        info = self.paho.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(TIMEOUT)
        assert info.is_published()

    def get(self, timeout: float = TIMEOUT) -> mqtt.MQTTMessage:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message arrived in time") from None

    def until(self, marker_topic: str, timeout: float = TIMEOUT) -> list[mqtt.MQTTMessage]:
        """Messages received before the one on ``marker_topic``."""
        got = []
        while (msg := self.get(timeout)).topic != marker_topic:
            got.append(msg)
        return got

    def unsubscribe(self, topic: str) -> None:
        """Unsubscribe and wait for UNSUBACK."""
        done = threading.Event()
        self.paho.on_unsubscribe = lambda *a: done.set()
        assert self.paho.unsubscribe(topic)[0] == mqtt.MQTT_ERR_SUCCESS
        assert done.wait(TIMEOUT), "no UNSUBACK"

    def close(self) -> None:
        """DISCONNECT, and return once paho has written it and closed the socket."""
        if self._closed:
            return
        self._closed = True
        self.paho.disconnect()
        self.disconnected.wait(TIMEOUT)
        self.paho.loop_stop()

    def drop(self) -> None:
        """Close the socket without DISCONNECT, as a station losing power does."""
        self._closed = True
        self.paho.loop_stop()
        sock = self.paho.socket()
        assert sock is not None
        sock.close()


class Raw:
    """A client made of a plain socket and the codec, for what paho will not do."""

    def __init__(self, broker: AnyBroker, connect: Connect | None = None) -> None:
        self.sock = socket.create_connection((broker.host, broker.port), timeout=TIMEOUT)
        _opened.append(self)
        self.decoder = MqttDecoder()
        if connect is not None:
            self.send(connect)
            self.connack = self.recv()
            assert isinstance(self.connack, Connack)

    def send(self, packet: Packet) -> None:
        self.sock.sendall(encode(packet))

    def recv(self, timeout: float = TIMEOUT) -> Packet:
        deadline = time.monotonic() + timeout
        while (packet := self.decoder.next_packet()) is None:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("broker closed the connection")
            self.decoder.receive_data(data)
        return packet

    def closed_by_broker(self, timeout: float = TIMEOUT) -> bool:
        """True once the broker has closed this socket (anything it sent first is discarded)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()


def round_trip_works(broker: AnyBroker, tag: str) -> bool:
    sub = Client(broker, f"check-sub-{tag}")
    pub = Client(broker, f"check-pub-{tag}")
    try:
        sub.subscribe((f"check/{tag}", 1))
        pub.publish(f"check/{tag}", b"ok")
        return sub.get().payload == b"ok"
    finally:
        sub.close()
        pub.close()


# ---------------------------------------------------------------- publish / subscribe


def test_qos0_and_qos1_delivered_at_the_lower_of_publish_and_subscription_qos(embedded):
    sub1, sub0, pub = Client(embedded, "s1"), Client(embedded, "s0"), Client(embedded, "p")
    assert sub1.subscribe(("t/x", 1)) == [1]
    assert sub0.subscribe(("t/x", 0)) == [0]
    pub.publish("t/x", b"zero", qos=0)
    pub.publish("t/x", b"one", qos=1)
    assert [(m.payload, m.qos) for m in (sub1.get(), sub1.get())] == [(b"zero", 0), (b"one", 1)]
    assert [(m.payload, m.qos) for m in (sub0.get(), sub0.get())] == [(b"zero", 0), (b"one", 0)]
    for c in (sub1, sub0, pub):
        c.close()


def test_qos2_is_granted_as_qos1_and_its_publish_handshake_completes(embedded):
    sub, pub = Client(embedded, "sub"), Client(embedded, "pub")
    assert sub.subscribe(("q2", 2)) == [1]
    pub.publish("q2", b"exactly", qos=2)  # waits for PUBREC/PUBREL/PUBCOMP
    msg = sub.get()
    assert (msg.payload, msg.qos) == (b"exactly", 1)
    # A QoS 2 PUBLISH resent with DUP before PUBREL is routed once, not twice.
    raw = Raw(embedded, Connect("raw-q2"))
    raw.send(Publish("q2", b"once", 2, packet_id=9))
    assert raw.recv() == Pubrec(9)
    raw.send(Publish("q2", b"once", 2, dup=True, packet_id=9))
    assert raw.recv() == Pubrec(9)
    raw.send(Pubrel(9))
    assert raw.recv() == Pubcomp(9)
    pub.publish("q2", b"marker")
    assert [sub.get().payload, sub.get().payload] == [b"once", b"marker"]
    raw.close()
    sub.close()
    pub.close()


def test_wildcards_and_dollar_topics(embedded):
    filters = ["a/+/c", "a/#", "#", "+/b", "$SYS/#", "+/+"]
    subs = {f: Client(embedded, f"w{i}") for i, f in enumerate(filters)}
    for f, c in subs.items():
        c.subscribe((f, 1), ("end", 1))
    pub = Client(embedded, "pub")
    for topic in ["a/b/c", "a", "a/b", "$SYS/x", "x/b", "$SYS/b"]:
        pub.publish(topic, topic.encode())
    pub.publish("end", b"")
    got = {f: [m.topic for m in c.until("end")] for f, c in subs.items()}
    assert got == {
        "a/+/c": ["a/b/c"],
        "a/#": ["a/b/c", "a", "a/b"],
        "#": ["a/b/c", "a", "a/b", "x/b"],        # `#` never matches a `$` topic
        "+/b": ["a/b", "x/b"],                    # nor does a leading `+`
        "$SYS/#": ["$SYS/x", "$SYS/b"],
        "+/+": ["a/b", "x/b"],
    }
    for c in [*subs.values(), pub]:
        c.close()


@pytest.mark.parametrize("flt, topic, expected", [
    ("sport/#", "sport", True), ("sport/+", "sport/", True), ("+", "/x", False),
    ("/+", "/x", True), ("#", "$SYS", False), ("$SYS/+", "$SYS/a", True), ("a/+/+", "a/b", False),
])
def test_topic_matching_edge_cases_from_the_standard(flt, topic, expected):
    assert topic_matches(flt, topic) is expected


def test_overlapping_subscriptions_deliver_one_copy_at_the_highest_qos(embedded):
    sub, pub = Client(embedded, "sub"), Client(embedded, "pub")
    sub.subscribe(("o/#", 0), ("o/x", 1), ("end", 1))
    pub.publish("o/x", b"1")
    pub.publish("end", b"")
    got = sub.until("end")
    assert [(m.payload, m.qos) for m in got] == [(b"1", 1)]
    sub.close()
    pub.close()


def test_invalid_filters_get_suback_failure(embedded):
    raw = Raw(embedded, Connect("c"))  # paho refuses to send these, so speak for it
    raw.send(Subscribe(5, (("a/#/b", 1), ("$share/g", 1), ("a/b+", 0), ("$share//x", 1), ("ok/+", 1))))
    assert raw.recv() == Suback(5, (0x80, 0x80, 0x80, 0x80, 1))
    raw.send(Pingreq())
    assert raw.recv() == Pingresp()  # still connected
    raw.close()


def test_unsubscribe_stops_delivery(embedded):
    sub, pub = Client(embedded, "sub"), Client(embedded, "pub")
    sub.subscribe(("u/1", 1), ("end", 1))
    pub.publish("u/1", b"before")
    assert sub.get().payload == b"before"
    sub.unsubscribe("u/1")
    pub.publish("u/1", b"after")
    pub.publish("end", b"")
    assert sub.until("end") == []
    sub.close()
    pub.close()


# ---------------------------------------------------------------- retained


def test_retained_reaches_late_subscribers_and_an_empty_payload_clears_it(embedded):
    pub = Client(embedded, "station")
    live = Client(embedded, "live")
    live.subscribe(("rekam/v1/stations/s1/state", 1))
    pub.publish("rekam/v1/stations/s1/state", b"offline", retain=True)
    pub.publish("rekam/v1/stations/s1/state", b"online", retain=True)
    assert [(m.payload, m.retain) for m in (live.get(), live.get())] == [(b"offline", False), (b"online", False)]

    late = Client(embedded, "late")
    late.subscribe(("rekam/v1/stations/+/state", 1), ("end", 1))
    msg = late.get()
    assert (msg.payload, msg.retain, msg.qos) == (b"online", True, 1)  # only the newest is kept

    shared = Client(embedded, "shared")  # retained messages are not sent to shared subscriptions
    shared.subscribe(("$share/g/rekam/v1/stations/+/state", 1), ("end", 1))
    pub.publish("end", b"")
    assert shared.until("end") == []

    pub.publish("rekam/v1/stations/s1/state", b"", retain=True)
    assert live.get().payload == b""  # the clearing message still reaches live subscribers
    later = Client(embedded, "later")
    later.subscribe(("rekam/v1/stations/+/state", 1), ("end", 1))
    pub.publish("end", b"")
    assert later.until("end") == []
    assert embedded.stats().retained == 0
    for c in (pub, live, late, shared, later):
        c.close()


# ---------------------------------------------------------------- wills and keepalive


def test_will_is_published_when_the_socket_closes_without_disconnect(embedded):
    watcher = Client(embedded, "controller")
    watcher.subscribe(("rekam/v1/stations/+/state", 1))
    station = Client(embedded, "s1", will=("rekam/v1/stations/s1/state", b"offline", 1, True))
    station.drop()
    msg = watcher.get()
    assert (msg.topic, msg.payload, msg.qos) == ("rekam/v1/stations/s1/state", b"offline", 1)
    late = Client(embedded, "late")  # the will was retained
    late.subscribe(("rekam/v1/stations/s1/state", 0))
    retained = late.get()
    assert (retained.payload, retained.retain) == (b"offline", True)
    watcher.close()
    late.close()


def test_no_will_after_a_clean_disconnect(embedded):
    watcher = Client(embedded, "controller")
    watcher.subscribe(("state/#", 1), ("end", 1))
    station = Client(embedded, "s1", will=("state/s1", b"offline", 1, False))
    station.close()
    assert gone(embedded, "s1")
    Client(embedded, "pub").publish("end", b"")
    assert watcher.until("end") == []
    watcher.close()


def test_pingreq_is_answered_and_silence_past_1_5x_keepalive_drops_with_will(embedded):
    watcher = Client(embedded, "watcher")
    watcher.subscribe(("will/#", 1))
    raw = Raw(embedded, Connect("quiet", keepalive=1, will=Will("will/quiet", b"gone", 1)))
    raw.send(Pingreq())
    assert raw.recv() == Pingresp()
    silent_since = time.monotonic()
    msg = watcher.get(timeout=4)
    elapsed = time.monotonic() - silent_since
    assert msg.payload == b"gone"
    assert 1.4 <= elapsed < 3.5, elapsed
    assert raw.closed_by_broker()
    watcher.close()


# ---------------------------------------------------------------- shared subscriptions


def test_shared_subscription_splits_load_round_robin_and_groups_are_independent(embedded):
    flt = "rekam/v1/stations/+/packets"
    ctl_a, ctl_b = Client(embedded, "ctl-a"), Client(embedded, "ctl-b")
    ctl_a.subscribe((f"$share/controllers/{flt}", 1))
    ctl_b.subscribe((f"$share/controllers/{flt}", 1))
    audit = Client(embedded, "audit")  # alone in another group: gets everything
    audit.subscribe((f"$share/audit/{flt}", 1))
    plain = Client(embedded, "plain")
    plain.subscribe((flt, 1))
    pub = Client(embedded, "stations")
    sent = [f"{station}-{i}".encode() for i in range(10) for station in ("s1", "s2")]
    for payload in sent:
        pub.publish(f"rekam/v1/stations/{payload[:2].decode()}/packets", payload)
    assert sorted(plain.get().payload for _ in sent) == sorted(sent)
    assert sorted(audit.get().payload for _ in sent) == sorted(sent)
    got_a = [ctl_a.get().payload for _ in range(10)]
    got_b = [ctl_b.get().payload for _ in range(10)]
    assert sorted(got_a + got_b) == sorted(sent)          # each message to exactly one member
    assert got_a == sent[0::2] and got_b == sent[1::2]   # strict round-robin, order kept

    ctl_b.unsubscribe(f"$share/controllers/{flt}")  # still connected, no longer a member
    ctl_b.subscribe(("end", 1))
    for i in range(4):
        pub.publish("rekam/v1/stations/s3/packets", b"after-%d" % i)
    pub.publish("end", b"")
    assert [ctl_a.get().payload for _ in range(4)] == [b"after-%d" % i for i in range(4)]
    assert ctl_b.until("end") == []
    for c in (ctl_a, ctl_b, audit, plain, pub):
        c.close()


# ---------------------------------------------------------------- persistent sessions


def test_persistent_session_keeps_subscriptions_and_queues_qos1_while_away(embedded):
    ctl = Client(embedded, "controller-1", clean_session=False)
    assert ctl.session_present is False
    ctl.subscribe(("rekam/v1/stations/+/acks", 1))
    ctl.close()
    assert gone(embedded, "controller-1")

    pub = Client(embedded, "pub")
    for i in range(5):
        pub.publish("rekam/v1/stations/s1/acks", b"q1-%d" % i, qos=1)
    pub.publish("rekam/v1/stations/s1/acks", b"q0", qos=0)  # QoS 0 is not kept for absent clients
    pub.publish("rekam/v1/stations/s1/acks", b"end", qos=1)

    back = Client(embedded, "controller-1", clean_session=False)  # no new SUBSCRIBE
    assert back.session_present is True
    got = [back.get() for _ in range(6)]
    assert [m.payload for m in got] == [b"q1-%d" % i for i in range(5)] + [b"end"]
    assert all(m.qos == 1 for m in got)
    back.close()
    assert gone(embedded, "controller-1")

    fresh = Client(embedded, "controller-1", clean_session=True)  # clean session discards it all
    assert fresh.session_present is False
    fresh.subscribe(("end", 1))
    pub.publish("rekam/v1/stations/s1/acks", b"lost")
    pub.publish("end", b"")
    assert fresh.until("end") == []
    fresh.close()
    pub.close()


def test_unacknowledged_qos1_is_resent_with_dup_and_its_packet_id_on_reconnect(embedded):
    raw = Raw(embedded, Connect("ctl", clean_session=False))
    raw.send(Subscribe(1, (("packets", 1),)))
    assert raw.recv() == Suback(1, (1,))
    pub = Client(embedded, "pub")
    pub.publish("packets", b"sealed-1")
    first = raw.recv()
    assert isinstance(first, Publish) and first.payload == b"sealed-1" and not first.dup
    raw.close()  # crash before PUBACK
    assert gone(embedded, "ctl")

    again = Raw(embedded, Connect("ctl", clean_session=False))
    assert again.connack == Connack(True, 0)
    resent = again.recv()
    assert resent == Publish("packets", b"sealed-1", 1, False, True, first.packet_id)
    again.send(Puback(resent.packet_id))
    again.close()
    assert gone(embedded, "ctl")

    third = Raw(embedded, Connect("ctl", clean_session=False))
    third.send(Pingreq())
    assert third.recv() == Pingresp()  # acknowledged: not sent a third time
    third.close()
    pub.close()


def test_client_id_takeover_disconnects_the_old_connection_and_publishes_its_will(embedded):
    watcher = Client(embedded, "watcher")
    watcher.subscribe(("state/#", 1))
    old = Raw(embedded, Connect("s1", will=Will("state/s1", b"offline", 1)))
    new = Client(embedded, "s1")
    assert old.closed_by_broker()
    assert watcher.get().payload == b"offline"
    assert round_trip_works(embedded, "after-takeover")
    new.subscribe(("state/#", 1))
    new.publish("state/s1", b"online")
    assert new.get().payload == b"online"
    new.close()
    watcher.close()


# ---------------------------------------------------------------- size, limits, hostile clients


def test_one_megabyte_payload_round_trips(embedded):
    sub, pub = Client(embedded, "sub"), Client(embedded, "pub")
    sub.subscribe(("big", 1))
    payload = os.urandom(1024 * 1024)
    pub.publish("big", payload)
    assert sub.get().payload == payload
    sub.close()
    pub.close()


def test_packet_over_max_size_drops_that_client_at_its_header(embedded, caplog):
    caplog.set_level(logging.WARNING, logger="rekam.embedded_broker")
    raw = Raw(embedded, Connect("big-sender"))
    raw.sock.sendall(b"\x30" + encode_remaining_length(9 * 1024 * 1024))  # header only, no body
    assert raw.closed_by_broker()
    assert any("exceeds" in r.getMessage() and "big-sender" in r.getMessage() for r in caplog.records)
    assert round_trip_works(embedded, "after-oversize")


def test_oversized_paho_publish_is_refused_under_a_small_limit():
    with EmbeddedBroker(limits=BrokerLimits(max_packet_size=64 * 1024)) as broker:
        sub, pub = Client(broker, "sub"), Client(broker, "pub")
        sub.subscribe(("t", 1), ("end", 1))
        pub.paho.publish("t", b"x" * (100 * 1024), qos=1)
        assert pub.disconnected.wait(TIMEOUT)
        Client(broker, "other").publish("end", b"")
        assert sub.until("end") == []
        sub.close()
        pub.close()


@pytest.mark.parametrize("garbage", [
    b"\xff\xff\xff\xff\xff",                       # reserved type, before CONNECT
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",           # wrong protocol entirely
    encode(Publish("t", b"x")),                    # valid packet, but not CONNECT first
    b"\x10\x0e\x00\x04MQTX\x04\x02\x00\x3c\x00\x02c1",  # CONNECT with an unknown protocol name
], ids=["reserved-type", "http", "publish-first", "bad-connect"])
def test_garbage_drops_that_client_and_the_broker_keeps_serving(embedded, caplog, garbage):
    caplog.set_level(logging.WARNING, logger="rekam.embedded_broker")
    bystander = Client(embedded, "bystander")
    raw = Raw(embedded)
    raw.sock.sendall(garbage)
    assert raw.closed_by_broker()
    assert any("dropping client" in r.getMessage() for r in caplog.records)
    assert bystander.connected.is_set() and not bystander.disconnected.is_set()
    assert round_trip_works(embedded, "after-garbage")
    bystander.close()


def test_malformed_packet_after_connect_drops_client_and_publishes_its_will(embedded):
    watcher = Client(embedded, "watcher")
    watcher.subscribe(("will/#", 1))
    raw = Raw(embedded, Connect("bad", will=Will("will/bad", b"gone")))
    raw.sock.sendall(b"\x36\x05\x00\x01a\x00\x01")  # PUBLISH with QoS 3
    assert raw.closed_by_broker()
    assert watcher.get().payload == b"gone"
    watcher.close()


def test_server_only_packets_and_a_second_connect_are_protocol_errors(embedded):
    for packet in (Connack(False, 0), Connect("again"), Pubrec(3)):
        raw = Raw(embedded, Connect(f"c-{type(packet).__name__}"))
        raw.send(packet)
        assert raw.closed_by_broker(), packet


def test_connect_refusals_and_accepted_credentials(embedded):
    level5 = Raw(embedded, Connect("v5", protocol_level=5))
    assert level5.connack == Connack(False, 1)
    assert level5.closed_by_broker()
    anon = Raw(embedded, Connect("", clean_session=False))
    assert anon.connack == Connack(False, 2)
    assert anon.closed_by_broker()
    generated = Client(embedded, "")  # empty id with a clean session gets one assigned
    with_login = Client(embedded, "login", username="operator", password="ignored")
    assert generated.connect_rc == 0 and with_login.connect_rc == 0
    assert len(embedded.connected_clients) == 2 and "login" in embedded.connected_clients
    generated.close()
    with_login.close()


@pytest.mark.parametrize("limits", [
    BrokerLimits(max_queued_messages=10, max_inflight_messages=5),
    BrokerLimits(max_queued_bytes=15 * 1000, max_inflight_messages=5),
], ids=["by-count", "by-bytes"])
def test_a_slow_subscriber_holds_a_bounded_queue_and_does_not_slow_others(limits):
    with EmbeddedBroker(limits=limits) as broker:
        slow = Raw(broker, Connect("slow"))
        slow.send(Subscribe(1, (("flood", 1),)))
        assert slow.recv() == Suback(1, (1,))
        fast = Client(broker, "fast")
        fast.subscribe(("flood", 1))
        pub = Client(broker, "pub")
        for i in range(100):
            pub.publish("flood", b"%04d" % i + b"." * 996)  # 1000 bytes each
        assert [fast.get().payload[:4] for _ in range(100)] == [b"%04d" % i for i in range(100)]
        assert broker.stats().dropped == {"slow": 85}
        # The slow client now reads: 5 were in flight, 10 queued; then nothing more.
        got = []
        while len(got) < 15:
            packet = slow.recv()
            assert isinstance(packet, Publish)
            got.append(packet.payload[:4])
            slow.send(Puback(packet.packet_id))
        slow.send(Pingreq())
        assert slow.recv() == Pingresp()
        assert got == [b"%04d" % i for i in range(15)]
        for c in (fast, pub):
            c.close()


# ---------------------------------------------------------------- lifecycle


def test_stop_and_start_keep_retained_messages_like_mosquitto_persistence():
    broker = EmbeddedBroker().start()
    try:
        port = broker.port
        pub = Client(broker, "pub")
        pub.publish("rekam/test", b"kept", retain=True)
        pub.close()
        broker.restart()
        assert broker.port == port and broker.running
        sub = Client(broker, "sub")
        sub.subscribe(("rekam/test", 1))
        assert sub.get().payload == b"kept"
        sub.close()
    finally:
        broker.close()
    assert not broker.running


def test_a_second_broker_on_a_taken_port_fails_with_broker_error(embedded):
    with pytest.raises(BrokerError, match="could not listen"):
        EmbeddedBroker(port=embedded.port).start()
    assert round_trip_works(embedded, "still-serving")
    embedded.stop()
    embedded.stop()  # idempotent, as close() is
    assert not embedded.running


def scenario(broker: AnyBroker) -> dict:
    """What rekam relies on, observed from the clients' side only."""
    result: dict = {}
    ctl_a, ctl_b = Client(broker, "ctl-a"), Client(broker, "ctl-b")
    for c in (ctl_a, ctl_b):
        c.subscribe(("$share/controllers/rekam/v1/stations/+/packets", 1))
    watcher = Client(broker, "watcher")
    watcher.subscribe(("rekam/v1/stations/+/state", 1))
    station = Client(broker, "s1", will=("rekam/v1/stations/s1/state", b"offline", 1, True))
    station.publish("rekam/v1/stations/s1/state", b"online", retain=True)
    for i in range(10):
        station.publish("rekam/v1/stations/s1/packets", b"p%d" % i)
    got = [ctl_a.get().payload for _ in range(5)] + [ctl_b.get().payload for _ in range(5)]
    result["shared"] = sorted(got)
    live = watcher.get()
    result["live_state"] = (live.payload, live.retain)
    station.drop()
    will = watcher.get()
    result["will"] = (will.topic, will.payload, will.qos)
    late = Client(broker, "late")
    late.subscribe(("rekam/v1/stations/#", 1))
    retained = late.get()
    result["retained"] = (retained.payload, retained.retain)

    away = Client(broker, "away", clean_session=False)
    away.subscribe(("rekam/v1/stations/s1/acks", 1))
    away.close()  # returns after DISCONNECT is written, before the publish below starts
    ack_pub = Client(broker, "acker")
    ack_pub.publish("rekam/v1/stations/s1/acks", b"stored")
    back = Client(broker, "away", clean_session=False)
    result["resumed"] = (back.session_present, back.get().payload, away.messages.qsize())
    for c in (ctl_a, ctl_b, watcher, late, ack_pub, back):
        c.close()
    return result


def test_mosquitto_and_the_embedded_broker_behave_the_same(broker):
    with EmbeddedBroker() as ours:
        expected = {
            "shared": sorted(b"p%d" % i for i in range(10)),
            "live_state": (b"online", False),
            "will": ("rekam/v1/stations/s1/state", b"offline", 1),
            "retained": (b"offline", True),
            "resumed": (True, b"stored", 0),
        }
        assert scenario(broker) == expected
        assert scenario(ours) == expected


# ---------------------------------------------------------------- throughput


def test_throughput_of_300kb_qos1_messages(embedded, record_property):
    sub, pub = Client(embedded, "sub"), Client(embedded, "pub")
    sub.subscribe(("bench", 1))
    payload = os.urandom(300 * 1024)
    count = 150
    start = time.perf_counter()
    infos = [pub.paho.publish("bench", payload, qos=1) for _ in range(count)]
    for _ in range(count):
        assert len(sub.get(timeout=20).payload) == len(payload)
    elapsed = time.perf_counter() - start
    for info in infos:
        info.wait_for_publish(TIMEOUT)
    rate = count / elapsed
    record_property("messages_per_second", round(rate, 1))
    print(f"\nembedded broker: {rate:.0f} msg/s of 300 KB QoS 1 ({rate * 0.3:.0f} MB/s)")
    assert rate > 20
    sub.close()
    pub.close()

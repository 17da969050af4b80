"""deploy/mosquitto/rekam.conf + acl on a real Mosquitto: who may connect, publish and read what.

Negative checks follow a positive one through the same path: a forged message
is sent first, then a legitimate one; once the legitimate one has arrived,
the broker has already decided about the forged one (one connection, in
order), and a short deadline covers the rest.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from controller.provisioning import ca as ca_mod
from protocol import topics
from protocol.topics import Leaf
from station.config import MqttSettings
from tests.deploy.tls_fleet import MOUNT, Fleet, Peer, start_fleet

NOTHING_MORE_S = 0.5


@pytest.fixture
def fleet(tmp_path):
    f = start_fleet(tmp_path)
    try:
        yield f
    finally:
        f.broker.close()


def controller(fleet: Fleet, *subscriptions: str) -> Peer:
    p = Peer(fleet.broker, fleet.paths.ca_cert, fleet.paths.controller_cert, fleet.paths.controller_key,
             client_id="controller-1", port=fleet.controller_port, prefix=MOUNT).connect()
    if subscriptions:
        assert p.subscribe(*subscriptions) == [1] * len(subscriptions)
    return p


def station(fleet: Fleet, station_id: str, **kw) -> Peer:
    cert, key = fleet.station_cert(station_id)
    kw.setdefault("client_id", station_id)
    return Peer(fleet.broker, fleet.paths.ca_cert, cert, key, **kw)


def t(station_id: str, leaf: Leaf) -> str:
    return topics.station(station_id, leaf)


def test_station_publishes_only_on_its_own_topics(fleet):
    ctl = controller(fleet, f"{topics.STATIONS}/#", topics.controller_status("controller-1"))
    st1 = station(fleet, "st-01").connect()
    try:
        forged = [t("st-02", leaf) for leaf in (Leaf.STATE, Leaf.TELEMETRY, Leaf.PACKETS, Leaf.CMD_REPLY)]
        forged += [t("st-01", Leaf.ACKS), t("st-01", Leaf.ASSIGNMENT), t("st-01", Leaf.CMD), topics.controller_status("controller-1")]
        for topic in forged:
            st1.publish(topic, b"forged", retain=topic.endswith("/state"))
        own = [t("st-01", leaf) for leaf in (Leaf.STATE, Leaf.TELEMETRY, Leaf.PACKETS, Leaf.CMD_REPLY)]
        for topic in own:
            st1.publish(topic, b"own")
        for topic in own:
            assert ctl.wait_for(topic, b"own"), f"the controller did not receive {topic}"
        assert not ctl.wait_for_any(forged, NOTHING_MORE_S), \
            f"forged messages got through: {[m.topic for m in ctl.messages if m.payload == b'forged']}"
    finally:
        st1.close()
        ctl.close()


def test_station_reads_only_its_own_topics_live_and_retained(fleet):
    ctl = controller(fleet)
    for sid in ("st-01", "st-02"):
        ctl.publish(t(sid, Leaf.ASSIGNMENT), f"assignment for {sid}".encode(), retain=True)
    ctl.publish(topics.controller_status("controller-1"), b"controller online", retain=True)
    st1 = station(fleet, "st-01").connect()
    try:
        others = [t("st-02", Leaf.ACKS), t("st-02", Leaf.ASSIGNMENT), t("st-02", Leaf.CMD), t("st-02", Leaf.STATE),
                  f"{topics.STATIONS}/+/acks", f"{topics.STATIONS}/+/assignment", "#"]
        granted = st1.subscribe(*others)
        # Mosquitto 2.0's acl_file grants every SUBSCRIBE (128 would be a refusal) and checks
        # "read" on each message it delivers; either way, nothing of st-02's may arrive.
        assert set(granted) <= {1, 128}
        assert st1.subscribe(t("st-01", Leaf.ACKS), t("st-01", Leaf.CMD)) == [1, 1]
        ctl.publish(t("st-02", Leaf.ACKS), b"ack for st-02")
        ctl.publish(t("st-02", Leaf.CMD), b"cmd for st-02")
        ctl.publish(t("st-01", Leaf.CMD), b"cmd for st-01")
        ctl.publish(t("st-01", Leaf.ACKS), b"ack for st-01")
        assert st1.wait_for(t("st-01", Leaf.ACKS), b"ack for st-01")
        assert st1.wait_for(t("st-01", Leaf.CMD), b"cmd for st-01")
        if 1 in granted:  # through '#' and '+/assignment': its own retained assignment, and the controller's status
            assert st1.wait_for(t("st-01", Leaf.ASSIGNMENT), b"assignment for st-01")
            assert st1.wait_for(topics.controller_status("controller-1"), b"controller online")
        leaked = [m.topic for m in st1.messages if "/st-02/" in m.topic]
        assert not leaked and not st1.wait_for_any([t("st-02", leaf) for leaf in Leaf], NOTHING_MORE_S), leaked
    finally:
        st1.close()
        ctl.close()


def test_a_will_on_another_stations_topic_is_never_published(fleet):
    ctl = controller(fleet, t("st-01", Leaf.STATE), t("st-03", Leaf.STATE))
    forger = station(fleet, "st-02").will(t("st-01", Leaf.STATE), b"forged offline")
    honest = station(fleet, "st-03").will(t("st-03", Leaf.STATE), b"st-03 offline")
    try:
        # Mosquitto 2.0.11 accepts the CONNECT and drops the will when it would be published.
        if forger.attempt() == "connected":
            forger.drop()
        honest.connect()
        honest.drop()
        assert ctl.wait_for(t("st-03", Leaf.STATE), b"st-03 offline"), "a station's own will must get through"
        assert not ctl.wait_for(t("st-01", Leaf.STATE), timeout=NOTHING_MORE_S)
    finally:
        ctl.close()
    # Nor was it kept as st-01's retained state.
    late = controller(fleet)
    try:
        late.subscribe(t("st-01", Leaf.STATE), t("st-03", Leaf.STATE))
        assert late.wait_for(t("st-03", Leaf.STATE), b"st-03 offline")
        assert not late.got(t("st-01", Leaf.STATE))
    finally:
        late.close()


def test_a_station_cannot_take_over_another_stations_session(fleet):
    """use_username_as_clientid: the client id is the certificate's CN, whatever the client sends."""
    st1 = station(fleet, "st-01", clean_session=False).connect()
    assert st1.subscribe(t("st-01", Leaf.ACKS)) == [1]
    st1.close()
    ctl = controller(fleet)
    ctl.publish(t("st-01", Leaf.ACKS), b"queued for st-01")
    impostor = station(fleet, "st-02", client_id="st-01", clean_session=False)
    try:
        impostor.connect()
        assert not impostor.wait_for(t("st-01", Leaf.ACKS), timeout=NOTHING_MORE_S)
    finally:
        impostor.close()
    again = station(fleet, "st-01", clean_session=False).connect()
    try:
        # Without use_username_as_clientid the impostor's CONNECT would have taken this session and lost the ack.
        assert again.wait_for(t("st-01", Leaf.ACKS), b"queued for st-01"), "st-01's queued ack was lost"
    finally:
        again.close()
        ctl.close()


def test_controller_cannot_publish_as_a_station(fleet):
    ctl = controller(fleet, f"{topics.STATIONS}/#")
    try:
        for leaf in (Leaf.PACKETS, Leaf.STATE, Leaf.TELEMETRY, Leaf.CMD_REPLY):
            ctl.publish(t("st-01", leaf), b"forged by a controller")
        ctl.publish(t("st-01", Leaf.ACKS), b"ack")
        assert ctl.wait_for(t("st-01", Leaf.ACKS), b"ack")
        assert not ctl.got(t("st-01", Leaf.PACKETS)) and not ctl.wait_for_any(
            [t("st-01", leaf) for leaf in (Leaf.PACKETS, Leaf.STATE, Leaf.TELEMETRY, Leaf.CMD_REPLY)], NOTHING_MORE_S)
    finally:
        ctl.close()


def _expired(fleet: Fleet):
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    return fleet.station_cert("st-01", now=long_ago, days=10)


def _other_ca(fleet: Fleet):
    return fleet.station_cert("st-01", ca=ca_mod.FleetCA.create("somebody else's CA"))


def _broker_cert_as_client(fleet: Fleet):
    return fleet.paths.broker_cert, fleet.paths.broker_key


@pytest.mark.parametrize("credentials", [lambda f: (None, None), _other_ca, _expired, _broker_cert_as_client],
                         ids=["no-certificate", "other-ca", "expired", "server-certificate"])
def test_clients_without_a_valid_fleet_client_certificate_are_refused(fleet, credentials):
    cert, key = credentials(fleet)
    refused = Peer(fleet.broker, fleet.paths.ca_cert, cert, key, client_id="st-01")
    try:
        outcome = refused.attempt()
    finally:
        refused.client.loop_stop()
    assert outcome.startswith("refused"), outcome
    good = station(fleet, "st-01")
    try:
        assert good.attempt() == "connected"  # the same broker takes a valid certificate for the same CN
    finally:
        good.close()


def test_packets_up_to_the_station_limit_pass_and_larger_ones_are_refused(fleet):
    limit = MqttSettings().max_packet_bytes
    ctl = controller(fleet, topics.shared_packets())
    st1 = station(fleet, "st-01").connect()
    try:
        st1.publish(t("st-01", Leaf.PACKETS), b"\x01" * limit)
        assert ctl.wait_for(t("st-01", Leaf.PACKETS), timeout=30), "a packet at the station's limit must pass"
        st1.ended.clear()
        st1.client.publish(t("st-01", Leaf.PACKETS), b"\x02" * (limit + 2 * 1024 * 1024), qos=1)
        assert st1.ended.wait(30), "the broker must drop a client that sends more than max_packet_size"
        assert len(ctl.got(t("st-01", Leaf.PACKETS))) == 1
    finally:
        st1.client.loop_stop()
        ctl.close()


def test_a_station_cannot_join_the_controllers_share_group(fleet):
    """Mosquitto 2.0 grants every SUBSCRIBE; the stations' mount point is what keeps them out.

    Before, a station that subscribed to $share/controllers/... took its share of every
    station's packets, and the broker then discarded them (the station may not read them)."""
    ctl = controller(fleet, topics.shared_packets())
    thief = station(fleet, "st-02").connect()
    st1 = station(fleet, "st-01").connect()
    try:
        assert thief.subscribe(topics.shared_packets(), f"$share/controllers/{topics.STATIONS}/#") == [1, 1]
        sent = [f"packet {i}".encode() for i in range(12)]
        for payload in sent:
            st1.publish(t("st-01", Leaf.PACKETS), payload)
        with ctl._cond:
            assert ctl._cond.wait_for(lambda: len(ctl.got(t("st-01", Leaf.PACKETS))) == len(sent), 15), \
                f"the controllers got {len(ctl.got(t('st-01', Leaf.PACKETS)))} of {len(sent)}"
        assert sorted(m.payload for m in ctl.got(t("st-01", Leaf.PACKETS))) == sorted(sent)
        assert not thief.got(t("st-01", Leaf.PACKETS))
    finally:
        for p in (thief, st1, ctl):
            p.close()


def test_a_station_certificate_is_refused_on_the_controllers_listener(fleet):
    """The controllers' listener trusts only the controllers' CA. Before, it took any fleet certificate:
    a station there joined $share/controllers and the controllers got 6 of 12 packets."""
    cert, key = fleet.station_cert("st-02")
    thief = Peer(fleet.broker, fleet.paths.ca_cert, cert, key, client_id="st-02", port=fleet.controller_port)
    try:
        outcome = thief.attempt()
    finally:
        thief.client.loop_stop()
    assert outcome.startswith("refused"), outcome
    ctl = controller(fleet)  # the controller's own certificate still gets in, through the same listener
    ctl.close()
    issuer = ca_mod.load_cert(fleet.paths.controller_cert).issuer
    assert issuer == ca_mod.load_cert(fleet.paths.controllers_ca_cert).subject != fleet.ca.cert.subject
    from tests.deploy.tls_fleet import CONF

    listeners = [line.split()[1:] for line in CONF.read_text().splitlines() if line.startswith("listener ")]
    assert listeners == [["8883"], ["8884", "127.0.0.1"]]  # and out of the stations' reach by address too


def test_a_revoked_station_is_refused_by_the_broker_after_a_reload(fleet):
    from controller.provisioning.ca import revoked_serials
    from controller.provisioning.revocation import revoke

    with fleet.ctl.store() as store:
        for sid in ("st-01", "st-02"):
            store.add_station(sid, b"-", sid)
    cert1, key1 = _issued(fleet, "st-01")
    cert2, key2 = _issued(fleet, "st-02")
    assert Peer(fleet.broker, fleet.paths.ca_cert, cert1, key1, client_id="st-01").attempt() == "connected"
    r = revoke(fleet.ctl.config, "st-01", "stolen at the market")
    assert len(r.serials) == 1 and r.serials[0] in revoked_serials(fleet.paths)
    fleet.broker.reload()
    deadline = time.monotonic() + 10
    outcome = "connected"
    while outcome == "connected" and time.monotonic() < deadline:  # SIGHUP is handled on the broker's next loop
        probe = Peer(fleet.broker, fleet.paths.ca_cert, cert1, key1, client_id="st-01")
        outcome = probe.attempt(timeout=2)
        if outcome == "connected":
            probe.close()
        else:
            probe.client.loop_stop()
    assert outcome.startswith("refused"), outcome
    other = Peer(fleet.broker, fleet.paths.ca_cert, cert2, key2, client_id="st-02")
    try:
        assert other.attempt() == "connected"  # only the revoked one
    finally:
        other.close()
    with fleet.ctl.store() as store:
        assert store.station("st-01").revoked and not store.station("st-02").revoked


def _issued(fleet: Fleet, station_id: str):
    """A station certificate issued the way `rekam controller provision` does (recorded for revocation)."""
    cert_path, key_path = fleet.station_cert(station_id)
    ca_mod.record_issued(fleet.paths, ca_mod.load_cert(cert_path))
    return cert_path, key_path

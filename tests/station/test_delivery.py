"""The delivery state machine alone: a fake clock, no broker, no disk, no threads."""

from __future__ import annotations

from protocol.messages import AckStatus
from station.delivery import Candidate, Delivery, DeliverySettings, Publish, PutBack, Quarantine, Settle

KB = 1024


def machine(**kw) -> Delivery:
    d = Delivery(DeliverySettings(**{"window": 3, "window_bytes": 100 * KB, "max_packet_bytes": 50 * KB,
                                      "ack_timeout_s": 10.0, **kw}))
    assert d.on_connected() == []
    assert d.on_controller_status("ctl-1", True, since=1.0) == []
    return d


def pending(n: int, size: int = KB, start: int = 0) -> list[Candidate]:
    return [Candidate(f"p{i}", size) for i in range(start, start + n)]


def published(actions) -> list[str]:
    return [a.packet_id for a in actions if isinstance(a, Publish)]


def test_nothing_goes_out_while_disconnected_or_while_no_controller_is_known_online():
    d = Delivery(DeliverySettings())
    assert d.room() == (0, 0)
    assert d.offer(pending(3), now=0) == []
    d.on_connected()
    assert d.offer(pending(3), now=0) == []  # the broker would drop it: nobody in the share group yet
    d.on_controller_status("ctl-1", False, since=5.0)
    assert d.offer(pending(3), now=0) == []
    d.on_controller_status("ctl-1", True, since=9.0)
    assert published(d.offer(pending(3), now=0)) == ["p0", "p1", "p2"]


def test_window_counts_and_bytes_bound_what_is_in_flight():
    d = machine()
    assert published(d.offer(pending(5), now=0)) == ["p0", "p1", "p2"]
    assert d.room() == (0, 0)
    assert d.offer(pending(5), now=1) == []  # still full: nothing more
    d = machine(window=10)
    assert published(d.offer(pending(5, size=40 * KB), now=0)) == ["p0", "p1"]  # a third would pass 100 KB
    big = machine(window=10, window_bytes=10 * KB)
    assert published(big.offer(pending(2, size=40 * KB), now=0)) == ["p0"]  # one always fits


def test_each_ack_frees_one_place_and_is_settled():
    d = machine()
    d.offer(pending(5), now=0)
    assert d.on_ack("p0", AckStatus.STORED) == [Settle("p0", AckStatus.STORED)]
    assert d.room()[0] == 1
    assert published(d.offer(pending(4, start=1), now=1)) == ["p3"]  # p1, p2 are already in flight


def test_ack_for_an_unknown_id_is_settled_and_changes_nothing():
    d = machine()
    d.offer(pending(3), now=0)
    assert d.on_ack("never-sent", AckStatus.STORED) == [Settle("never-sent", AckStatus.STORED)]
    assert d.in_flight == ("p0", "p1", "p2") and d.room() == (0, 0)


def test_a_duplicate_ack_is_settled_twice_and_frees_one_place_once():
    d = machine()
    d.offer(pending(3), now=0)
    d.on_ack("p0", AckStatus.STORED)
    assert d.on_ack("p0", AckStatus.DUPLICATE) == [Settle("p0", AckStatus.DUPLICATE)]
    assert d.in_flight == ("p1", "p2") and d.room()[0] == 1


def test_no_ack_in_time_puts_the_packet_back_and_it_goes_again():
    d = machine()
    d.offer(pending(1), now=0)
    assert d.on_tick(9.9) == []
    assert d.on_tick(10.0) == [PutBack("p0", "ack_timeout")]
    assert published(d.offer(pending(1), now=10.0)) == ["p0"]


def test_an_ack_after_a_resend_is_settled_and_the_late_second_ack_too():
    d = machine()
    d.offer(pending(1), now=0)
    d.on_tick(10.0)
    d.offer(pending(1), now=10.0)  # sent again
    assert d.on_ack("p0", AckStatus.STORED) == [Settle("p0", AckStatus.STORED)]
    assert d.in_flight == ()
    assert d.on_ack("p0", AckStatus.DUPLICATE) == [Settle("p0", AckStatus.DUPLICATE)]  # the outbox ignores it


def test_reconnect_mid_window_puts_everything_in_flight_back_at_once():
    d = machine()
    d.offer(pending(3), now=0)
    assert d.on_disconnected() == []
    assert d.room() == (0, 0)
    assert d.on_connected() == [PutBack(p, "reconnected") for p in ("p0", "p1", "p2")]
    assert published(d.offer(pending(3), now=1)) == ["p0", "p1", "p2"]  # no wait for the ack timeout


def test_a_replica_that_dies_or_comes_back_puts_the_window_back_but_first_statuses_do_not():
    d = machine()  # ctl-1 online
    d.offer(pending(2), now=0)
    assert d.on_controller_status("ctl-2", False, since=3.0) == []  # first sighting: nothing was lost
    assert d.on_controller_status("ctl-1", False, since=4.0) == [PutBack("p0", "controller_gone"),
                                                                  PutBack("p1", "controller_gone")]
    assert d.controller_online is False and d.room() == (0, 0)
    assert d.on_controller_status("ctl-2", True, since=5.0) == []  # nothing was in flight
    d.offer(pending(2), now=1)
    assert d.on_controller_status("ctl-2", True, since=5.0) == []  # the same news again changes nothing


def test_a_replica_with_a_new_session_puts_the_window_back():
    """After a broker restart the retained 'online' is old news until the controller says it again."""
    d = machine()
    d.offer(pending(2), now=0)
    assert d.on_controller_status("ctl-1", True, since=50.0) == [PutBack("p0", "controller_back"),
                                                                  PutBack("p1", "controller_back")]


def test_a_packet_larger_than_the_broker_allows_is_quarantined_and_the_rest_flow():
    d = machine()
    actions = d.offer([Candidate("small", KB), Candidate("huge", 60 * KB), Candidate("next", KB)], now=0)
    assert published(actions) == ["small", "next"]
    [q] = [a for a in actions if isinstance(a, Quarantine)]
    assert (q.packet_id, q.reason_id) == ("huge", "too_large") and "limit of 51200 bytes" in q.reason


def test_a_failed_publish_leaves_the_window():
    d = machine()
    d.offer(pending(1), now=0)
    d.publish_failed("p0")
    assert d.in_flight == () and d.room()[0] == 3


def test_token_bucket_caps_the_drain_rate():
    d = machine(window=100, drain_bytes_per_s=10 * KB)
    assert len(published(d.offer(pending(20), now=0))) == 10  # one second's worth to start
    assert published(d.offer(pending(20, start=10), now=0.05)) == []  # no tokens yet
    assert len(published(d.offer(pending(20, start=10), now=0.5))) == 5  # half a second later: 5 KB more

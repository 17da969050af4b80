import pytest

from protocol import packet
from protocol.keys import ControllerKeys, SigningKey
from protocol.messages import AckStatus
from station.errors import LowDiskSpace, OutboxError
from station.outbox import AckOutcome, Outbox
from station.outbox_states import (
    TRANSITIONS,
    Event,
    OutboxStateError,
    State,
    next_state,
)

CONTROLLER = ControllerKeys.generate()
STATION = SigningKey.generate()


def seal(outbox: Outbox, payload: bytes = b"record") -> packet.Envelope:
    env = packet.seal(payload, station_id="st-01", seq=outbox.next_seq(),
                      controller_key=CONTROLLER.public.keys[1], station_key=STATION)
    outbox.add(env)
    return env


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox.db") as ob:
        yield ob


def test_only_acks_remove_and_nothing_else_deletes():
    removing = [(s, e) for (s, e), t in TRANSITIONS.items() if t is State.REMOVED]
    assert {e for _, e in removing} == {Event.ACK_STORED, Event.ACK_DUPLICATE}


def test_illegal_move_raises_inside_the_station_family():
    with pytest.raises(OutboxStateError) as err:
        next_state(State.QUARANTINED, Event.PUBLISH)
    assert isinstance(err.value, OutboxError) and err.value.reason_id == "outbox_state"  # one line in `rekam`
    with pytest.raises(OutboxStateError):
        next_state(State.PENDING, Event.PUT_BACK)


def test_send_ack_removes(outbox):
    env = seal(outbox)
    [item] = outbox.take_for_sending(10, 10**9)
    assert item.packet_id == env.packet_id and item.payload == env.to_bytes()
    outbox.mark_sent(item.packet_id)
    assert outbox.state_of(env.packet_id) is State.SENT
    assert outbox.on_ack(env.packet_id, AckStatus.STORED) is AckOutcome.REMOVED
    assert outbox.state_of(env.packet_id) is State.REMOVED
    s = outbox.stats()
    assert (s.pending, s.sent, s.quarantined, s.delivered, s.bytes) == (0, 0, 0, 1, 0)


def test_duplicate_and_unknown_acks_are_harmless(outbox):
    env = seal(outbox)
    outbox.mark_sent(env.packet_id)
    assert outbox.on_ack(env.packet_id, AckStatus.DUPLICATE) is AckOutcome.REMOVED
    assert outbox.on_ack(env.packet_id, AckStatus.STORED) is AckOutcome.ALREADY_DELIVERED
    assert outbox.on_ack(env.packet_id, AckStatus.REJECTED, "x") is AckOutcome.ALREADY_DELIVERED
    assert outbox.on_ack("never-seen", AckStatus.STORED) is AckOutcome.UNKNOWN
    assert outbox.stats().delivered == 1


def test_rejected_goes_to_quarantine_and_can_be_requeued(outbox):
    env = seal(outbox)
    outbox.mark_sent(env.packet_id)
    assert outbox.on_ack(env.packet_id, AckStatus.REJECTED, "bad_signature", "does not verify") is AckOutcome.QUARANTINED
    [q] = outbox.quarantined()
    assert (q.packet_id, q.reason_id, q.reason) == (env.packet_id, "bad_signature", "does not verify")
    assert outbox.take_for_sending(10, 10**9) == []
    assert outbox.on_ack(env.packet_id, AckStatus.REJECTED, "again") is AckOutcome.IGNORED
    assert outbox.requeue_quarantined(env.packet_id) == 1
    assert [i.packet_id for i in outbox.take_for_sending(10, 10**9)] == [env.packet_id]
    with pytest.raises(OutboxError):
        outbox.requeue_quarantined("not-there")


def test_late_ack_for_requeued_packet_still_removes(outbox, monkeypatch):
    env = seal(outbox)
    outbox.mark_sent(env.packet_id)
    assert outbox.put_back(env.packet_id) is True
    assert outbox.put_back(env.packet_id) is False  # only a SENT packet can be put back
    assert outbox.state_of(env.packet_id) is State.PENDING
    assert outbox.on_ack(env.packet_id, AckStatus.STORED) is AckOutcome.REMOVED


def test_window_limits(outbox):
    envs = [seal(outbox, b"x" * 1000) for _ in range(5)]
    assert [i.seq for i in outbox.take_for_sending(3, 10**9)] == [e.header.seq for e in envs[:3]]
    size = len(envs[0].to_bytes())
    assert len(outbox.take_for_sending(10, size * 2)) == 2
    assert len(outbox.take_for_sending(10, 1)) == 1  # always at least one, or a big packet would never go


def test_restart_puts_in_flight_back(tmp_path):
    path = tmp_path / "o.db"
    with Outbox(path) as ob:
        env = seal(ob)
        ob.mark_sent(env.packet_id)
    with Outbox(path) as ob:
        assert ob.state_of(env.packet_id) is State.PENDING
        assert ob.next_seq() == env.header.seq + 1  # sequence numbers never reused


def test_too_large_quarantined_with_reason(outbox):
    env = seal(outbox)
    outbox.quarantine_unsendable(env.packet_id, "too_large", "larger than the broker limit of 100 bytes")
    [q] = outbox.quarantined()
    assert q.reason_id == "too_large" and "100 bytes" in q.reason


def test_disk_floor(outbox):
    free = outbox.check_space(0)
    assert free > 0
    with pytest.raises(LowDiskSpace) as err:
        outbox.check_space(free * 1000)
    assert err.value.params["need_mib"] > err.value.params["free_mib"]


def test_unopened_outbox_says_so(tmp_path):
    with pytest.raises(OutboxError, match="not open"):
        Outbox(tmp_path / "x.db").stats()


def test_unwritable_location_is_an_outbox_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutboxError):
        Outbox(blocker / "sub" / "o.db").open()


def test_failed_commit_is_rolled_back_and_the_next_write_really_commits(tmp_path, monkeypatch):
    """A COMMIT that fails must not leave the connection inside a transaction that later writes join."""
    import sqlite3

    path = tmp_path / "o.db"
    calls = {"armed": False, "n": 0}

    class Failing(sqlite3.Connection):
        def execute(self, sql, *a):
            if sql == "COMMIT" and calls["armed"] and calls["n"] == 0:
                calls["n"] += 1
                raise sqlite3.OperationalError("disk I/O error")
            return super().execute(sql, *a)

    ob = Outbox(path, connect=lambda *a, **kw: sqlite3.connect(*a, factory=Failing, **kw)).open()
    calls["armed"] = True
    with pytest.raises(OutboxError):
        seal(ob)
    assert calls["n"] == 1
    env = seal(ob)
    with Outbox(path, recover_in_flight=False) as other:  # a second connection sees only committed data
        assert [i.packet_id for i in other.take_for_sending(10, 10**9)] == [env.packet_id]
    ob.close()


def test_looking_at_a_running_stations_outbox_leaves_in_flight_packets_alone(tmp_path):
    with Outbox(tmp_path / "o.db") as running:
        env = seal(running)
        running.mark_sent(env.packet_id)
        with Outbox(tmp_path / "o.db", recover_in_flight=False) as tool:
            assert tool.stats().sent == 1
        assert running.state_of(env.packet_id) is State.SENT


def test_a_quarantined_packet_the_controller_later_stores_follows_the_controller(outbox):
    env = seal(outbox)
    outbox.mark_sent(env.packet_id)
    assert outbox.on_ack(env.packet_id, AckStatus.REJECTED, "bad_signature", "forged copy") is AckOutcome.QUARANTINED
    assert outbox.on_ack(env.packet_id, AckStatus.STORED) is AckOutcome.REMOVED
    assert outbox.state_of(env.packet_id) is State.REMOVED and outbox.stats().quarantined == 0

"""The intake state machine alone: batching and PUBACK-after-commit, with a fake clock."""

from __future__ import annotations

from controller.intake import Intake, IntakeSettings, Outcome, Process, PublishAck, Release
from protocol.messages import Ack, AckStatus


def intake(**kw) -> Intake[str]:
    return Intake(IntakeSettings(**{"batch_size": 3, "batch_wait_s": 0.05, "workers": 1, **kw}))


def test_a_full_batch_is_cut_at_once():
    m = intake()
    assert m.on_packet("a", 0.0) == [] and m.on_packet("b", 0.0) == []
    assert m.on_packet("c", 0.0) == [Process(0, ("a", "b", "c"))]


def test_a_partial_batch_is_cut_when_its_wait_is_over():
    m = intake()
    m.on_packet("a", 1.0)
    assert m.next_deadline() == 1.05
    assert m.on_tick(1.04) == []
    assert m.on_tick(1.05) == [Process(0, ("a",))]
    assert m.next_deadline() is None


def test_acks_go_out_before_the_puback_and_only_after_the_store():
    m = intake()
    [process] = m.on_packet("a", 0) + m.on_packet("b", 0) + m.on_packet("c", 0)
    ack_a, ack_b = Ack("id-a", AckStatus.STORED), Ack("id-b", AckStatus.REJECTED, "bad_signature")
    actions = m.on_done(process.batch_id, [Outcome("st-01", ack_a), Outcome("st-02", ack_b), Outcome(None, None)])
    assert actions == [PublishAck("st-01", ack_a), PublishAck("st-02", ack_b), Release(("a", "b", "c"))]
    assert m.idle


def test_a_failed_batch_is_released_without_acks():
    m = intake(batch_size=1)
    [p] = m.on_packet("a", 0)
    assert m.on_failed(p.batch_id) == [Release(("a",))]
    assert m.buffered == 0


def test_no_more_batches_in_work_than_workers_and_the_rest_wait_in_order():
    m = intake(batch_size=1, workers=2)
    assert m.on_packet("a", 0) == [Process(0, ("a",))]
    assert m.on_packet("b", 0) == [Process(1, ("b",))]
    assert m.on_packet("c", 0) == [] and m.on_packet("d", 0) == []
    assert m.buffered == 4
    assert m.on_done(1, []) == [Release(("b",)), Process(2, ("c",))]
    assert m.on_failed(0) == [Release(("a",)), Process(3, ("d",))]


def test_packets_arriving_while_workers_are_busy_form_full_batches():
    m = intake(batch_size=2)
    m.on_packet("a", 0)
    [p0] = m.on_tick(0.05)
    for x in "bcde":
        assert m.on_packet(x, 0.06) == []
    assert m.on_done(p0.batch_id, []) == [Release(("a",)), Process(1, ("b", "c"))]

"""Every state a sealed packet can be in on the station, and every allowed move.

Rules (the only place they live):

* A packet is born PENDING when it is sealed and committed.
* PENDING -> SENT when it is published; SENT -> PENDING when it is put back
  (no ack came in time, or it went out before a reconnection: see
  :mod:`station.delivery`) or the station restarted while it was in flight;
  it is sent again and the controller answers ``duplicate`` if it had it.
* Only the controller's ack ends a packet's life: ``stored`` or ``duplicate``
  removes it (its id stays in the delivered log); ``rejected`` moves it to
  QUARANTINED with the controller's reason, for the operator to see.
  An ack may overtake our own bookkeeping (a late ack for a packet already put
  back to PENDING), so acks are accepted from PENDING as well as SENT.
* A packet that can never be published as it is (too big for the broker)
  never leaves: PENDING -> QUARANTINED with a local reason, rather than a
  publish that is silently dropped or retried forever.
* QUARANTINED -> PENDING only when the operator re-queues it. A quarantined
  packet that the controller later acks ``stored`` or ``duplicate`` follows
  the controller (REMOVED): the controller holds it, whatever was said before
  (a rejection for a forged copy, or one the operator re-queued meanwhile).
* Nothing is ever deleted except by REMOVED, and REMOVED needs an ack.

An illegal move raises :class:`OutboxStateError`; the packet stays as it was.
"""

from __future__ import annotations

from enum import Enum

from station.errors import OutboxError


class State(str, Enum):
    PENDING = "pending"
    SENT = "sent"
    QUARANTINED = "quarantined"
    REMOVED = "removed"  # not stored in the table: the row is gone, the id is in the delivered log


class Event(str, Enum):
    PUBLISH = "publish"
    PUT_BACK = "put_back"
    RESTART = "restart"
    ACK_STORED = "ack_stored"
    ACK_DUPLICATE = "ack_duplicate"
    ACK_REJECTED = "ack_rejected"
    UNSENDABLE = "unsendable"
    REQUEUE = "requeue"


class OutboxStateError(OutboxError):
    """A move the outbox's state table does not allow (or a packet it does not hold)."""

    reason_id = "outbox_state"


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.PENDING, Event.PUBLISH): State.SENT,
    (State.SENT, Event.PUT_BACK): State.PENDING,
    (State.SENT, Event.RESTART): State.PENDING,
    (State.SENT, Event.ACK_STORED): State.REMOVED,
    (State.SENT, Event.ACK_DUPLICATE): State.REMOVED,
    (State.SENT, Event.ACK_REJECTED): State.QUARANTINED,
    (State.PENDING, Event.ACK_STORED): State.REMOVED,
    (State.PENDING, Event.ACK_DUPLICATE): State.REMOVED,
    (State.PENDING, Event.ACK_REJECTED): State.QUARANTINED,
    (State.PENDING, Event.UNSENDABLE): State.QUARANTINED,
    (State.QUARANTINED, Event.REQUEUE): State.PENDING,
    (State.QUARANTINED, Event.ACK_STORED): State.REMOVED,
    (State.QUARANTINED, Event.ACK_DUPLICATE): State.REMOVED,
}


def next_state(current: State, event: Event) -> State:
    try:
        return TRANSITIONS[(current, event)]
    except KeyError:
        raise OutboxStateError(f"a {current.value} packet cannot take event {event.value}") from None

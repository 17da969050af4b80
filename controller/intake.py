"""Packets from the broker into batches, and PUBACKs only after their batch is stored: a pure state machine.

No paho, threads or clocks in here: the service feeds events in, with the
time, and carries out the actions that come back.

    events                            actions
    on_packet(message, now)           Process(batch_id, messages)   verify, open, store these
    on_tick(now)                      PublishAck(station_id, ack)   tell a station
    on_done(batch_id, results)        Release(messages)             PUBACK to the broker
    on_failed(batch_id)

Rules (the only place they live):

* A batch is cut when it holds ``batch_size`` packets, or ``batch_wait_s``
  after its first packet arrived, whichever comes first; at most ``workers``
  batches are processed at once, the rest wait in arrival order.
* A batch's acks go to the stations before its PUBACKs go to the broker, and
  both only after the batch was stored (committed): a controller that dies
  mid-batch leaves those packets with the broker and the stations, which send
  them again.
* A batch that failed (a store error) gets no acks, so each station sends its
  packet again after its ack timeout; its messages are released all the same,
  or they would fill this session's window and stall the whole feed.
* Buffered packets are bounded by what the broker may send unacknowledged
  (MQTT 5 receive maximum); :attr:`Intake.buffered` lets the service check it.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, Sequence, TypeVar

from protocol.messages import Ack

M = TypeVar("M")  # a received message, opaque here (the link's Inbound)


@dataclass(frozen=True)
class IntakeSettings:
    batch_size: int = 32
    batch_wait_s: float = 0.05
    workers: int = 2


@dataclass(frozen=True)
class Process(Generic[M]):
    batch_id: int
    messages: tuple[M, ...]


@dataclass(frozen=True)
class PublishAck:
    station_id: str
    ack: Ack


@dataclass(frozen=True)
class Release(Generic[M]):
    messages: tuple[M, ...]


@dataclass(frozen=True)
class Outcome:
    """What storing one packet came to: the ack for its station, if it may have one."""

    station_id: str | None
    ack: Ack | None


Action = Process | PublishAck | Release


@dataclass
class Intake(Generic[M]):
    settings: IntakeSettings
    _open: list[M] = field(default_factory=list)
    _opened_at: float | None = None
    _ready: deque[tuple[M, ...]] = field(default_factory=deque)
    _running: dict[int, tuple[M, ...]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=itertools.count)

    @property
    def buffered(self) -> int:
        """Packets received and not yet released."""
        return len(self._open) + sum(map(len, self._ready)) + sum(map(len, self._running.values()))

    @property
    def idle(self) -> bool:
        return self.buffered == 0

    def next_deadline(self) -> float | None:
        """When the open batch must be cut, if one is open."""
        return None if self._opened_at is None else self._opened_at + self.settings.batch_wait_s

    # -- events ------------------------------------------------------------------
    def on_packet(self, message: M, now: float) -> list[Action]:
        if not self._open:
            self._opened_at = now
        self._open.append(message)
        if len(self._open) >= self.settings.batch_size:
            self._cut()
        return self._start()

    def on_tick(self, now: float) -> list[Action]:
        if self._opened_at is not None and now >= self._opened_at + self.settings.batch_wait_s:
            self._cut()
        return self._start()

    def on_done(self, batch_id: int, outcomes: Sequence[Outcome]) -> list[Action]:
        batch = self._running.pop(batch_id)
        acks: list[Action] = [PublishAck(o.station_id, o.ack) for o in outcomes
                              if o.ack is not None and o.station_id is not None]
        return acks + [Release(batch)] + self._start()

    def on_failed(self, batch_id: int) -> list[Action]:
        return [Release(self._running.pop(batch_id))] + self._start()

    # -- internals -------------------------------------------------------------------
    def _cut(self) -> None:
        if self._open:
            self._ready.append(tuple(self._open))
            self._open, self._opened_at = [], None

    def _start(self) -> list[Action]:
        actions: list[Action] = []
        while self._ready and len(self._running) < self.settings.workers:
            batch_id = next(self._ids)
            self._running[batch_id] = batch = self._ready.popleft()
            actions.append(Process(batch_id, batch))
        return actions

"""Which sealed packets go out when: the station's delivery rules as a pure state machine.

No paho, threads, sleeps, clocks or disk in here (the h11 way): the uplink
feeds events in, with the time, and carries out the actions that come back.

    events                                   actions
    on_connected() / on_disconnected()       Publish(packet_id)         publish it now, QoS 1
    on_controller_status(id, online, since)  PutBack(packet_id, why)    SENT -> PENDING in the outbox
    offer(candidates, now)                   Settle(packet_id, ...)     apply the controller's ack
    on_ack(packet_id, status, ...)           Quarantine(packet_id, ...) never sendable as it is
    on_tick(now)
    publish_failed(packet_id)

Rules (the only place they live):

* At most ``window`` packets and ``window_bytes`` bytes are published and
  waiting for the controller's ack; one packet always fits, whatever its size.
* Nothing is offered while disconnected, nor while no controller replica is
  known to be online: a packet published with nobody in the controllers'
  share group is taken by the broker and dropped, and would wait out the
  whole ack timeout.
* A packet bigger than ``max_packet_bytes`` is never published (the broker
  would drop it or the connection, and paho would resend it forever): it is
  quarantined with the reason.
* A packet with no ack ``ack_timeout_s`` after it went out is put back and
  sent again; the controller answers ``duplicate`` if it had it.
* On every (re)connection, when a controller replica goes offline, and when
  one announces a new session (its status with a new ``since``: it came back,
  or it reconnected after a broker restart), everything in flight is put back
  at once: the broker may have taken a packet and lost it (Mosquitto does not
  keep shared subscriptions across a restart; a dead replica's session goes
  with the packets it held), and waiting out the ack timeout would stall the
  station for a minute. A replica's first status (retained, as the station
  subscribes) changes nothing: nothing was sent before it.
* Every ack is settled in the outbox, in the window or not: the outbox decides
  what a late ack, a second ack, or an ack for an unknown id means.
* The upload rate is capped at ``drain_bytes_per_s`` (0: no cap) by a token
  bucket, so a station catching up after days offline spares a shared uplink.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from protocol.messages import AckStatus


@dataclass(frozen=True)
class DeliverySettings:
    window: int = 8
    window_bytes: int = 8 * 1024 * 1024
    max_packet_bytes: int = 4 * 1024 * 1024
    ack_timeout_s: float = 60.0
    drain_bytes_per_s: int = 0


@dataclass(frozen=True)
class Candidate:
    """A PENDING packet in the outbox, oldest first."""

    packet_id: str
    size: int


@dataclass(frozen=True)
class Publish:
    packet_id: str


@dataclass(frozen=True)
class PutBack:
    packet_id: str
    why: str  # "ack_timeout" | "reconnected" | "controller_back"


@dataclass(frozen=True)
class Settle:
    packet_id: str
    status: AckStatus
    reason_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Quarantine:
    packet_id: str
    reason_id: str
    reason: str


Action = Publish | PutBack | Settle | Quarantine


@dataclass
class _InFlight:
    size: int
    sent_at: float


@dataclass
class Delivery:
    settings: DeliverySettings
    connected: bool = False
    #: Each controller replica's last known status: (online, since).
    controllers: dict[str, tuple[bool, float]] = field(default_factory=dict)
    _window: dict[str, _InFlight] = field(default_factory=dict)
    _tokens: float = 0.0
    _token_time: float | None = None

    # -- what the uplink asks ------------------------------------------------------
    @property
    def in_flight(self) -> tuple[str, ...]:
        return tuple(self._window)

    def room(self) -> tuple[int, int]:
        """How many more packets, and bytes, the window takes now (0, 0 while disconnected or no controller)."""
        if not self.connected or not self.controller_online:
            return 0, 0
        used = sum(f.size for f in self._window.values())
        n = self.settings.window - len(self._window)
        if n <= 0 or (self._window and used >= self.settings.window_bytes):
            return 0, 0
        return n, max(self.settings.window_bytes - used, 1)

    # -- events ------------------------------------------------------------------
    def on_connected(self) -> list[Action]:
        self.connected = True
        return self._put_back_all("reconnected")

    def on_disconnected(self) -> list[Action]:
        self.connected = False
        return []

    @property
    def controller_online(self) -> bool | None:
        """Is any controller replica online (None before the first status)?"""
        return any(online for online, _ in self.controllers.values()) if self.controllers else None

    def on_controller_status(self, controller_id: str, online: bool, since: float = 0.0) -> list[Action]:
        before = self.controllers.get(controller_id)
        self.controllers[controller_id] = (online, since)
        if before is None or before == (online, since):
            return []
        return self._put_back_all("controller_back" if online else "controller_gone")

    def offer(self, candidates: Iterable[Candidate], now: float) -> list[Action]:
        """Publish what fits of ``candidates`` (the oldest PENDING packets); quarantine what never can."""
        actions: list[Action] = []
        n, room_bytes = self.room()
        limit = self.settings.max_packet_bytes
        for c in candidates:
            if c.packet_id in self._window:
                continue
            if c.size > limit:
                actions.append(Quarantine(c.packet_id, "too_large",
                                          f"packet is {c.size} bytes, larger than the broker limit of {limit} bytes"))
                continue
            if n <= 0 or (self._window and c.size > room_bytes) or not self._take_tokens(c.size, now):
                break
            self._window[c.packet_id] = _InFlight(c.size, now)
            actions.append(Publish(c.packet_id))
            n, room_bytes = n - 1, room_bytes - c.size
        return actions

    def publish_failed(self, packet_id: str) -> None:
        """The link would not take it (the connection just went): it stays PENDING in the outbox."""
        self._window.pop(packet_id, None)

    def on_ack(self, packet_id: str, status: AckStatus, reason_id: str = "", reason: str = "") -> list[Action]:
        self._window.pop(packet_id, None)
        return [Settle(packet_id, status, reason_id, reason)]

    def on_tick(self, now: float) -> list[Action]:
        late = [pid for pid, f in self._window.items() if now - f.sent_at >= self.settings.ack_timeout_s]
        for pid in late:
            del self._window[pid]
        return [PutBack(pid, "ack_timeout") for pid in late]

    # -- internals -----------------------------------------------------------------
    def _put_back_all(self, why: str) -> list[Action]:
        actions: list[Action] = [PutBack(pid, why) for pid in self._window]
        self._window.clear()
        return actions

    def _take_tokens(self, size: int, now: float) -> bool:
        rate = self.settings.drain_bytes_per_s
        if rate <= 0:
            return True
        if self._token_time is None:
            self._token_time, self._tokens = now, float(max(rate, size))
        self._tokens = min(self._tokens + (now - self._token_time) * rate, float(max(rate, size)))
        self._token_time = now
        if self._tokens < size:
            return False
        self._tokens -= size
        return True

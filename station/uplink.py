"""The station's MQTT side: state, telemetry, packets out; acks, assignments, commands in.

The uplink talks to the broker only through an :class:`adapters.link.Link`
(paho in the field, :class:`adapters.mocklink.MockLink` in tests) and decides
nothing about delivery itself: :class:`station.delivery.Delivery` does, and
this module carries out its actions against the outbox and the link.

Threads and their jobs:

* the link's network thread only enqueues what arrives;
* the uplink's worker thread owns the delivery machine and the outbox side
  of delivery, and feeds the machine a tick every 0.2 s;
* commands run on a third thread, so a long self-test cannot delay acks.

Other rules:

* The session is persistent (clean session false), so acks and commands
  published while the station is away are waiting when it returns. The
  controllers' status is taken at QoS 0 so that session queues none of its
  history: a return sees the retained present, and replaying old ups and
  downs would send whole windows again.
* Each connection carries a number, counted on disk. The retained state and
  the last will both carry it, so a will the broker delivers after the
  station has reconnected can be told apart, and the station re-asserts its
  online state if it sees such a stale will retained on its own topic.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from adapters.errors import LinkError
from adapters.link import Inbound, Link, LinkSettings, PahoLink, Will
from protocol import messages, topics
from protocol.messages import AckStatus, AssignmentUpdate, Command, CommandReply, State, Telemetry
from station.config import MqttSettings
from station.delivery import Candidate, Delivery, DeliverySettings, Publish, PutBack, Quarantine, Settle
from station.errors import UplinkError
from station.outbox import AckOutcome, Outbox

log = logging.getLogger(__name__)

TICK_S = 0.2


class Lifecycle(Enum):
    UNSTARTED = "unstarted"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(frozen=True)
class UplinkStatus:
    connected: bool
    connection: int
    controller_online: bool | None
    last_connected_at: float | None
    published: int
    acked: int
    rejected: int
    in_flight: int


class _Ev(Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    MESSAGE = "message"
    WAKE = "wake"
    STOP = "stop"


def link_settings(station_id: str, s: MqttSettings) -> LinkSettings:
    return LinkSettings(host=s.host, port=s.port, client_id=station_id, keepalive_s=s.keepalive_s,
                        clean_session=False, tls=s.tls, ca_file=s.ca_file, cert_file=s.cert_file,
                        key_file=s.key_file, reconnect_min_s=s.reconnect_min_s, reconnect_max_s=s.reconnect_max_s,
                        max_inflight=s.window + 4, strip_prefix=s.mount_point)


class Uplink:
    def __init__(
        self,
        station_id: str,
        settings: MqttSettings,
        outbox: Outbox,
        *,
        link: Link | None = None,
        version: str = "",
        drivers: Callable[[], dict[str, str]] = dict,
        telemetry: Callable[[int], Telemetry] | None = None,
        on_assignment: Callable[[AssignmentUpdate], None] | None = None,
        on_command: Callable[[Command], CommandReply] | None = None,
        on_ack: Callable[[str, AckStatus, AckOutcome], None] | None = None,
        on_certificate: Callable[[messages.CertificateUpdate], None] | None = None,
        on_status: Callable[[messages.CentralStatuses], None] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.station_id = topics.check_station_id(station_id)
        self.settings = settings
        self.outbox = outbox
        self._version = version
        self._drivers = drivers
        self._telemetry = telemetry
        self._on_assignment = on_assignment
        self._on_command = on_command
        self._on_ack = on_ack
        self._on_certificate = on_certificate
        self._on_status = on_status
        self._clock = clock
        self._monotonic = monotonic
        self._events: queue.Queue[tuple[_Ev, Any]] = queue.Queue()
        self._lifecycle = Lifecycle.UNSTARTED
        self._connection = 0
        self._last_connected_at: float | None = None
        self._published = self._acked = self._rejected = 0
        self._next_telemetry = 0.0
        self._delivery = Delivery(DeliverySettings(
            window=settings.window, window_bytes=settings.window_bytes, max_packet_bytes=settings.max_packet_bytes,
            ack_timeout_s=settings.ack_timeout_s, drain_bytes_per_s=settings.drain_bytes_per_s))
        self._worker: threading.Thread | None = None
        self._commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uplink-cmd")
        try:
            self.link = link or PahoLink(link_settings(station_id, settings))
        except LinkError as exc:
            raise UplinkError(str(exc)) from exc
        self.link.will = self._will
        self.link.on_connect = self._cb_connect
        self.link.on_disconnect = lambda reason: self._events.put((_Ev.DISCONNECTED, reason))
        self.link.on_message = lambda msg: self._events.put((_Ev.MESSAGE, msg))

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "Uplink":
        if self._lifecycle is not Lifecycle.UNSTARTED:
            raise UplinkError(f"uplink is {self._lifecycle.value}; create a new one to start again")
        self._lifecycle = Lifecycle.RUNNING
        self._worker = threading.Thread(target=self._work, name="uplink", daemon=True)
        self._worker.start()
        log.info("connecting to %s:%d; enrolling and sealing go on meanwhile", self.settings.host, self.settings.port)
        try:
            self.link.open()
            self.link.subscribe([(topics.station(self.station_id, leaf), 1)
                                 for leaf in (topics.Leaf.ACKS, topics.Leaf.ASSIGNMENT, topics.Leaf.CMD,
                                              topics.Leaf.STATE, topics.Leaf.CERTIFICATE, topics.Leaf.STATUS)]
                                # QoS 0: a persistent session queues no history of
                                # it while away, so a reconnect sees only the retained
                                # present, not stale ups and downs that resend the window
                                + [(topics.ALL_CONTROLLER_STATUS, 0)])
        except LinkError as exc:
            self.stop()
            raise UplinkError(f"cannot start the uplink to {self.settings.host}:{self.settings.port}: {exc}") \
                from exc
        return self

    def stop(self, timeout: float = 5.0, *, abrupt: bool = False) -> None:
        """Say goodbye (retained offline state), then stop every thread.

        If the goodbye is not confirmed in time (or ``abrupt``: the demo's
        "network lost"), the connection is dropped without DISCONNECT so the
        broker publishes the last will: a clean disconnect would suppress it and
        leave the controller believing the station is still online.
        """
        if self._lifecycle is not Lifecycle.RUNNING:
            self._lifecycle = Lifecycle.STOPPED
            return
        self._lifecycle = Lifecycle.STOPPED
        said_goodbye = False
        if self.link.connected and not abrupt:
            said_goodbye = self.link.publish_confirmed(
                topics.station(self.station_id, topics.Leaf.STATE), messages.encode(self._state(online=False)),
                qos=1, retain=True, timeout=min(timeout, 2.0))
        self._events.put((_Ev.STOP, None))
        if self._worker is not None:
            self._worker.join(timeout)
        self._commands.shutdown(wait=False, cancel_futures=True)
        self.link.close(abrupt=not said_goodbye)

    def __enter__(self) -> "Uplink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wake(self) -> None:
        """A new packet is in the outbox: send it without waiting for the next tick."""
        self._events.put((_Ev.WAKE, None))

    def wait_connected(self, timeout: float) -> bool:
        return self.link.wait_connected(timeout)

    @property
    def alive(self) -> bool:
        """The worker is running (what the systemd watchdog vouches for)."""
        return self._worker is not None and self._worker.is_alive()

    @property
    def status(self) -> UplinkStatus:
        return UplinkStatus(
            connected=self.link.connected,
            connection=self._connection,
            controller_online=self._delivery.controller_online,
            last_connected_at=self._last_connected_at,
            published=self._published,
            acked=self._acked,
            rejected=self._rejected,
            in_flight=len(self._delivery.in_flight),
        )

    # -- link callbacks (network thread: only enqueue, or publish) -------------
    def _will(self) -> Will:
        # A new number for each attempt, set into the will before CONNECT is sent; a
        # disk error costs only the number's persistence, never the connection.
        try:
            self._connection = self.outbox.bump_counter("connection")
        except Exception:
            log.exception("could not count this connection on disk; counting in memory")
            self._connection += 1
        return Will(topics.station(self.station_id, topics.Leaf.STATE), messages.encode(self._state(online=False)))

    def _cb_connect(self, connection: int) -> None:
        self.link.publish(topics.station(self.station_id, topics.Leaf.STATE),
                          messages.encode(self._state(online=True)), qos=1, retain=True)
        self._events.put((_Ev.CONNECTED, self._connection))

    # -- the worker ----------------------------------------------------------
    def _work(self) -> None:
        while True:
            try:
                kind, data = self._events.get(timeout=TICK_S)
            except queue.Empty:
                kind, data = _Ev.WAKE, None
            if kind is _Ev.STOP:
                return
            try:
                self._handle(kind, data)
                self._apply(self._delivery.on_tick(self._monotonic()))
                self._fill_window()
                self._maybe_telemetry()
            except Exception:  # one bad message or a transient disk error must not end the uplink
                log.exception("uplink worker: error handling %s", kind.value)

    def _handle(self, kind: _Ev, data: Any) -> None:
        if kind is _Ev.CONNECTED:
            self._last_connected_at = self._clock()
            self._next_telemetry = 0.0
            log.info("connected to %s:%s (connection %d)", self.settings.host, self.settings.port, data)
            self._apply(self._delivery.on_connected())
        elif kind is _Ev.DISCONNECTED:
            log.warning("disconnected from broker: %s", data)
            self._apply(self._delivery.on_disconnected())
        elif kind is _Ev.MESSAGE:
            self._dispatch(data)

    def _apply(self, actions) -> None:
        for a in actions:
            if isinstance(a, PutBack):
                if self.outbox.put_back(a.packet_id) and a.why != "ack_timeout":
                    log.info("packet %s sent again (%s)", a.packet_id, a.why.replace("_", " "))
            elif isinstance(a, Settle):
                self._settle(a)
            elif isinstance(a, Quarantine):
                self.outbox.quarantine_unsendable(a.packet_id, a.reason_id, a.reason)
                log.error("packet %s quarantined: %s", a.packet_id, a.reason)

    def _fill_window(self) -> None:
        n, room = self._delivery.room()
        if n <= 0:
            return
        items = {i.packet_id: i for i in self.outbox.take_for_sending(n, room)}
        actions = self._delivery.offer([Candidate(i.packet_id, i.size) for i in items.values()], self._monotonic())
        for a in actions:
            if isinstance(a, Publish):
                ok = self.link.publish(topics.station(self.station_id, topics.Leaf.PACKETS),
                                       items[a.packet_id].payload, qos=1)
                if not ok:
                    self._delivery.publish_failed(a.packet_id)  # the connection went: it stays PENDING
                    continue
                self.outbox.mark_sent(a.packet_id)
                self._published += 1
        self._apply(a for a in actions if not isinstance(a, Publish))

    def _settle(self, a: Settle) -> None:
        outcome = self.outbox.on_ack(a.packet_id, a.status, a.reason_id, a.reason)
        if outcome is AckOutcome.REMOVED:
            self._acked += 1
        elif outcome is AckOutcome.QUARANTINED:
            self._rejected += 1
            log.warning("controller rejected packet %s: %s (%s)", a.packet_id, a.reason_id, a.reason)
        if self._on_ack is not None:
            self._on_ack(a.packet_id, a.status, outcome)

    def _dispatch(self, msg: Inbound) -> None:
        controller_id = topics.controller_of_status(msg.topic)
        if controller_id is not None:
            if not msg.payload:
                return  # a cleared status: a replica taken out of service for good
            try:
                status = messages.decode(messages.ControllerStatus, msg.payload)
            except messages.MessageError as exc:
                log.warning("ignoring bad controller status: %s", exc)
                return
            self._apply(self._delivery.on_controller_status(controller_id, status.online, status.since))
            return
        try:
            leaf = topics.parse(msg.topic).leaf
        except topics.TopicError:
            log.warning("ignoring message on unexpected topic %s", msg.topic)
            return
        try:
            if leaf is topics.Leaf.ACKS:
                ack = messages.decode(messages.Ack, msg.payload)
                self._apply(self._delivery.on_ack(ack.packet_id, ack.status, ack.reason_id, ack.reason))
            elif leaf is topics.Leaf.ASSIGNMENT:
                if msg.payload and self._on_assignment is not None:
                    self._on_assignment(messages.decode(AssignmentUpdate, msg.payload))
            elif leaf is topics.Leaf.CMD:
                self._handle_command(messages.decode(Command, msg.payload))
            elif leaf is topics.Leaf.STATE:
                self._guard_own_state(msg.payload)
            elif leaf is topics.Leaf.CERTIFICATE:
                if msg.payload and self._on_certificate is not None:
                    self._on_certificate(messages.decode(messages.CertificateUpdate, msg.payload))
            elif leaf is topics.Leaf.STATUS:
                if self._on_status is not None:
                    self._on_status(messages.decode(messages.CentralStatuses, msg.payload))
        except messages.MessageError as exc:
            log.warning("ignoring bad %s message: %s", leaf.value, exc)

    def _handle_command(self, cmd: Command) -> None:
        if self._on_command is None:
            self._publish_reply(CommandReply(cmd.command_id, self.station_id, False,
                                             error="station does not take commands"))
            return

        def run() -> None:
            try:
                reply = self._on_command(cmd)  # type: ignore[misc]
            except Exception as exc:  # a failing command is reported, never fatal
                log.exception("command %s failed", cmd.name.value)
                reply = CommandReply(cmd.command_id, self.station_id, False, error=str(exc))
            self._publish_reply(reply)

        self._commands.submit(run)

    def _publish_reply(self, reply: CommandReply) -> None:
        if not self.link.publish(topics.station(self.station_id, topics.Leaf.CMD_REPLY), messages.encode(reply),
                                 qos=1):
            log.warning("could not send the reply to command %s: not connected", reply.command_id)

    def _guard_own_state(self, payload: bytes) -> None:
        if not payload:
            return
        state = messages.decode(State, payload)
        if not state.online and state.connection < self._connection and self.link.connected:
            log.info("stale will from connection %d retained; re-asserting online", state.connection)
            self.link.publish(topics.station(self.station_id, topics.Leaf.STATE),
                              messages.encode(self._state(online=True)), qos=1, retain=True)

    def _maybe_telemetry(self) -> None:
        if self._telemetry is None or not self.link.connected:
            return
        now = self._monotonic()
        if now < self._next_telemetry:
            return
        self._next_telemetry = now + self.settings.telemetry_interval_s
        msg = self._telemetry(self._connection)
        self.link.publish(topics.station(self.station_id, topics.Leaf.TELEMETRY), messages.encode(msg), qos=0)

    def _state(self, online: bool) -> State:
        return State(self.station_id, online, self._connection, self._version, self._drivers(), self._clock())

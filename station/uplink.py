"""The station's MQTT side: state, telemetry, packets out; acks, assignments, commands in.

paho-mqtt runs its network thread; nothing slow happens on it. Every inbound
message and connection change becomes an event on a queue served by the
uplink's own worker thread, which owns the send window; commands run on a
third thread so a long self-test cannot delay acks.

Delivery rules:

* Packets go out oldest first, QoS 1, at most ``window`` (and ``window_bytes``)
  published and not yet acked by the controller. A packet with no controller
  ack after ``ack_timeout_s`` is put back and sent again (the controller
  answers ``duplicate`` if it already had it).
* A packet bigger than ``max_packet_bytes`` is never published (a broker
  drops it or disconnects us, and paho would resend it forever); it goes to
  quarantine with the reason.
* The session is persistent (clean_session false), so acks and commands
  published while the station is away are waiting when it returns.
* Each connection carries a number, counted on disk. The retained state and
  the last will both carry it, so a will the broker delivers after the
  station has reconnected can be told apart, and the station re-asserts its
  online state if it sees such a stale will retained on its own topic.

paho and socket errors are translated into :class:`UplinkError` here only.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

import paho.mqtt.client as mqtt

from protocol import messages, topics
from protocol.messages import (
    AckStatus,
    AssignmentUpdate,
    Command,
    CommandReply,
    State,
    Telemetry,
)
from station.config import MqttSettings
from station.errors import UplinkError
from station.outbox import AckOutcome, Outbox

log = logging.getLogger(__name__)


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


class _Ev(Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    MESSAGE = "message"
    WAKE = "wake"
    STOP = "stop"


class Uplink:
    def __init__(
        self,
        station_id: str,
        settings: MqttSettings,
        outbox: Outbox,
        *,
        version: str = "",
        drivers: Callable[[], dict[str, str]] = dict,
        telemetry: Callable[[int], Telemetry] | None = None,
        on_assignment: Callable[[AssignmentUpdate], None] | None = None,
        on_command: Callable[[Command], CommandReply] | None = None,
        on_ack: Callable[[str, AckStatus, AckOutcome], None] | None = None,
        clock: Callable[[], float] = time.time,
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
        self._clock = clock
        self._events: queue.Queue[tuple[_Ev, Any]] = queue.Queue()
        self._lifecycle = Lifecycle.UNSTARTED
        self._connected = threading.Event()
        self._connection = 0
        self._controller_online: bool | None = None
        self._last_connected_at: float | None = None
        self._published = self._acked = self._rejected = 0
        self._next_telemetry = 0.0
        self._tokens = 0.0
        self._token_time = time.monotonic()
        self._worker: threading.Thread | None = None
        self._commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uplink-cmd")
        self._client = self._make_client()

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "Uplink":
        if self._lifecycle is not Lifecycle.UNSTARTED:
            raise UplinkError(f"uplink is {self._lifecycle.value}; create a new one to start again")
        self._lifecycle = Lifecycle.RUNNING
        self._worker = threading.Thread(target=self._work, name="uplink", daemon=True)
        self._worker.start()
        try:
            self._client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s)
            self._client.loop_start()
        except (OSError, ValueError, mqtt.WebsocketConnectionError) as exc:
            self.stop()
            raise UplinkError(f"cannot start MQTT client for {self.settings.host}:{self.settings.port}: {exc}") from exc
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
        if self._connected.is_set() and not abrupt:
            try:
                info = self._client.publish(
                    topics.station(self.station_id, topics.Leaf.STATE),
                    messages.encode(self._state(online=False)), qos=1, retain=True)
                info.wait_for_publish(timeout=min(timeout, 2.0))
                said_goodbye = info.is_published()
            except (RuntimeError, ValueError, OSError):
                said_goodbye = False
        self._events.put((_Ev.STOP, None))
        if self._worker is not None:
            self._worker.join(timeout)
        self._commands.shutdown(wait=False, cancel_futures=True)
        if said_goodbye:
            try:
                self._client.disconnect()
            finally:
                self._client.loop_stop()
            return
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> "Uplink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wake(self) -> None:
        """A new packet is in the outbox: send it without waiting for the next tick."""
        self._events.put((_Ev.WAKE, None))

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    @property
    def alive(self) -> bool:
        """The worker is running (what the systemd watchdog vouches for)."""
        return self._worker is not None and self._worker.is_alive()

    @property
    def status(self) -> UplinkStatus:
        return UplinkStatus(
            connected=self._connected.is_set(),
            connection=self._connection,
            controller_online=self._controller_online,
            last_connected_at=self._last_connected_at,
            published=self._published,
            acked=self._acked,
            rejected=self._rejected,
        )

    # -- paho callbacks (network thread: only enqueue) -------------------------
    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.station_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        client.reconnect_delay_set(min_delay=s.reconnect_min_s, max_delay=s.reconnect_max_s)  # type: ignore[arg-type]
        client.max_inflight_messages_set(max(s.window, 1) + 4)
        client.max_queued_messages_set(0)
        if s.tls:
            try:
                client.tls_set(
                    ca_certs=str(s.ca_file), certfile=str(s.cert_file), keyfile=str(s.key_file),
                    tls_version=ssl.PROTOCOL_TLS_CLIENT,
                )
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise UplinkError(f"TLS files unusable ({s.ca_file}, {s.cert_file}, {s.key_file}): {exc}") from exc
        client.on_pre_connect = self._cb_pre_connect
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        return client

    def _cb_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        # A new number for each attempt, set into the will before CONNECT is sent. An
        # exception here would end paho's thread for good, so a disk error costs only
        # the number's persistence, never the connection.
        try:
            self._connection = self.outbox.bump_counter("connection")
        except Exception:
            log.exception("could not count this connection on disk; counting in memory")
            self._connection += 1
        client.will_set(
            topics.station(self.station_id, topics.Leaf.STATE),
            messages.encode(self._state(online=False)), qos=1, retain=True)

    def _cb_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker refused connection: %s", reason_code)
            return
        subs = [(topics.station(self.station_id, leaf), 1)
                for leaf in (topics.Leaf.ACKS, topics.Leaf.ASSIGNMENT, topics.Leaf.CMD, topics.Leaf.STATE)]
        subs.append((topics.CONTROLLER_STATUS, 1))
        client.subscribe(subs)
        client.publish(topics.station(self.station_id, topics.Leaf.STATE),
                       messages.encode(self._state(online=True)), qos=1, retain=True)
        self._connected.set()
        self._events.put((_Ev.CONNECTED, self._connection))

    def _cb_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        self._events.put((_Ev.DISCONNECTED, str(reason_code)))

    def _cb_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        self._events.put((_Ev.MESSAGE, (msg.topic, bytes(msg.payload))))

    # -- the worker ----------------------------------------------------------
    def _work(self) -> None:
        tick = 0.2
        while True:
            try:
                kind, data = self._events.get(timeout=tick)
            except queue.Empty:
                kind, data = _Ev.WAKE, None
            if kind is _Ev.STOP:
                return
            try:
                self._handle(kind, data)
                if self._connected.is_set():
                    self._expire_unacked()
                    self._fill_window()
                    self._maybe_telemetry()
            except Exception:  # one bad message or a transient disk error must not end the uplink
                log.exception("uplink worker: error handling %s", kind.value)

    def _handle(self, kind: _Ev, data: Any) -> None:
        if kind is _Ev.CONNECTED:
            self._last_connected_at = self._clock()
            self._next_telemetry = 0.0
            log.info("connected to %s:%s (connection %d)", self.settings.host, self.settings.port, data)
        elif kind is _Ev.DISCONNECTED:
            log.warning("disconnected from broker: %s", data)
        elif kind is _Ev.MESSAGE:
            self._dispatch(*data)

    def _dispatch(self, topic: str, payload: bytes) -> None:
        if topic == topics.CONTROLLER_STATUS:
            try:
                self._controller_online = messages.decode(messages.ControllerStatus, payload).online
            except messages.MessageError as exc:
                log.warning("ignoring bad controller status: %s", exc)
            return
        try:
            leaf = topics.parse(topic).leaf
        except topics.TopicError:
            log.warning("ignoring message on unexpected topic %s", topic)
            return
        try:
            if leaf is topics.Leaf.ACKS:
                self._handle_ack(messages.decode(messages.Ack, payload))
            elif leaf is topics.Leaf.ASSIGNMENT:
                if payload and self._on_assignment is not None:
                    self._on_assignment(messages.decode(AssignmentUpdate, payload))
            elif leaf is topics.Leaf.CMD:
                self._handle_command(messages.decode(Command, payload))
            elif leaf is topics.Leaf.STATE:
                self._guard_own_state(payload)
        except messages.MessageError as exc:
            log.warning("ignoring bad %s message: %s", leaf.value, exc)

    def _handle_ack(self, ack: messages.Ack) -> None:
        outcome = self.outbox.on_ack(ack.packet_id, ack.status, ack.reason_id, ack.reason)
        if outcome is AckOutcome.REMOVED:
            self._acked += 1
        elif outcome is AckOutcome.QUARANTINED:
            self._rejected += 1
            log.warning("controller rejected packet %s: %s (%s)", ack.packet_id, ack.reason_id, ack.reason)
        if self._on_ack is not None:
            self._on_ack(ack.packet_id, ack.status, outcome)

    def _handle_command(self, cmd: Command) -> None:
        if self._on_command is None:
            reply = CommandReply(cmd.command_id, self.station_id, False, error="station does not take commands")
            self._publish_reply(reply)
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
        self._client.publish(topics.station(self.station_id, topics.Leaf.CMD_REPLY), messages.encode(reply), qos=1)

    def _guard_own_state(self, payload: bytes) -> None:
        if not payload:
            return
        state = messages.decode(State, payload)
        if not state.online and state.connection < self._connection and self._connected.is_set():
            log.info("stale will from connection %d retained; re-asserting online", state.connection)
            self._client.publish(topics.station(self.station_id, topics.Leaf.STATE),
                                 messages.encode(self._state(online=True)), qos=1, retain=True)

    def _expire_unacked(self) -> None:
        n = self.outbox.requeue_unacked(older_than=self._clock() - self.settings.ack_timeout_s)
        if n:
            log.info("%d packet(s) not acked within %.0f s; sending again", n, self.settings.ack_timeout_s)

    def _fill_window(self) -> None:
        s = self.settings
        in_flight = self.outbox.in_flight()
        free = s.window - len(in_flight)
        free_bytes = s.window_bytes - sum(size for _, _, size in in_flight)
        if free <= 0 or (in_flight and free_bytes <= 0):
            return
        for item in self.outbox.take_for_sending(free, max(free_bytes, 1)):
            if item.size > s.max_packet_bytes:
                self.outbox.quarantine_too_large(item.packet_id, s.max_packet_bytes)
                log.error("packet %s is %d bytes, over the broker limit %d: quarantined",
                          item.packet_id, item.size, s.max_packet_bytes)
                continue
            if not self._take_tokens(item.size):
                return
            info = self._client.publish(
                topics.station(self.station_id, topics.Leaf.PACKETS), item.payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return  # connection dropped under us; the packet stays pending
            self.outbox.mark_sent(item.packet_id)
            self._published += 1

    def _take_tokens(self, size: int) -> bool:
        rate = self.settings.drain_bytes_per_s
        if rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self._tokens + (now - self._token_time) * rate, max(rate, size))
        self._token_time = now
        if self._tokens < size:
            return False
        self._tokens -= size
        return True

    def _maybe_telemetry(self) -> None:
        if self._telemetry is None:
            return
        now = time.monotonic()
        if now < self._next_telemetry:
            return
        self._next_telemetry = now + self.settings.telemetry_interval_s
        msg = self._telemetry(self._connection)
        self._client.publish(topics.station(self.station_id, topics.Leaf.TELEMETRY), messages.encode(msg), qos=0)

    def _state(self, online: bool) -> State:
        return State(self.station_id, online, self._connection, self._version, self._drivers(), self._clock())

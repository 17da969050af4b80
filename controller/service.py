"""The controller's long-running MQTT side: ingest, fleet, assignments, status.

Threads and their jobs:

* paho's network thread only enqueues what arrives;
* the ingest worker takes packets in batches, runs :class:`controller.ingest.Ingest`,
  publishes the acks, and only then sends the MQTT PUBACKs (manual acks), so a
  controller that dies mid-batch leaves those packets with the broker, which
  redelivers them; stations also resend anything not acked in time;
* the fleet worker applies state and telemetry and checks alarms on a timer.

Packets arrive through the shared subscription so several controllers split
them; state and telemetry come to every controller (applying them twice is
harmless). The controller's own retained status has a last will, so stations
know when it is away. :meth:`ControllerService.stop` (SIGTERM) stops taking
new packets, finishes the ones in hand, then says goodbye.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Callable

import paho.mqtt.client as mqtt

from adapters.version import VERSION
from controller.config import ControllerConfig
from controller.errors import ControllerError
from controller.fleet import Fleet
from controller.ingest import Ingest
from controller.store import Store
from protocol import messages, topics
from protocol.keys import ControllerKeys
from protocol.messages import AssignmentUpdate, ControllerStatus

log = logging.getLogger(__name__)


@dataclass
class IngestCounts:
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class _Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class ControllerService:
    def __init__(
        self,
        config: ControllerConfig,
        store: Store,
        keys: ControllerKeys,
        *,
        assigned_today: Callable[[], set[str]] = set,
        on_tick: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.ingest = Ingest(store, keys, max_packet_bytes=config.ingest.max_packet_bytes,
                             controller_id=config.controller_id)
        self.fleet = Fleet(store, config.fleet, clock=clock)
        self.counts = IngestCounts()
        self._assigned_today = assigned_today
        self._on_tick = on_tick
        self._clock = clock
        self._packets: queue.Queue[_Inbound | None] = queue.Queue()
        self._fleet_q: queue.Queue[tuple[str, bytes, float] | None] = queue.Queue()
        self._generation = 0
        self._connected = threading.Event()
        self._accepting = True
        self._started = False
        self._idle = threading.Condition()
        self._busy = 0
        self._ingest_threads: list[threading.Thread] = []
        self._fleet_thread: threading.Thread | None = None
        self._stop_fleet = threading.Event()
        self._client = self._make_client()

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> "ControllerService":
        if self._started:
            raise ControllerError("controller service already started")
        self._started = True
        # Several ingest workers: while one waits on the disk (fsync releases the GIL)
        # another verifies and decrypts; the store serialises the writes.
        for i in range(self.config.ingest.workers):
            t = threading.Thread(target=self._ingest_loop, name=f"controller-ingest-{i}", daemon=True)
            t.start()
            self._ingest_threads.append(t)
        self._fleet_thread = threading.Thread(target=self._fleet_loop, name="controller-fleet", daemon=True)
        self._fleet_thread.start()
        m = self.config.mqtt
        try:
            self._client.connect_async(m.host, m.port, keepalive=m.keepalive_s)
            self._client.loop_start()
        except (OSError, ValueError) as exc:
            raise ControllerError(f"cannot start MQTT client for {m.host}:{m.port}: {exc}") from exc
        return self

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking packets, finish those in hand, publish offline status, disconnect."""
        if not self._started:
            return
        self._accepting = False
        if self._connected.is_set():
            try:
                self._client.unsubscribe(topics.shared_packets(self.config.mqtt.share_group))
            except (ValueError, OSError):
                pass
        for _ in self._ingest_threads:
            self._packets.put(None)
        for t in self._ingest_threads:
            t.join(timeout)
        self._stop_fleet.set()
        self._fleet_q.put(None)
        if self._fleet_thread is not None:
            self._fleet_thread.join(timeout)
        if self._connected.is_set():
            info = self._client.publish(topics.CONTROLLER_STATUS, messages.encode(self._status(False)), qos=1,
                                        retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self._started = False

    def __enter__(self) -> "ControllerService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no packet is queued or being processed (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy or not self._packets.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.1))
        return True

    # -- publishing ------------------------------------------------------------
    def publish_assignment(self, update: AssignmentUpdate) -> None:
        self._client.publish(topics.station(update.station_id, topics.Leaf.ASSIGNMENT), messages.encode(update),
                             qos=1, retain=True)

    def publish_command(self, station_id: str, command: messages.Command) -> None:
        self._client.publish(topics.station(station_id, topics.Leaf.CMD), messages.encode(command), qos=1)

    # -- paho ------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        m = self.config.mqtt
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.config.controller_id,
                             clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
        client.reconnect_delay_set(1, 30)
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(100)
        if m.tls:
            try:
                client.tls_set(ca_certs=str(m.ca_file), certfile=str(m.cert_file), keyfile=str(m.key_file),
                               tls_version=ssl.PROTOCOL_TLS_CLIENT)
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise ControllerError(f"TLS files unusable: {exc}") from exc
        client.will_set(topics.CONTROLLER_STATUS, messages.encode(self._status(False)), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _status(self, online: bool) -> ControllerStatus:
        return ControllerStatus(self.config.controller_id, online, self._clock(), VERSION)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the controller: %s", reason_code)
            return
        self._generation += 1
        subs = [(topics.all_stations(leaf), 1) for leaf in (topics.Leaf.STATE, topics.Leaf.TELEMETRY,
                                                            topics.Leaf.CMD_REPLY)]
        if self._accepting:
            subs.append((topics.shared_packets(self.config.mqtt.share_group), 1))
        client.subscribe(subs)
        client.publish(topics.CONTROLLER_STATUS, messages.encode(self._status(True)), qos=1, retain=True)
        self._connected.set()
        log.info("controller %s connected (generation %d)", self.config.controller_id, self._generation)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        log.warning("controller disconnected: %s", reason_code)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/" + topics.Leaf.PACKETS.value):
            with self._idle:
                self._packets.put(_Inbound(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self._generation))
        else:
            self._fleet_q.put((msg.topic, bytes(msg.payload), self._clock()))
            if msg.qos:
                client.ack(msg.mid, msg.qos)

    # -- workers -----------------------------------------------------------------
    def _ingest_loop(self) -> None:
        """Take packets in batches until a None says stop (one None per worker)."""
        cfg = self.config.ingest
        while True:
            first = self._packets.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + cfg.batch_wait_s
            while len(batch) < cfg.batch_size:
                try:
                    item = self._packets.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self._packets.put(None)  # not ours to take mid-batch: seen again at the top
                    break
                batch.append(item)
            with self._idle:
                self._busy += 1
            try:
                self._handle_batch(batch)
            except Exception:
                # A store failure: no ack to the stations, so each sends its packet again after
                # its ack timeout. The broker is released (PUBACK) all the same: unacknowledged
                # messages would fill this session's in-flight window and stall the feed.
                log.exception("ingest batch of %d failed; stations will send again", len(batch))
                self._release(batch)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _handle_batch(self, batch: list[_Inbound]) -> None:
        results = self.ingest.process([(b.topic, b.payload) for b in batch])
        for r in results:
            with self._idle:
                setattr(self.counts, r.outcome, getattr(self.counts, r.outcome) + 1)
            if r.ack is not None and r.station_id is not None:
                self._client.publish(topics.station(r.station_id, topics.Leaf.ACKS), messages.encode(r.ack), qos=1)
        self._release(batch)

    def _release(self, batch: list[_Inbound]) -> None:
        """PUBACK a batch: the broker may forget it (stored, refused, or left to the stations' resend)."""
        for b in batch:
            if b.qos and b.generation == self._generation:
                self._client.ack(b.mid, b.qos)

    def _fleet_loop(self) -> None:
        """Apply state and telemetry in batches (one transaction each), check alarms on a timer."""
        interval = self.config.fleet.check_interval_s
        next_check = time.monotonic()
        while True:
            timeout = max(0.0, next_check - time.monotonic())
            try:
                first = self._fleet_q.get(timeout=timeout)
            except queue.Empty:
                first = ()
            if first is None:
                return
            batch = [first] if first else []
            while batch and len(batch) < 500:
                try:
                    item = self._fleet_q.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._fleet_q.put(None)
                    break
                batch.append(item)
            try:
                if batch:
                    with self.store.transaction():
                        for item in batch:
                            self._fleet_message(*item)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + interval
                    self.fleet.check_alarms(self._assigned_today())
                    if self._on_tick is not None:
                        self._on_tick()
            except Exception:  # one bad report never stops fleet tracking
                log.exception("fleet worker error")

    def _fleet_message(self, topic: str, payload: bytes, received_at: float) -> None:
        try:
            t = topics.parse(topic)
        except topics.TopicError:
            return
        if t.leaf is topics.Leaf.STATE:
            self.fleet.on_state(t.station_id, payload, received_at)
        elif t.leaf is topics.Leaf.TELEMETRY:
            self.fleet.on_telemetry(t.station_id, payload, received_at)
        elif t.leaf is topics.Leaf.CMD_REPLY:
            try:
                reply = messages.decode(messages.CommandReply, payload)
                log.info("station %s replied to %s: ok=%s %s", t.station_id, reply.command_id, reply.ok,
                         reply.error or reply.result)
            except messages.MessageError as exc:
                log.warning("bad command reply from %s: %s", t.station_id, exc)

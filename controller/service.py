"""The controller's long-running MQTT side: ingest, fleet, assignments, status.

It talks to the broker only through an :class:`adapters.link.Link` and
leaves batching and PUBACK-after-commit to :class:`controller.intake.Intake`.

Threads and their jobs:

* the link's network thread only enqueues what arrives;
* the intake thread owns the intake machine: it cuts batches, hands them to
  the ingest workers, publishes each batch's acks and then releases (PUBACKs)
  its messages;
* ingest workers run :class:`controller.ingest.Ingest` on a batch (verify and
  decrypt in parallel; the store serialises the writes);
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
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from adapters.errors import LinkError
from adapters.link import Inbound, Link, LinkSettings, PahoLink, Will
from adapters.version import VERSION
from controller.config import ControllerConfig
from controller.errors import ControllerError
from controller.fleet import Fleet
from controller.ingest import Ingest, IngestResult
from controller.intake import Intake, IntakeSettings, Outcome, Process, PublishAck, Release
from controller.store import Store
from protocol import messages, topics
from protocol.keys import ControllerKeys
from protocol.messages import AssignmentUpdate, ControllerStatus

log = logging.getLogger(__name__)
#: Fleet reports (state, telemetry, command replies) waiting for the fleet worker at most.
FLEET_BACKLOG = 20_000


@dataclass
class IngestCounts:
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    dropped: int = 0
    #: Not taken at all: a packet at QoS 0 (outside the protocol, and beyond the receive
    #: window's reach), or telemetry while the fleet worker is far behind.
    refused_qos0: int = 0
    telemetry_shed: int = 0


def link_settings(config: ControllerConfig) -> LinkSettings:
    """MQTT 5, a session that ends with the connection, and a bounded receive window.

    * The session expires with the connection (``mqtt.session_expiry_s`` = 0):
      a dead replica leaves the share group at once instead of keeping its
      share of the packets in a session nobody reads. The stations' outboxes
      are the durable store, not the broker; they send again what no one acked.
    * The broker sends at most ``ingest.receive_maximum`` packets that are not
      yet PUBACKed, and PUBACKs come only after the commit: flow control, so a
      burst waits at the broker and in the stations, not in this process.
    * Reconnection is retried within a couple of seconds, not half a minute:
      the stations' delivery stalls while no controller is there.
    """
    m = config.mqtt
    return LinkSettings(host=m.host, port=m.port, client_id=config.controller_id, keepalive_s=m.keepalive_s,
                        clean_session=m.session_expiry_s == 0, tls=m.tls, ca_file=m.ca_file, cert_file=m.cert_file,
                        key_file=m.key_file, reconnect_min_s=0.5, reconnect_max_s=2, manual_ack=True,
                        max_inflight=100, mqtt5=True, receive_maximum=config.ingest.receive_maximum,
                        session_expiry_s=m.session_expiry_s, topic_prefix=m.stations_mount_point)


class ControllerService:
    def __init__(
        self,
        config: ControllerConfig,
        store: Store,
        keys: ControllerKeys,
        *,
        link: Link | None = None,
        assigned_today: Callable[[], set[str]] = set,
        on_tick: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
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
        self._monotonic = monotonic
        cfg = config.ingest
        self._intake: Intake[Inbound] = Intake(IntakeSettings(cfg.batch_size, cfg.batch_wait_s, cfg.workers))
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._work: queue.Queue[Process | None] = queue.Queue()
        # Bounded: when the fleet worker is this far behind, telemetry is shed and the rest waits
        # (the network thread stops reading, and the broker holds what comes).
        self._fleet_q: queue.Queue[tuple[str, bytes, float] | None] = queue.Queue(maxsize=FLEET_BACKLOG)
        self._accepting = True
        self._started = False
        self._idle = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stop_fleet = threading.Event()
        # Listeners for the dashboard and the metrics (add before start). They run on the ingest and
        # fleet threads and must not block; one that raises is logged and the work goes on.
        #: (results of one batch, seconds it took to verify, open and store)
        self.ingest_listeners: list[Callable[[list[IngestResult], float], None]] = []
        #: (station id, "state" | "telemetry", the decoded Telemetry or None), after it was applied
        self.fleet_listeners: list[Callable[[str, str, Any], None]] = []
        #: (station id, raw cmd/reply payload, received at)
        self.reply_listeners: list[Callable[[str, bytes, float], None]] = []
        #: after each alarm check on the fleet timer
        self.tick_listeners: list[Callable[[], None]] = []
        try:
            self.link = link or PahoLink(link_settings(config))
        except LinkError as exc:
            raise ControllerError(str(exc)) from exc
        self._status_topic = topics.controller_status(config.controller_id)
        self.link.will = lambda: Will(self._status_topic, messages.encode(self._status(False)))
        self.link.on_connect = self._on_connect
        self.link.on_disconnect = lambda reason: log.warning("controller disconnected: %s", reason)
        self.link.on_message = self._on_message

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> "ControllerService":
        if self._started:
            raise ControllerError("controller service already started")
        self._started = True
        self._spawn(self._intake_loop, "controller-intake")
        for i in range(self.config.ingest.workers):
            self._spawn(self._ingest_loop, f"controller-ingest-{i}")
        self._spawn(self._fleet_loop, "controller-fleet")
        try:
            # before open: on the first connection the share group is joined before the status says
            # "online" (which makes stations resend); subscribing after could lose that race
            self.link.subscribe([(topics.all_stations(leaf), 1) for leaf in (
                topics.Leaf.STATE, topics.Leaf.TELEMETRY, topics.Leaf.CMD_REPLY)]
                + [(topics.shared_packets(self.config.mqtt.share_group), 1)])
            self.link.open()
        except LinkError as exc:
            raise ControllerError(f"cannot start the MQTT link to {self.config.mqtt.host}:"
                                  f"{self.config.mqtt.port}: {exc}") from exc
        return self

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def wait_connected(self, timeout: float) -> bool:
        return self.link.wait_connected(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking packets, finish those in hand, publish offline status, disconnect."""
        if not self._started:
            return
        self._accepting = False
        try:
            self.link.unsubscribe(topics.shared_packets(self.config.mqtt.share_group))
        except LinkError:
            pass
        self.wait_idle(timeout)
        self._events.put(("stop", None))
        for _ in range(self.config.ingest.workers):
            self._work.put(None)
        self._stop_fleet.set()
        self._fleet_q.put(None)
        for t in self._threads:
            t.join(timeout)
        if self.link.connected:
            self.link.publish_confirmed(self._status_topic, messages.encode(self._status(False)), qos=1,
                                        retain=True, timeout=2)
        self.link.close()
        self._started = False

    def __enter__(self) -> "ControllerService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no packet is queued or being processed (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while not (self._intake.idle and self._events.empty()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.1))
        return True

    # -- publishing ------------------------------------------------------------
    def publish_assignment(self, update: AssignmentUpdate) -> None:
        self.link.publish(topics.station(update.station_id, topics.Leaf.ASSIGNMENT), messages.encode(update),
                          qos=1, retain=True)

    def publish_certificate(self, update: messages.CertificateUpdate) -> bool:
        """A renewed certificate, retained, so a station that is away finds it when it returns."""
        return self.link.publish(topics.station(update.station_id, topics.Leaf.CERTIFICATE),
                                 messages.encode(update), qos=1, retain=True)

    def publish_command(self, station_id: str, command: messages.Command) -> bool:
        return self.link.publish(topics.station(station_id, topics.Leaf.CMD), messages.encode(command), qos=1)

    # -- link callbacks (network thread: only enqueue) ---------------------------
    def _status(self, online: bool) -> ControllerStatus:
        return ControllerStatus(self.config.controller_id, online, self._clock(), VERSION)

    def _on_connect(self, connection: int) -> None:
        self.link.publish(self._status_topic, messages.encode(self._status(True)), qos=1, retain=True)
        log.info("controller %s connected (connection %d)", self.config.controller_id, connection)

    def _on_message(self, msg: Inbound) -> None:
        if msg.topic.endswith("/" + topics.Leaf.PACKETS.value):
            if msg.qos == 0:  # stations publish packets at QoS 1: only those the receive window bounds
                self.counts.refused_qos0 += 1
                if self.counts.refused_qos0 == 1 or self.counts.refused_qos0 % 1000 == 0:
                    log.warning("ignored %d packet(s) published at QoS 0 (latest on %s)",
                                self.counts.refused_qos0, msg.topic)
                return
            self._events.put(("packet", msg))
            return
        report = (msg.topic, msg.payload, self._clock())
        if msg.topic.endswith("/" + topics.Leaf.TELEMETRY.value):
            try:
                self._fleet_q.put_nowait(report)
            except queue.Full:
                self.counts.telemetry_shed += 1  # QoS 0 by design: the next report replaces it
        else:
            self._fleet_q.put(report)
        self.link.ack(msg)

    # -- the intake thread: owns the machine ---------------------------------------
    def _intake_loop(self) -> None:
        while True:
            deadline = self._intake.next_deadline()
            wait = None if deadline is None else max(0.0, deadline - self._monotonic())
            try:
                kind, data = self._events.get(timeout=wait)
            except queue.Empty:
                kind, data = "tick", None
            if kind == "stop":
                return
            now = self._monotonic()
            try:
                if kind == "packet":
                    actions = self._intake.on_packet(data, now)
                elif kind == "done":
                    actions = self._intake.on_done(*data)
                elif kind == "failed":
                    actions = self._intake.on_failed(data)
                else:
                    actions = self._intake.on_tick(now)
                self._carry_out(actions)
            except Exception:  # the intake thread must outlive any one batch
                log.exception("intake error on %s", kind)
            with self._idle:
                self._idle.notify_all()

    def _carry_out(self, actions) -> None:
        for a in actions:
            if isinstance(a, Process):
                self._work.put(a)
            elif isinstance(a, PublishAck):
                self.link.publish(topics.station(a.station_id, topics.Leaf.ACKS), messages.encode(a.ack), qos=1)
            elif isinstance(a, Release):
                for m in a.messages:
                    self.link.ack(m)

    def _ingest_loop(self) -> None:
        while True:
            job = self._work.get()
            if job is None:
                return
            t0 = time.perf_counter()
            try:
                results = self.ingest.process([(m.topic, m.payload) for m in job.messages])
            except Exception:
                # A store failure: no ack to the stations, so each sends its packet again after its ack timeout.
                log.exception("ingest batch of %d failed; stations will send again", len(job.messages))
                self._events.put(("failed", job.batch_id))
                continue
            with self._idle:
                for r in results:
                    setattr(self.counts, r.outcome, getattr(self.counts, r.outcome) + 1)
            _tell(self.ingest_listeners, results, time.perf_counter() - t0)
            self._events.put(("done", (job.batch_id, [Outcome(r.station_id, r.ack) for r in results])))

    # -- the fleet thread -------------------------------------------------------------
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
                    self.apply_fleet_batch(batch)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + interval
                    self.fleet.check_alarms(self._assigned_today())
                    if self._on_tick is not None:
                        self._on_tick()
                    _tell(self.tick_listeners)
            except Exception:  # one bad report never stops fleet tracking
                log.exception("fleet worker error")

    def apply_fleet_batch(self, batch: list[tuple[str, bytes, float]]) -> int:
        """State and telemetry in one transaction (one fsync), each report under its own savepoint:
        a report that fails costs only itself, never the other stations' updates. Returns the failures."""
        failed = 0
        with self.store.transaction():
            for topic, payload, received_at in batch:
                try:
                    with self.store.savepoint():
                        self._fleet_message(topic, payload, received_at)
                except Exception as exc:
                    failed += 1
                    log.warning("fleet report on %s refused: %s", topic, exc.__class__.__name__)
        return failed

    def _fleet_message(self, topic: str, payload: bytes, received_at: float) -> None:
        try:
            t = topics.parse(topic)
        except topics.TopicError:
            return
        if t.leaf is topics.Leaf.STATE:
            if self.fleet.on_state(t.station_id, payload, received_at):
                _tell(self.fleet_listeners, t.station_id, "state", None)
        elif t.leaf is topics.Leaf.TELEMETRY:
            tel = self.fleet.on_telemetry(t.station_id, payload, received_at)
            if tel is not None:
                _tell(self.fleet_listeners, t.station_id, "telemetry", tel)
        elif t.leaf is topics.Leaf.CMD_REPLY:
            if not self.fleet.accepts(t.station_id):
                log.warning("ignoring a command reply from %s: not a registered, unrevoked station", t.station_id)
                return
            _tell(self.reply_listeners, t.station_id, payload, received_at)
            try:
                reply = messages.decode(messages.CommandReply, payload)
                log.info("station %s replied to %s: ok=%s %s", t.station_id, reply.command_id, reply.ok,
                         reply.error or reply.result)
            except messages.MessageError as exc:
                log.warning("bad command reply from %s: %s", t.station_id, exc)


def _tell(listeners: list[Callable[..., None]], *args: Any) -> None:
    for listener in list(listeners):
        try:
            listener(*args)
        except Exception:  # a dashboard bug must never stop ingest or fleet tracking
            log.exception("controller listener %r failed", listener)

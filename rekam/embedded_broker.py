"""An in-process MQTT 3.1.1 broker so `rekam demo` runs on a machine without Mosquitto.

NOT A PRODUCTION BROKER. It serves rekam's own paho-mqtt clients on loopback
for demos: no TLS, no authentication or ACLs (username and password are
accepted and ignored), no persistence to disk (state lives as long as the
EmbeddedBroker object, across its stop()/start()), QoS 2 is granted as QoS 1,
one process, one event loop. Stations in the field and CI use Mosquitto
(rekam.brokers), whose start()/stop()/close()/host/port/url surface
EmbeddedBroker copies so the demo can use either.

Owns: sessions, subscriptions (with `$share/{group}/{filter}` shared
subscriptions delivered round-robin), retained messages, last wills, QoS 1
delivery with persistent sessions, and moving bytes over asyncio streams.

Rules:
- Every byte goes through rekam.mqtt_codec; this module never parses by hand.
- Broker state is touched only on the broker's event-loop thread; the thread
  wrapper reaches it with run_coroutine_threadsafe and bounded waits.
- A client that misbehaves (malformed bytes, a packet over max_packet_size, a
  server-only packet, silence past 1.5x its keepalive) is disconnected with one
  log line and its will is published; nothing it sends stops the broker.
- Memory per client is bounded: the decoder holds at most one packet, each
  session queues at most ``max_queued_messages`` / ``max_queued_bytes`` (new
  messages are dropped when full, as Mosquitto does), at most
  ``max_inflight_messages`` QoS 1 messages await PUBACK, and a client that does
  not read stalls only its own writer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from rekam.brokers import BrokerError
from rekam.mqtt_codec import (
    DEFAULT_MAX_PACKET_SIZE,
    SUBACK_FAILURE,
    Connack,
    ConnackCode,
    Connect,
    Disconnect,
    MqttDecoder,
    Packet,
    Pingreq,
    Pingresp,
    ProtocolError,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
    Will,
    encode,
)

log = logging.getLogger(__name__)

_READ_SIZE = 256 * 1024
_WRITE_HIGH_WATER = 1024 * 1024
_SHARE_PREFIX = "$share/"
_CLOSE_GRACE = 2.0
#: Seconds a client may leave a full write buffer unread while still sending to us.
_STALL_TIMEOUT = 30.0
T = TypeVar("T")


@dataclass(frozen=True)
class BrokerLimits:
    """Bounds that keep one client from exhausting the demo process."""

    max_packet_size: int = DEFAULT_MAX_PACKET_SIZE
    max_queued_messages: int = 1000
    max_queued_bytes: int = 64 * 1024 * 1024
    max_inflight_messages: int = 20
    #: Seconds a new connection has to send its CONNECT.
    connect_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool = False


# ---------------------------------------------------------------- topics


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT 3.1.1 §4.7: `+` one level, `#` the rest; wildcards never match a leading `$`."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    levels = topic.split("/")
    parts = topic_filter.split("/")
    for i, part in enumerate(parts):
        if part == "#":
            return True
        if i >= len(levels) or (part != "+" and part != levels[i]):
            return False
    return len(parts) == len(levels)


def is_valid_filter(topic_filter: str) -> bool:
    if not topic_filter:
        return False
    parts = topic_filter.split("/")
    for i, part in enumerate(parts):
        if "#" in part and (part != "#" or i != len(parts) - 1):
            return False
        if "+" in part and part != "+":
            return False
    return True


def parse_shared(topic_filter: str) -> tuple[str, str] | None:
    """(group, filter) of `$share/{group}/{filter}`, None for a plain filter; ValueError if malformed."""
    if not topic_filter.startswith(_SHARE_PREFIX):
        return None
    _, group, rest = (topic_filter.split("/", 2) + ["", ""])[:3]
    if not group or "+" in group or "#" in group or not is_valid_filter(rest):
        raise ValueError(f"malformed shared subscription {topic_filter!r}")
    return group, rest


# ---------------------------------------------------------------- sessions


@dataclass(slots=True)
class _Outgoing:
    """One message on its way to one session."""

    message: Message
    qos: int
    retain: bool
    packet_id: int | None = None
    #: Written to a connection at least once, so a resend carries DUP.
    sent: bool = False

    def to_packet(self) -> Publish:
        return Publish(self.message.topic, self.message.payload, self.qos, self.retain,
                       self.sent and self.qos > 0, self.packet_id)


@dataclass(eq=False)
class Session:
    """What the broker keeps for one client id, connected or (if persistent) not."""

    client_id: str
    persistent: bool
    #: Plain topic filter or full `$share/...` filter -> granted QoS.
    subscriptions: dict[str, int] = field(default_factory=dict)
    queue: deque[_Outgoing] = field(default_factory=deque)
    inflight: dict[int, _Outgoing] = field(default_factory=dict)
    resend: deque[_Outgoing] = field(default_factory=deque)
    #: Payload bytes held in queue + inflight, for the per-session memory bound.
    held_bytes: int = 0
    dropped: int = 0
    overflowing: bool = False
    connection: "_Connection | None" = None
    _next_pid: int = 1

    def allocate_packet_id(self) -> int:
        while self._next_pid in self.inflight:
            self._next_pid = self._next_pid % 0xFFFF + 1
        pid = self._next_pid
        self._next_pid = pid % 0xFFFF + 1
        return pid

    def take_next(self, max_inflight: int) -> _Outgoing | None:
        """The next message to write, honouring order and the in-flight window."""
        while self.resend:
            out = self.resend.popleft()
            if out.packet_id is not None and self.inflight.get(out.packet_id) is out:
                return out
        if not self.queue:
            return None
        head = self.queue[0]
        if head.qos and len(self.inflight) >= max_inflight:
            return None
        self.queue.popleft()
        if head.qos:
            head.packet_id = self.allocate_packet_id()
            self.inflight[head.packet_id] = head
        else:
            self.held_bytes -= len(head.message.payload)
        return head

    def acknowledge(self, packet_id: int) -> None:
        out = self.inflight.pop(packet_id, None)
        if out is not None:
            self.held_bytes -= len(out.message.payload)

    def went_offline(self) -> None:
        """QoS 0 is not kept for an absent client; unacked QoS 1 waits to be resent."""
        kept = deque(o for o in self.queue if o.qos)
        self.held_bytes -= sum(len(o.message.payload) for o in self.queue if not o.qos)
        self.queue = kept
        self.resend.clear()


@dataclass
class _ShareGroup:
    members: dict[str, int] = field(default_factory=dict)  # client id -> granted QoS
    turn: int = 0


class Router:
    """Sessions, subscriptions and retained messages; synchronous, event-loop thread only."""

    def __init__(self, limits: BrokerLimits) -> None:
        self.limits = limits
        self.sessions: dict[str, Session] = {}
        self.retained: dict[str, Message] = {}
        self._plain: dict[str, dict[str, int]] = {}   # filter -> client id -> QoS
        self._shared: dict[tuple[str, str], _ShareGroup] = {}

    # -- sessions

    def open_session(self, client_id: str, clean: bool) -> tuple[Session, bool]:
        """The session for a new connection and whether an old one was resumed."""
        old = self.sessions.get(client_id)
        if old is not None and (clean or not old.persistent):
            self.drop_session(old)
            old = None
        if old is not None:
            return old, True
        session = Session(client_id, persistent=not clean)
        self.sessions[client_id] = session
        return session, False

    def drop_session(self, session: Session) -> None:
        for topic_filter in list(session.subscriptions):
            self.unsubscribe(session, topic_filter)
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]

    # -- subscriptions

    def subscribe(self, session: Session, topic_filter: str, qos: int) -> int:
        """Granted QoS (at most 1) or SUBACK_FAILURE for a filter we cannot serve."""
        try:
            shared = parse_shared(topic_filter)
        except ValueError:
            return SUBACK_FAILURE
        if shared is None and not is_valid_filter(topic_filter):
            return SUBACK_FAILURE
        granted = min(qos, 1)
        session.subscriptions[topic_filter] = granted
        if shared is None:
            self._plain.setdefault(topic_filter, {})[session.client_id] = granted
        else:
            self._shared.setdefault(shared, _ShareGroup()).members[session.client_id] = granted
        return granted

    def unsubscribe(self, session: Session, topic_filter: str) -> None:
        if session.subscriptions.pop(topic_filter, None) is None:
            return
        shared = parse_shared(topic_filter)
        index: dict = self._plain if shared is None else self._shared
        key = topic_filter if shared is None else shared
        entry = index.get(key)
        members = entry if shared is None else (entry.members if entry else None)
        if members is not None:
            members.pop(session.client_id, None)
            if not members:
                del index[key]

    def send_retained(self, session: Session, topic_filter: str, granted: int) -> None:
        """Retained messages go to a new plain subscription, never to a shared one."""
        if topic_filter.startswith(_SHARE_PREFIX):
            return
        for topic, message in self.retained.items():
            if topic_matches(topic_filter, topic):
                self._enqueue(session, message, min(granted, message.qos), retain=True)

    # -- routing

    def publish(self, message: Message) -> None:
        if message.retain:
            if message.payload:
                self.retained[message.topic] = message
            else:
                self.retained.pop(message.topic, None)
        best: dict[str, int] = {}
        for topic_filter, subscribers in self._plain.items():
            if topic_matches(topic_filter, message.topic):
                for client_id, qos in subscribers.items():
                    best[client_id] = max(best.get(client_id, 0), min(qos, message.qos))
        for client_id, qos in best.items():
            self._enqueue(self.sessions[client_id], message, qos, retain=False)
        for (_group, topic_filter), group in self._shared.items():
            if topic_matches(topic_filter, message.topic):
                self._deliver_shared(group, message)

    def _deliver_shared(self, group: _ShareGroup, message: Message) -> None:
        """Round-robin over members, skipping those offline while any member is online."""
        members = list(group.members.items())
        order = [members[(group.turn + i) % len(members)] for i in range(len(members))]
        online = [m for m in order if self.sessions[m[0]].connection is not None]
        for client_id, qos in online or order:
            session = self.sessions[client_id]
            if session.connection is None and not (session.persistent and message.qos):
                continue
            group.turn = (members.index((client_id, qos)) + 1) % len(members)
            self._enqueue(session, message, min(qos, message.qos), retain=False)
            return

    def _enqueue(self, session: Session, message: Message, qos: int, retain: bool) -> None:
        if session.connection is None and (qos == 0 or not session.persistent):
            return
        size = len(message.payload)
        if session.queue and (len(session.queue) >= self.limits.max_queued_messages
                              or session.held_bytes + size > self.limits.max_queued_bytes):
            session.dropped += 1
            if not session.overflowing:
                session.overflowing = True
                log.warning("client %s: queue full (%d messages, %d bytes held); dropping new messages",
                            session.client_id, len(session.queue), session.held_bytes)
            return
        session.overflowing = False
        session.queue.append(_Outgoing(message, qos, retain))
        session.held_bytes += size
        if session.connection is not None:
            session.connection.wake()


# ---------------------------------------------------------------- connections


class _ClientGone(Exception):
    """The connection ended; ``graceful`` says whether the will is withheld."""

    def __init__(self, reason: str, graceful: bool) -> None:
        super().__init__(reason)
        self.graceful = graceful


class _Connection:
    """One TCP connection: reads packets, answers them, and pumps its session's queue."""

    _ids = itertools.count(1)

    def __init__(self, broker: "AsyncBroker", reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.broker = broker
        self.router = broker.router
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.decoder = MqttDecoder(broker.limits.max_packet_size)
        self.session: Session | None = None
        self.will: Will | None = None
        self._serial = next(self._ids)
        self.client_id = f"<unidentified #{self._serial}>"
        self.closed = False
        self._wake = asyncio.Event()
        self._pump_task: asyncio.Task | None = None
        self._awaiting_pubrel: set[int] = set()
        writer.transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)

    def wake(self) -> None:
        self._wake.set()

    async def serve(self) -> None:
        reason, graceful = "connection closed", False
        try:
            await self._serve()
        except _ClientGone as gone:
            reason, graceful = str(gone), gone.graceful
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            log.warning("dropping client %s from %s: %s", self.client_id, self.peer, reason)
        except TimeoutError:
            reason = "timed out (keepalive, CONNECT, or not reading its replies)"
            log.warning("dropping client %s from %s: %s", self.client_id, self.peer, reason)
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc!r}"
        except asyncio.CancelledError:
            # The connection's own top-level task: ending it quietly is the point of the cancel.
            reason, graceful = "broker stopping", True
        except Exception:  # a bug of ours must cost one client, not the broker
            reason = "internal error"
            log.exception("dropping client %s from %s after an internal error", self.client_id, self.peer)
        finally:
            self.terminate(reason, send_will=not graceful)

    async def _serve(self) -> None:
        first = await self._read_packet(self.broker.limits.connect_timeout)
        if not isinstance(first, Connect):
            raise ProtocolError(f"first packet was {type(first).__name__}, not CONNECT")
        keepalive = self._accept(first)
        timeout = keepalive * 1.5 if keepalive else None
        while not self.closed:
            packet = await self._read_packet(timeout)
            self._handle(packet)
            if self.writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                # A client that sends but never reads stalls itself, then is dropped.
                async with asyncio.timeout(_STALL_TIMEOUT):
                    await self.writer.drain()

    async def _read_packet(self, timeout: float | None) -> Packet:
        while True:
            packet = self.decoder.next_packet()
            if packet is not None:
                return packet
            async with asyncio.timeout(timeout):
                data = await self.reader.read(_READ_SIZE)
            if not data:
                raise _ClientGone("closed by client without DISCONNECT", graceful=False)
            self.decoder.receive_data(data)

    def _send(self, packet: Packet) -> None:
        if not self.closed:
            self.writer.write(encode(packet))

    def _accept(self, connect: Connect) -> int:
        """Open or resume the session; returns the keepalive to enforce."""
        if connect.protocol_level not in (3, 4):
            self._send(Connack(False, ConnackCode.UNACCEPTABLE_PROTOCOL_VERSION))
            raise _ClientGone(f"unsupported protocol level {connect.protocol_level}", graceful=True)
        client_id = connect.client_id
        if not client_id:
            if not connect.clean_session:
                self._send(Connack(False, ConnackCode.IDENTIFIER_REJECTED))
                raise _ClientGone("empty client id with clean_session=false", graceful=True)
            client_id = f"auto-{self._serial}"
        self.client_id = client_id
        existing = self.router.sessions.get(client_id)
        if existing is not None and existing.connection is not None:
            existing.connection.terminate("taken over by a new connection", send_will=True)
        session, present = self.router.open_session(client_id, connect.clean_session)
        session.connection = self
        self.session = session
        self.will = connect.will
        self.broker.connections_by_id[client_id] = self
        self.broker.clients_changed()
        self._send(Connack(present, ConnackCode.ACCEPTED))
        # MQTT 3.1.1 §4.4: unacknowledged QoS 1 goes out again first, with its old ids.
        session.resend = deque(session.inflight.values())
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        log.info("client %s connected from %s (clean_session=%s, session present=%s)",
                 client_id, self.peer, connect.clean_session, present)
        return connect.keepalive

    def _handle(self, packet: Packet) -> None:
        session = self.session
        assert session is not None
        match packet:
            case Publish():
                self._on_publish(packet)
            case Puback(packet_id=pid):
                session.acknowledge(pid)
                self.wake()
            case Pubrel(packet_id=pid):
                self._awaiting_pubrel.discard(pid)
                self._send(Pubcomp(pid))
            case Subscribe(packet_id=pid, topics=topics):
                granted = [self.router.subscribe(session, f, q) for f, q in topics]
                self._send(Suback(pid, tuple(granted)))
                for (topic_filter, _), code in zip(topics, granted):
                    if code != SUBACK_FAILURE:  # retained messages follow the SUBACK
                        self.router.send_retained(session, topic_filter, code)
            case Unsubscribe(packet_id=pid, topics=topics):
                for topic_filter in topics:
                    self.router.unsubscribe(session, topic_filter)
                self._send(Unsuback(pid))
            case Pingreq():
                self._send(Pingresp())
            case Disconnect():
                raise _ClientGone("DISCONNECT", graceful=True)
            case _:  # CONNECT again, or a packet only a server sends (we never send QoS 2)
                raise ProtocolError(f"unexpected {type(packet).__name__} from a client")

    def _on_publish(self, packet: Publish) -> None:
        assert packet.packet_id is not None or packet.qos == 0  # the codec guarantees it
        message = Message(packet.topic, packet.payload, min(packet.qos, 1), packet.retain)
        if packet.qos == 0:
            self.router.publish(message)
        elif packet.qos == 1:
            self.router.publish(message)
            self._send(Puback(packet.packet_id))
        else:
            # QoS 2 in: route once per packet id (a DUP before PUBREL is not routed again).
            if packet.packet_id not in self._awaiting_pubrel:
                self._awaiting_pubrel.add(packet.packet_id)
                self.router.publish(message)
            self._send(Pubrec(packet.packet_id))

    async def _pump(self) -> None:
        """Write the session's messages in order; drain so a slow reader holds only its queue."""
        session = self.session
        assert session is not None
        max_inflight = self.broker.limits.max_inflight_messages
        try:
            while not self.closed:
                out = session.take_next(max_inflight)
                if out is None:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                self.writer.write(encode(out.to_packet()))
                out.sent = True
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass  # the reader sees the same loss and ends the connection

    def terminate(self, reason: str, send_will: bool, abort: bool = False) -> None:
        """End this connection now; idempotent. Publishes the will when the close was not clean."""
        if self.closed:
            return
        self.closed = True
        if self._pump_task is not None:
            self._pump_task.cancel()
        session = self.session
        if session is not None and session.connection is self:
            session.connection = None
            if session.persistent:
                session.went_offline()
            else:
                self.router.drop_session(session)
        if self.broker.connections_by_id.get(self.client_id) is self:
            del self.broker.connections_by_id[self.client_id]
            self.broker.clients_changed()
        will, self.will = self.will, None
        if send_will and will is not None:
            self.router.publish(Message(will.topic, will.payload, min(will.qos, 1), will.retain))
        # Flush what is buffered (a CONNACK refusal, the last PUBACKs), but a peer that
        # does not read cannot hold the socket open: abort after a grace period.
        if abort:
            self.writer.transport.abort()
        else:
            self.writer.close()
            asyncio.get_running_loop().call_later(_CLOSE_GRACE, self.writer.transport.abort)
        log.info("client %s from %s disconnected: %s", self.client_id, self.peer, reason)


# ---------------------------------------------------------------- asyncio broker


class AsyncBroker:
    """The broker on one event loop: a listening socket plus a Router."""

    def __init__(self, limits: BrokerLimits | None = None, router: Router | None = None,
                 on_clients_changed: Callable[[frozenset[str]], None] | None = None) -> None:
        self.limits = limits or BrokerLimits()
        self.router = router or Router(self.limits)
        self.connections_by_id: dict[str, _Connection] = {}
        self._on_clients_changed = on_clients_changed
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._connections: set[_Connection] = set()

    def clients_changed(self) -> None:
        if self._on_clients_changed is not None:
            self._on_clients_changed(frozenset(self.connections_by_id))

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen and return the bound port."""
        self._server = await asyncio.start_server(self._on_client, host, port,
                                                  limit=2 * _READ_SIZE, reuse_address=True)
        return self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, writer)
        self._connections.add(conn)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await conn.serve()
        finally:
            self._connections.discard(conn)
            self._tasks.discard(task)

    async def stop(self) -> None:
        """Close the listener and every connection; wills are not published on a broker stop."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.terminate("broker stopping", send_will=False, abort=True)
        tasks = list(self._tasks)
        if tasks:  # aborted sockets end their readers; cancel only what is still stuck
            _, stuck = await asyncio.wait(tasks, timeout=2)
            for task in stuck:
                task.cancel()
            if stuck:
                await asyncio.wait(stuck, timeout=2)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


# ---------------------------------------------------------------- thread wrapper


@dataclass(frozen=True)
class BrokerStats:
    connected: tuple[str, ...]
    sessions: int
    retained: int
    #: Messages dropped because a session's queue was full, per client id.
    dropped: dict[str, int]


@dataclass
class EmbeddedBroker:
    """The embedded broker on its own thread, shaped like rekam.brokers.MosquittoBroker.

    Its state (retained messages, persistent sessions) is kept in memory across
    stop()/start() of the same object, which stands in for Mosquitto's
    persistence file; close() discards it.
    """

    host: str = "127.0.0.1"
    port: int = 0
    limits: BrokerLimits = field(default_factory=BrokerLimits)
    _router: Router | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _core: AsyncBroker | None = field(default=None, repr=False)
    _clients: frozenset[str] = field(default=frozenset(), repr=False)
    _clients_changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> "EmbeddedBroker":
        if self.running:
            raise BrokerError(f"embedded broker already running on {self.host}:{self.port}")
        if self._router is None:
            self._router = Router(self.limits)
        loop = asyncio.new_event_loop()
        core = AsyncBroker(self.limits, self._router, self._set_clients)
        started: concurrent.futures.Future[int] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                started.set_result(loop.run_until_complete(core.start(self.host, self.port)))
            except BaseException as exc:  # reported to start() below
                started.set_exception(exc)
                loop.close()
                return
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(core.stop())
                leftover = asyncio.all_tasks(loop)
                for task in leftover:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
                loop.close()

        thread = threading.Thread(target=run, name=f"rekam-embedded-broker-{self.port}", daemon=True)
        thread.start()
        try:
            self.port = started.result(timeout)
        except concurrent.futures.TimeoutError:
            raise BrokerError(f"embedded broker did not listen on {self.host}:{self.port} within {timeout}s") from None
        except OSError as exc:
            thread.join(timeout)
            raise BrokerError(f"embedded broker could not listen on {self.host}:{self.port}: {exc}") from exc
        self._loop, self._thread, self._core = loop, thread, core
        log.info("embedded MQTT broker listening on %s", self.url)
        return self

    def stop(self, kill: bool = False, timeout: float = 10.0) -> None:
        """Stop serving; ``kill`` is accepted for MosquittoBroker parity (state is in memory either way)."""
        loop, thread, core = self._loop, self._thread, self._core
        self._loop = self._thread = self._core = None
        if loop is None or thread is None or core is None:
            return
        if thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(core.stop(), loop).result(timeout)
            except (concurrent.futures.TimeoutError, RuntimeError):
                log.warning("embedded broker did not stop cleanly within %ss", timeout)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)

    def restart(self, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def close(self) -> None:
        self.stop()
        self._router = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _set_clients(self, clients: frozenset[str]) -> None:
        with self._clients_changed:
            self._clients = clients
            self._clients_changed.notify_all()

    @property
    def connected_clients(self) -> frozenset[str]:
        """Client ids with a live connection, as of the broker's last change."""
        with self._clients_changed:
            return self._clients

    def wait_for_clients(self, predicate: Callable[[frozenset[str]], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate(connected client ids)`` holds; False if ``timeout`` passes first."""
        with self._clients_changed:
            return self._clients_changed.wait_for(lambda: predicate(self._clients), timeout)

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Run ``fn`` on the broker's loop thread (where its state lives) and return its result."""
        if self._loop is None:
            raise BrokerError("embedded broker is not running")

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stats(self) -> BrokerStats:
        def snapshot() -> BrokerStats:
            assert self._core is not None and self._router is not None
            return BrokerStats(
                connected=tuple(sorted(self._core.connections_by_id)),
                sessions=len(self._router.sessions),
                retained=len(self._router.retained),
                dropped={cid: s.dropped for cid, s in self._router.sessions.items() if s.dropped},
            )

        return self.call(snapshot)

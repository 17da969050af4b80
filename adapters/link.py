"""One small MQTT interface for both programs, implemented once over paho.

The contract (:class:`Link`) is what station and controller need and no more:
open, subscribe, publish, receive, acknowledge, close. :class:`PahoLink` is the
real one; :class:`adapters.mocklink.MockLink` joins links in memory for tests.

Rules of the real link:

* Lifecycle UNOPENED -> OPEN -> CLOSED; using a closed link raises
  :class:`LinkClosed`, a link is never reopened.
* paho's network thread runs the callbacks; they must only hand work on
  (enqueue), never block.
* Subscriptions are remembered and sent again on every (re)connection.
* The will is asked for before every connection attempt, so it can carry a
  number that changes per connection.
* ``publish`` hands a message to the client only while connected and says so;
  it never lets paho queue messages for a later connection behind the
  caller's back (the caller's own bookkeeping decides what to resend).
* With ``manual_ack``, a received QoS 1 message is PUBACKed only when the
  caller calls :meth:`Link.ack`, and only on the connection it arrived on
  (message ids restart with each connection).
* MQTT 5 where asked: ``receive_maximum`` makes the broker hold back what the
  caller has not acknowledged (flow control), and ``session_expiry_s`` = 0
  makes the session end with the connection.
* Topic namespaces: ``topic_prefix`` is put before every topic and filter
  this client sends (after ``$share/<group>/`` in a shared filter) and taken
  off every topic it receives, so a controller on an unprefixed listener
  addresses stations behind a listener ``mount_point``; ``strip_prefix`` is
  only taken off what arrives (Mosquitto 2.0.11 forgets to remove a listener's
  mount point from what it delivers; 2.0.12 fixed it). Callers only ever see
  and use the protocol's own topics.
* Every paho and socket error, and every failing result code, becomes a
  :class:`adapters.errors.LinkError` here, once.
"""

from __future__ import annotations

import logging
import ssl
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.errors import LinkClosed, LinkConfigError, LinkError

log = logging.getLogger(__name__)


class LinkState(Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True)
class Inbound:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    #: Which connection it arrived on, and its message id there: what :meth:`Link.ack` needs.
    connection: int = 0
    mid: int = 0

    def __repr__(self) -> str:
        return f"Inbound({self.topic}, {len(self.payload)} bytes, qos={self.qos})"


@dataclass(frozen=True)
class LinkSettings:
    host: str
    port: int
    client_id: str
    keepalive_s: int = 30
    #: MQTT 3.1.1: keep the session (subscriptions, queued QoS 1) across connections.
    clean_session: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls: bool = False
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0
    manual_ack: bool = False
    #: Our own QoS 1 publishes in flight at once (paho's window).
    max_inflight: int = 20
    #: MQTT 5 instead of 3.1.1 (needed for the two settings below).
    mqtt5: bool = False
    #: MQTT 5: at most this many unacknowledged QoS 1 messages from the broker.
    receive_maximum: int | None = None
    #: MQTT 5: seconds the broker keeps the session after a disconnect (0: none).
    session_expiry_s: int = 0
    #: Prefixed to every topic sent, removed from every topic received (see the module notes).
    topic_prefix: str = ""
    #: Removed from received topics that carry it.
    strip_prefix: str = ""


class Link(ABC):
    """What a program may do with its broker connection."""

    #: Set by the owner before :meth:`open`; all run on the network thread.
    on_connect: Callable[[int], None] = staticmethod(lambda connection: None)
    on_disconnect: Callable[[str], None] = staticmethod(lambda reason: None)
    on_message: Callable[[Inbound], None] = staticmethod(lambda message: None)
    #: Asked before every connection attempt; None for no will.
    will: Callable[[], Will | None] = staticmethod(lambda: None)

    @property
    @abstractmethod
    def state(self) -> LinkState: ...

    @property
    @abstractmethod
    def connected(self) -> bool: ...

    @abstractmethod
    def open(self) -> "Link": ...

    @abstractmethod
    def subscribe(self, filters: list[tuple[str, int]]) -> None:
        """Subscribe now and on every (re)connection; may be called before :meth:`open`, so the
        subscriptions are in place before anything else happens on the first connection."""

    @abstractmethod
    def unsubscribe(self, topic_filter: str) -> None: ...

    @abstractmethod
    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        """Hand a message to the connection; False (nothing sent) while disconnected."""

    @abstractmethod
    def publish_confirmed(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False,
                          timeout: float = 2.0) -> bool:
        """Publish and wait for the broker to take it; False if it did not in time."""

    @abstractmethod
    def ack(self, message: Inbound) -> bool:
        """Release a QoS 1 message to the broker (manual_ack); False if its connection is gone."""

    @abstractmethod
    def wait_connected(self, timeout: float) -> bool: ...

    @abstractmethod
    def close(self, *, abrupt: bool = False) -> None:
        """Disconnect cleanly, or (``abrupt``) drop the socket so the broker publishes the will."""

    def __enter__(self) -> "Link":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()


class PahoLink(Link):
    def __init__(self, settings: LinkSettings) -> None:
        self.settings = settings
        self._state = LinkState.UNOPENED
        self._connected = threading.Event()
        self._connection = 0
        self._lock = threading.Lock()
        self._subscriptions: dict[str, int] = {}
        self._client = self._make_client()

    # -- lifecycle -----------------------------------------------------------
    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def connection(self) -> int:
        """Connections made so far (1 after the first CONNACK)."""
        return self._connection

    def open(self) -> "PahoLink":
        if self._state is not LinkState.UNOPENED:
            raise LinkClosed(f"MQTT link to {self._where} is {self._state.value}; make a new one")
        self._state = LinkState.OPEN
        s = self.settings
        try:
            if s.mqtt5:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = s.session_expiry_s
                if s.receive_maximum:
                    props.ReceiveMaximum = s.receive_maximum
                self._client.connect_async(s.host, s.port, keepalive=s.keepalive_s, clean_start=s.clean_session,
                                           properties=props)
            else:
                self._client.connect_async(s.host, s.port, keepalive=s.keepalive_s)
            self._client.loop_start()
        except (OSError, ValueError) as exc:
            self._state = LinkState.CLOSED
            raise LinkError(f"cannot start the MQTT client for {self._where}: {exc}") from exc
        return self

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def close(self, *, abrupt: bool = False) -> None:
        if self._state is not LinkState.OPEN:
            self._state = LinkState.CLOSED
            return
        self._state = LinkState.CLOSED
        if abrupt:
            # Without DISCONNECT the broker publishes the will, as when a network dies.
            self._client.loop_stop()
            sock = self._client.socket()
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        else:
            try:
                self._client.disconnect()
            finally:
                self._client.loop_stop()
        self._connected.clear()

    # -- traffic -------------------------------------------------------------
    def subscribe(self, filters: list[tuple[str, int]]) -> None:
        if self._state is not LinkState.UNOPENED:
            self._check_open()
        filters = [(self._out(f), q) for f, q in filters]
        with self._lock:
            self._subscriptions.update(dict(filters))
        if self.connected:
            self._result(self._client.subscribe(filters)[0], "subscribe")

    def unsubscribe(self, topic_filter: str) -> None:
        self._check_open()
        topic_filter = self._out(topic_filter)
        with self._lock:
            self._subscriptions.pop(topic_filter, None)
        if self.connected:
            self._result(self._client.unsubscribe(topic_filter)[0], "unsubscribe")

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        self._check_open()
        if not self._client.is_connected():
            return False
        try:
            info = self._client.publish(self._out(topic), payload, qos=qos, retain=retain)
        except ValueError as exc:  # a topic or payload paho will not send
            raise LinkError(f"cannot publish to {topic}: {exc}") from exc
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def publish_confirmed(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False,
                          timeout: float = 2.0) -> bool:
        self._check_open()
        if not self._client.is_connected():
            return False
        try:
            info = self._client.publish(self._out(topic), payload, qos=qos, retain=retain)
            info.wait_for_publish(timeout=timeout)
            return info.is_published()
        except (RuntimeError, ValueError):  # the connection went while we waited
            return False

    def ack(self, message: Inbound) -> bool:
        if self._state is not LinkState.OPEN or message.qos == 0:
            return False
        if message.connection != self._connection or not self.connected:
            return False  # its connection is gone; the broker sends it again
        return self._client.ack(message.mid, message.qos) == mqtt.MQTT_ERR_SUCCESS

    # -- paho ------------------------------------------------------------------
    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _check_open(self) -> None:
        if self._state is not LinkState.OPEN:
            raise LinkClosed(f"MQTT link to {self._where} is {self._state.value}")

    def _out(self, topic: str) -> str:
        p = self.settings.topic_prefix
        if not p:
            return topic
        if topic.startswith("$share/"):
            _, group, rest = topic.split("/", 2)
            return f"$share/{group}/{p}{rest}"
        return p + topic

    def _in(self, topic: str) -> str:
        for p in (self.settings.topic_prefix, self.settings.strip_prefix):
            if p and topic.startswith(p):
                return topic[len(p):]
        return topic

    def _result(self, rc: int, what: str) -> None:
        if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise LinkError(f"MQTT {what} failed: {mqtt.error_string(rc)}")

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        kwargs: dict = {"client_id": s.client_id, "manual_ack": s.manual_ack}
        if s.mqtt5:
            kwargs["protocol"] = mqtt.MQTTv5
        else:
            kwargs.update(protocol=mqtt.MQTTv311, clean_session=s.clean_session)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        client.reconnect_delay_set(min_delay=s.reconnect_min_s, max_delay=s.reconnect_max_s)  # type: ignore[arg-type]
        client.max_inflight_messages_set(max(1, s.max_inflight))
        client.max_queued_messages_set(0)
        if s.tls:
            try:
                client.tls_set(ca_certs=str(s.ca_file), certfile=str(s.cert_file), keyfile=str(s.key_file),
                               tls_version=ssl.PROTOCOL_TLS_CLIENT)
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise LinkConfigError(f"TLS files unusable ({s.ca_file}, {s.cert_file}, {s.key_file}): {exc}") \
                    from exc
        client.on_pre_connect = self._cb_pre_connect
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        return client

    def _cb_pre_connect(self, client: mqtt.Client, userdata: object) -> None:
        # An exception here would end paho's thread for good: a failing will costs only the will.
        try:
            will = self.will()
        except Exception:
            log.exception("could not make the will for this connection; connecting without a new one")
            return
        if will is not None:
            client.will_set(self._out(will.topic), will.payload, qos=will.qos, retain=will.retain)

    def _cb_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker %s refused the connection: %s", self._where, reason_code)
            return
        self._connection += 1
        with self._lock:
            subs = list(self._subscriptions.items())
        if subs:
            client.subscribe(subs)
        self._connected.set()
        self._safely(self.on_connect, self._connection)

    def _cb_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        self._safely(self.on_disconnect, str(reason_code))

    def _cb_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        self._safely(self.on_message, Inbound(self._in(msg.topic), bytes(msg.payload), msg.qos, bool(msg.retain),
                                              self._connection, msg.mid))

    @staticmethod
    def _safely(callback: Callable, arg: object) -> None:
        try:
            callback(arg)
        except Exception:  # paho's thread must survive whatever a callback does
            log.exception("MQTT callback failed")

"""The :class:`~adapters.link.Link` contract in memory, to join a station and a controller in tests.

:class:`MockBroker` routes synchronously: topic filters, retained messages, ``$share/`` round robin,
wills. ``MockLink.drop()`` and ``restore()`` play a network that comes and goes."""

from __future__ import annotations

import itertools
import threading

from paho.mqtt.client import topic_matches_sub

from adapters.errors import LinkClosed
from adapters.link import Inbound, Link, LinkState


class MockBroker:
    def __init__(self) -> None:
        self.links: list[MockLink] = []
        self.retained: dict[str, bytes] = {}
        self.acked: list[Inbound] = []  # what the links released (PUBACKed)
        self._turn = itertools.count()
        self._lock = threading.RLock()

    def route(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        with self._lock:
            if retain:  # an empty retained payload clears the topic
                self.retained = {t: p for t, p in {**self.retained, topic: payload}.items() if p}
            plain, shared = [], {}
            for link in self.links:
                for flt in list(link.subscriptions):
                    group, real = flt.split("/", 2)[1:] if flt.startswith("$share/") else (None, flt)
                    if link.connected and topic_matches_sub(real, topic):
                        (shared.setdefault(group, []) if group else plain).append(link)
            chosen = plain + [members[next(self._turn) % len(members)] for members in shared.values()]
        for link in chosen:
            link.on_message(Inbound(topic, payload, qos, False, link.connection, 0))


class MockLink(Link):
    def __init__(self, broker: MockBroker, client_id: str = "mock") -> None:
        self.broker, self.client_id = broker, client_id
        self.subscriptions: dict[str, int] = {}
        self._pending: list[tuple[str, int]] = []  # subscribed before the connection: retained come with it
        self.connection = 0
        self._state, self._up, self._will = LinkState.UNOPENED, False, None
    state = property(lambda self: self._state)
    connected = property(lambda self: self._up and self._state is LinkState.OPEN)

    def open(self) -> "MockLink":
        if self._state is not LinkState.UNOPENED:
            raise LinkClosed(f"mock link {self.client_id} is {self._state.value}")
        self._state = LinkState.OPEN
        self.broker.links.append(self)
        self.restore()
        return self

    def restore(self) -> None:
        self._will, self._up, self.connection = self.will(), True, self.connection + 1
        self.on_connect(self.connection)
        pending, self._pending = self._pending, []
        if pending:
            self.subscribe(pending)

    def drop(self) -> None:
        """The network dies: the will goes out, nothing is delivered until restore()."""
        self._up = False
        self.on_disconnect("network lost")
        if self._will is not None:
            self.broker.route(self._will.topic, self._will.payload, self._will.qos, self._will.retain)

    def subscribe(self, filters: list[tuple[str, int]]) -> None:
        self.subscriptions.update(filters)
        if not self.connected:
            self._pending += filters
            return
        for topic, payload in list(self.broker.retained.items()):
            if any(topic_matches_sub(f, topic) for f, _ in filters):
                self.on_message(Inbound(topic, payload, 1, True, self.connection, 0))

    def unsubscribe(self, topic_filter: str) -> None:
        self.subscriptions.pop(topic_filter, None)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        if self._state is not LinkState.OPEN:
            raise LinkClosed(f"mock link {self.client_id} is {self._state.value}")
        if self.connected:
            self.broker.route(topic, payload, qos, retain)
        return self.connected

    def publish_confirmed(self, topic, payload, *, qos=1, retain=False, timeout=2.0) -> bool:
        return self.publish(topic, payload, qos, retain)

    def ack(self, message: Inbound) -> bool:
        self.broker.acked.append(message)
        return message.connection == self.connection and self.connected

    def wait_connected(self, timeout: float) -> bool:
        return self.connected  # connecting is instant in memory

    def close(self, *, abrupt: bool = False) -> None:
        if self._state is LinkState.OPEN:
            if abrupt:
                self.drop()
            self._state, self._up = LinkState.CLOSED, False
            self.broker.links.remove(self)

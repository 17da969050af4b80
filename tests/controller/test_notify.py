"""Alarm webhooks against a real HTTP server on loopback: retries, no duplicates, a dead hook slows nothing."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from controller.config import FleetSettings
from controller.fleet import Fleet
from controller.notify import Notifier
from controller.store import Store
from controller.web_settings import NotifySettings
from protocol import messages
from protocol.keys import SigningKey
from protocol.messages import State, Telemetry
from tests.fixtures.mqtt import wait_until


class Hook:
    """A webhook receiver that fails the first ``fail`` requests, or sleeps ``delay`` on each."""

    def __init__(self, fail: int = 0, delay: float = 0.0) -> None:
        self.fail, self.delay = fail, delay
        self.received: list[tuple[str, dict]] = []
        self.attempts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                if hook.delay:
                    time.sleep(hook.delay)
                if hook.attempts <= hook.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.received.append((self.headers["Idempotency-Key"], json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "c.db") as s:
        k = SigningKey.generate().public
        s.add_station("st-01", k.to_pem(), k.kid)
        yield s


def failing_disk(store: Store, fleet: Fleet) -> None:
    fleet.on_state("st-01", messages.encode(State("st-01", True, 1)))
    fleet.on_telemetry("st-01", messages.encode(Telemetry("st-01", 1.0, 1, 0, 0, 0, 10, 0)))


def test_retried_until_delivered_and_each_event_once(store):
    hook = Hook(fail=2)
    notifier = Notifier(store, NotifySettings(webhook_url=hook.url, backoff_s=0.05, max_attempts=5, language="en"),
                        controller_id="controller-1").start()
    fleet = Fleet(store, FleetSettings(disk_low_mb=1), notify=True)
    fleet.listeners.append(notifier.wake)
    try:
        failing_disk(store, fleet)
        [raised] = fleet.check_alarms(set())
        assert wait_until(lambda: len(hook.received) == 1, 10)
        fleet.on_telemetry("st-01", messages.encode(Telemetry("st-01", 2.0, 1, 0, 0, 0, 10**10, 0)))
        fleet.check_alarms(set())
        assert wait_until(lambda: len(hook.received) == 2, 10)
        notifier.stop()
        # nothing more can come: both events are marked delivered, and only undelivered ones are ever sent
        assert all(delivered is not None for _, _, delivered, _ in store.notifications([raised.alarm_id])[raised.alarm_id])
        assert store.due_notifications(time.time() + 86400, lease_s=1) == []  # not even later
    finally:
        notifier.stop()
        hook.close()
    assert hook.attempts == 4
    keys = [k for k, _ in hook.received]
    assert keys == [f"rekam-alarm-{raised.alarm_id}-raised", f"rekam-alarm-{raised.alarm_id}-cleared"]
    body = hook.received[0][1]
    assert body["kind"] == "disk_low" and body["station_id"] == "st-01" and body["severity"] == "warning"
    assert body["text"] == "st-01 has 0 MiB of disk free" and body["controller_id"] == "controller-1"
    assert [d for d, *_ in store.notifications([raised.alarm_id])[raised.alarm_id]] == ["raised", "cleared"]


def test_a_dead_webhook_gives_up_after_max_attempts(store):
    hook = Hook(fail=100)
    notifier = Notifier(store, NotifySettings(webhook_url=hook.url, backoff_s=0.02, max_attempts=3)).start()
    fleet = Fleet(store, FleetSettings(disk_low_mb=1), notify=True)
    fleet.listeners.append(notifier.wake)
    try:
        failing_disk(store, fleet)
        [raised] = fleet.check_alarms(set())
        assert wait_until(lambda: store.notifications([raised.alarm_id])[raised.alarm_id][0][1] == 3, 10)
        notifier.stop()
        # given up: nothing is due, not even a day later, so no fourth attempt can come
        assert store.due_notifications(time.time() + 86400, lease_s=1) == []
    finally:
        notifier.stop()
        hook.close()
    assert hook.attempts == 3 and hook.received == []
    [(event, attempts, delivered, error)] = store.notifications([raised.alarm_id])[raised.alarm_id]
    assert (event, attempts, delivered, error) == ("raised", 3, None, "HTTP 503")


def test_a_slow_webhook_never_holds_up_the_alarm_check(store):
    hook = Hook(delay=1.5)
    notifier = Notifier(store, NotifySettings(webhook_url=hook.url, timeout_s=5)).start()
    fleet = Fleet(store, FleetSettings(disk_low_mb=1), notify=True)
    fleet.listeners.append(notifier.wake)
    try:
        failing_disk(store, fleet)
        t0 = time.monotonic()
        fleet.check_alarms(set())
        assert wait_until(lambda: hook.attempts == 1, 5)  # the hook is busy with it now
        fleet.on_telemetry("st-01", messages.encode(Telemetry("st-01", 2.0, 1, 0, 0, 0, 10**10, 0)))
        fleet.check_alarms(set())
        assert time.monotonic() - t0 < 1.0, "the fleet waited for the webhook"
        assert wait_until(lambda: len(hook.received) == 2, 10)
    finally:
        notifier.stop()
        hook.close()


def test_no_webhook_no_notifications(store):
    notifier = Notifier(store, NotifySettings())
    assert not notifier.enabled
    fleet = Fleet(store, FleetSettings(disk_low_mb=1), notify=notifier.enabled)
    failing_disk(store, fleet)
    fleet.check_alarms(set())
    assert store.due_notifications(time.time() + 10, lease_s=1) == []

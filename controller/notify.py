"""Alarm notifications to a configured webhook: retried, never duplicated, never in the way.

The fleet opens one notification row per alarm and event (raised, cleared)
in the same transaction as the alarm itself; this module only delivers those
rows, on its own thread, so a dead or slow webhook delays nothing but its own
deliveries. Each attempt POSTs JSON with an ``Idempotency-Key`` header
(``rekam-alarm-<id>-<event>``) so a receiver can drop a repeat if an answer
was lost on the way back; a 2xx answer marks the row delivered, anything
else is retried after ``backoff_s``, doubling up to five minutes, until
``max_attempts``. A due row is claimed with a lease before it is sent, so
two controllers sharing a store do not both send it.

Notifications carry the station id, the kind, severity and text of the
alarm, and times: never a NIK or anything else about a resident.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Callable

from adapters.version import VERSION
from controller import alarms as rules
from controller.store import Store
from controller.store.alarm_book import Notification
from controller.web_settings import NotifySettings

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0


def payload(n: Notification, controller_id: str, language: str) -> bytes:
    a = n.alarm
    return json.dumps({
        "alarm_id": a.id, "event": n.event, "station_id": a.station_id, "kind": a.kind, "severity": a.severity,
        "text": rules.text(a.kind, a.params, a.station_id, language),
        "text_en": rules.text(a.kind, a.params, a.station_id, "en"),
        "raised_at": a.raised_at, "cleared_at": a.cleared_at, "controller_id": controller_id,
    }, sort_keys=True).encode()


class Notifier:
    def __init__(self, store: Store, settings: NotifySettings, *, controller_id: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.controller_id = controller_id
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.failed_attempts = 0

    @property
    def enabled(self) -> bool:
        return bool(self.settings.webhook_url)

    def start(self) -> "Notifier":
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alarm-webhook", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self, *_: object) -> None:
        """Something may be due (an alarm changed); cheap, callable from any thread."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
                nxt = self.store.next_notification_at()
            except Exception:  # the store may be busy or closing; try again shortly
                log.exception("alarm webhook: cannot read the pending notifications")
                nxt = self._clock() + 5
            wait = 60.0 if nxt is None else min(60.0, max(0.05, nxt - self._clock()))
            self._wake.wait(wait)
            self._wake.clear()

    def deliver_due(self) -> int:
        """Send what is due now; the number delivered."""
        s = self.settings
        sent = 0
        for n in self.store.due_notifications(self._clock(), lease_s=s.timeout_s * 2 + 5):
            if self._stop.is_set():
                break
            error = self._post(payload(n, self.controller_id, s.language), f"rekam-alarm-{n.alarm.id}-{n.event}")
            if error is None:
                self.store.notification_delivered(n.alarm.id, n.event)
                self.delivered += 1
                sent += 1
                continue
            self.failed_attempts += 1
            attempts = n.attempts + 1
            if attempts >= s.max_attempts:
                log.error("alarm webhook: giving up on alarm %d (%s) after %d attempts: %s", n.alarm.id, n.event,
                          attempts, error)
                self.store.notification_failed(n.alarm.id, n.event, error, None)
            else:
                delay = min(MAX_BACKOFF_S, s.backoff_s * 2 ** (attempts - 1))
                log.warning("alarm webhook: alarm %d (%s) attempt %d failed (%s); again in %.0f s", n.alarm.id,
                            n.event, attempts, error, delay)
                self.store.notification_failed(n.alarm.id, n.event, error, self._clock() + delay)
        return sent

    def _post(self, body: bytes, key: str) -> str | None:
        """None when the webhook took it, else why not (no personal data in here)."""
        req = urllib.request.Request(self.settings.webhook_url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": f"rekam/{VERSION}"})
        try:
            with urllib.request.urlopen(req, timeout=self.settings.timeout_s) as resp:
                resp.read(1024)
                return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"{exc.__class__.__name__}: {getattr(exc, 'reason', exc)}"

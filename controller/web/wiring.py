"""The dashboard attached to a running controller service: metrics, commands, webhook, live channel, server.

:class:`DashboardRuntime` adds listeners to the service (ingest results to
the metrics and the live channel, state and telemetry to the live channel,
command replies to the tracker, the fleet timer to command timeouts and
re-plan reasons) and to the fleet's alarm check (live channel, webhook).
``rekam controller run`` and ``rekam demo`` build one; tests build one
without a server and drive the app in process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from typing import Any, Callable

from controller.accounts import Authenticator
from controller.commands import CommandTracker
from controller.metrics import ControllerMetrics
from controller.notify import Notifier
from controller.service import ControllerService
from controller.web.context import Dashboard
from controller.web.live import LiveHub
from controller.web.server import WebServer, session_secret
from controller.web_settings import WebSettings
from protocol import wib

log = logging.getLogger(__name__)


class DashboardRuntime:
    def __init__(self, service: ControllerService, *, planning: Any = None,
                 today: Callable[[], dt.date] = wib.today, clock: Callable[[], float] = time.time,
                 live_interval: float = 0.5, web: WebSettings | None = None) -> None:
        cfg = service.config if web is None else dataclasses.replace(service.config, web=web)
        self.config = cfg
        store = service.store
        self.service = service
        self.planning = planning
        self.metrics = ControllerMetrics(store, silent_after_s=cfg.fleet.silent_after_s, clock=clock)
        self.tracker = CommandTracker(store, service.publish_command, timeout_s=cfg.web.command_timeout_s,
                                      clock=clock)
        self.notifier = Notifier(store, cfg.notify, controller_id=cfg.controller_id, clock=clock)
        service.fleet.notify = self.notifier.enabled
        w = cfg.web
        auth = Authenticator(store, failures=w.lockout_failures, window_s=w.lockout_minutes * 60, clock=clock)
        hub = LiveHub(lambda ids: build_rows(self.dashboard, ids), interval=live_interval)
        self.hub = hub
        self.dashboard = Dashboard(store=store, config=cfg, tracker=self.tracker, metrics=self.metrics, hub=hub,
                                   auth=auth, reingest=self._reingest, clock=clock, today=today)
        from controller.web.views.fleet import build_rows

        service.ingest_listeners.append(self.metrics.on_ingested)
        service.ingest_listeners.append(self._ingested)
        service.fleet_listeners.append(self.dashboard.on_telemetry)
        service.fleet_listeners.append(hub.station_changed)
        service.reply_listeners.append(self.tracker.on_reply)
        service.tick_listeners.append(self.tracker.expire)
        service.tick_listeners.append(self._schedule_changes)
        service.fleet.listeners.append(self._alarms_changed)
        self.tracker.listeners.append(lambda records: hub.notify("commands", len(records)))
        self._plan_id = store.active_plan()[0] if store.active_plan() else None
        self.server: WebServer | None = None
        self.app = None

    # -- lifecycle ----------------------------------------------------------------------------
    def build_app(self):
        from controller.web.app import build_app

        if self.app is None:
            self.app = build_app(self.dashboard, session_secret(self.config.web.secret_file))
        return self.app

    def start(self, *, serve: bool = True) -> "DashboardRuntime":
        self.hub.start()
        self.notifier.start()
        if serve:
            self.server = WebServer(self.build_app(), self.config.web).start()
            if not self.server.wait_started(15):
                raise RuntimeError(f"the dashboard did not start on {self.server.url}")
        return self

    @property
    def url(self) -> str:
        return self.server.url if self.server else ""

    def stop(self) -> None:
        self.hub.close()
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.notifier.stop()

    # -- listeners ------------------------------------------------------------------------------
    def _ingested(self, results, seconds: float) -> None:
        if any(r.outcome != "duplicate" for r in results):
            self.hub.notify("packets", len(results))

    def _alarms_changed(self, changes) -> None:
        for c in changes:
            self.hub.station_changed(c.station_id)
        counts = self.service.store.open_alarm_counts()
        self.hub.notify("alarms", {"open": sum(counts.values()),
                                   "critical": sum(n for (_k, s), n in counts.items() if s == "critical")})
        self.notifier.wake()

    def _schedule_changes(self) -> None:
        """Tell the pages when another plan is active (the scheduler stores why it made it)."""
        row = self.service.store.active_plan()
        plan_id = row[0] if row else None
        if plan_id != self._plan_id:
            self._plan_id = plan_id
            self.hub.notify("schedule", plan_id)

    def _reingest(self, topic: str, payload: bytes):
        results = self.service.ingest.process([(topic, payload)])
        self.metrics.on_ingested(results, 0.0)
        return results

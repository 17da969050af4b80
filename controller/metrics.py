"""Prometheus metrics of one controller process (``/metrics`` on the dashboard).

Counters move as the service stores and refuses packets (through its ingest
listener); the fleet gauges are read from the store at scrape time, so they
are right after a restart and agree with what the dashboard shows. Each
:class:`ControllerMetrics` has its own registry, so several controllers in
one process (tests, the demo) never mix their numbers.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from controller.ingest import IngestResult
from controller.store import Store

__all__ = ["CONTENT_TYPE_LATEST", "ControllerMetrics"]


class _FleetCollector(Collector):
    def __init__(self, store: Store, silent_after_s: float, clock: Callable[[], float]) -> None:
        self.store = store
        self.silent_after_s = silent_after_s
        self._clock = clock

    def collect(self) -> Iterable[GaugeMetricFamily]:
        now = self._clock()
        stations = self.store.stations()
        online = sum(1 for s in stations if s.online and s.last_seen is not None
                     and now - s.last_seen <= self.silent_after_s)
        g = GaugeMetricFamily("rekam_stations", "Registered stations by state", labels=["state"])
        g.add_metric(["online"], online)
        g.add_metric(["offline"], sum(1 for s in stations if not s.revoked) - online)
        g.add_metric(["revoked"], sum(1 for s in stations if s.revoked))
        yield g
        depth = GaugeMetricFamily("rekam_station_outbox_depth", "Packets waiting in a station's outbox "
                                  "(its latest telemetry)", labels=["station"])
        total = 0
        for s in stations:
            d = (s.last_telemetry or {}).get("outbox_depth")
            if isinstance(d, int):
                depth.add_metric([s.station_id], d)
                total += d
        yield depth
        yield GaugeMetricFamily("rekam_outbox_depth_total", "Packets waiting in all outboxes", value=total)
        alarms = GaugeMetricFamily("rekam_alarms_open", "Open alarms", labels=["kind", "severity"])
        for (kind, severity), n in sorted(self.store.open_alarm_counts().items()):
            alarms.add_metric([kind, severity], n)
        yield alarms


class ControllerMetrics:
    def __init__(self, store: Store, *, silent_after_s: float = 180.0, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.stored = Counter("rekam_packets_stored", "Packets stored (first time)", registry=r)
        self.duplicate = Counter("rekam_packets_duplicate", "Packets received again and acked as duplicates",
                                 registry=r)
        self.refused = Counter("rekam_packets_refused", "Packets refused and quarantined, by reason",
                               ["reason"], registry=r)
        self.latency = Histogram("rekam_ingest_batch_seconds", "Time to verify, open, validate and store one batch",
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.batch_size = Histogram("rekam_ingest_batch_size", "Packets per ingest batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r)
        r.register(_FleetCollector(store, silent_after_s, clock))

    def on_ingested(self, results: list[IngestResult], seconds: float) -> None:
        """The service's ingest listener."""
        self.latency.observe(seconds)
        self.batch_size.observe(len(results))
        for res in results:
            if res.outcome == "stored":
                self.stored.inc()
            elif res.outcome == "duplicate":
                self.duplicate.inc()
            else:
                self.refused.labels(res.reason_id or res.outcome).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

"""After sealing: push batches to the centre, poll its statuses, tell the stations, purge.

* push: every sealed batch not yet confirmed is sent as it lies on disk, with
  exponential backoff per batch (``retry_min_s`` doubling to ``retry_max_s``).
  The centre keys batches by id, so a resend after a crash or a lost answer
  is recognised there and counted once; nothing is deleted before the centre
  has confirmed, so the centre being down loses nothing.
* poll: status events after the stored cursor; each new one goes into the
  packet's history. DUPLICATE_RECORD and ENROLL_FAILURE_* raise a review for
  the fleet operator; failures in :data:`NEEDS_RESIDENT` are listed per
  kelurahan so the next visit there re-records the resident.
* publish: new statuses go to each station's ``status`` topic (QoS 1) and
  are marked only once the link took them.
* purge: sealed payloads of records the centre confirmed longer than the
  grace period ago are deleted (index, batch membership and statuses stay),
  then the WAL is checkpointed so the bytes leave the database file.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from controller.config import ExportSettings
from controller.errors import ControllerError
from controller.export.client import CentralClient, CentralError, CentralRefused
from controller.store import Store
from controller.store.handoff import StatusRow
from protocol import messages, topics

log = logging.getLogger(__name__)

DUPLICATE = "DUPLICATE_RECORD"
FAILURE_PREFIX = "ENROLL_FAILURE_"
#: Refusals only the resident can fix: the next visit to their kelurahan records them again.
NEEDS_RESIDENT = ("ENROLL_FAILURE_FINGER_UNREADABLE", "ENROLL_FAILURE_FACE_UNUSABLE",
                  "ENROLL_FAILURE_SIGNATURE_MISSING")
CURSOR = "central.status_cursor"


@dataclass
class CycleReport:
    delivered: int = 0
    failed: int = 0
    statuses: int = 0
    published: int = 0
    purged: int = 0


class HandOff:
    def __init__(self, store: Store, settings: ExportSettings, *, origin: str, client: CentralClient | None,
                 clock: Callable[[], float] = time.time, actor: str = "controller") -> None:
        self.store = store
        self.settings = settings
        self.origin = origin
        self.client = client
        self.clock = clock
        self.actor = actor

    # -- push ---------------------------------------------------------------------------
    def push(self, *, force: bool = False, on_progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Send every unconfirmed batch that is due (all with ``force``); (delivered, failed)."""
        if self.client is None:
            return 0, 0
        now = self.clock()
        due = [b for b in self.store.batches("sealed") if force or b.next_attempt_at <= now]
        ok = failed = 0
        for i, b in enumerate(due):
            try:
                data = Path(b.path).read_bytes()
                manifest = Path(b.manifest_path).read_bytes()
            except OSError as exc:
                self._failed(b, f"sealed batch file unreadable: {exc.strerror}")
                failed += 1
                continue
            try:
                accepted = self.client.send_batch(data, manifest)
            except CentralError as exc:
                self._failed(b, str(exc))
                failed += 1
                if not isinstance(exc, CentralRefused):
                    break  # the centre is away: the other batches wait for the next cycle
                continue
            if accepted.batch_id != b.batch_id:
                self._failed(b, f"central system confirmed batch {accepted.batch_id!r:.40} instead")
                failed += 1
                continue
            self.store.batch_accepted(b.batch_id, actor=self.actor)
            ok += 1
            log.info("central system holds batch %s (%d record(s)%s)", b.batch_id, accepted.received,
                     ", already had it" if accepted.duplicate_batch else "")
            if on_progress:
                on_progress(i + 1, len(due))
        return ok, failed

    def _failed(self, batch, error: str) -> None:
        delay = min(self.settings.retry_max_s, self.settings.retry_min_s * 2 ** min(batch.attempts, 20))
        delay *= random.uniform(0.8, 1.2)
        self.store.batch_failed(batch.batch_id, error, self.clock() + delay)
        log.warning("batch %s not delivered (attempt %d, next in %.0f s): %s", batch.batch_id,
                    batch.attempts + 1, delay, error)

    # -- poll --------------------------------------------------------------------------------
    def poll(self) -> int:
        """Fetch status events after the cursor; returns how many were new here."""
        if self.client is None:
            return 0
        cursor = int(self.store.handoff_value(CURSOR, "0"))
        new = 0
        while True:
            events, nxt = self.client.statuses(self.origin, cursor)
            if not events:
                break
            changed = set(self.store.apply_statuses([(e.packet_id, e.status, e.reason, e.at) for e in events]))
            for e in events:
                if e.packet_id in changed:
                    self._review(e.packet_id, e.status, e.reason)
            new += len(changed)
            cursor = nxt
            self.store.set_handoff_value(CURSOR, str(cursor))
        return new

    def _review(self, packet_id: str, status: str, reason: str) -> None:
        if status == DUPLICATE:
            self.store.raise_handoff_review("central_duplicate", packet_id, reason or "the centre holds this resident")
        elif status.startswith(FAILURE_PREFIX):
            self.store.raise_handoff_review("central_failure", packet_id, f"{status} {reason}".strip())

    # -- publish --------------------------------------------------------------------------------
    def publish(self, send: Callable[[str, bytes], bool]) -> int:
        """Hand new statuses to ``send(topic, payload)`` per station online now; returns the statuses sent.

        A station away for days is not sent one message per cycle: the broker queues only so many for
        an absent session and drops the oldest, and a status marked sent would never come again.
        Its statuses wait here, and go in one message once it is back."""
        rows = self.store.unpublished_statuses()
        by_station: dict[str, list[StatusRow]] = {}
        for r in rows:
            by_station.setdefault(r.station_id, []).append(r)
        sent = 0
        for station_id, group in by_station.items():
            station = self.store.station(station_id)
            if station is None or station.revoked or not station.online:
                continue
            msg = messages.CentralStatuses(station_id, [
                messages.PacketStatus(r.packet_id, r.status, r.at, r.reason) for r in group])
            if send(topics.station(station_id, topics.Leaf.STATUS), messages.encode(msg)):
                self.store.statuses_published(group)
                sent += len(group)
        return sent

    # -- purge -------------------------------------------------------------------------------------
    def purge(self, *, vacuum: bool = False) -> int:
        ids = self.store.purgeable(self.settings.purge_grace_days * 86400, self.clock())
        n = self.store.purge_payloads(ids, actor=self.actor)
        if n:
            try:
                self.store.compact(vacuum=vacuum)
            except ControllerError as exc:  # busy: the zeroed pages reach the file at the next checkpoint
                log.warning("purged %d payload(s); compacting later: %s", n, exc)
            log.info("purged the sealed payloads of %d confirmed record(s)", n)
        return n

    def cycle(self, send: Callable[[str, bytes], bool] | None = None) -> CycleReport:
        """push -> poll -> publish -> purge; a centre that is away only postpones the first two."""
        report = CycleReport()
        try:
            report.delivered, report.failed = self.push()
            report.statuses = self.poll()
        except CentralError as exc:
            log.warning("central system: %s", exc)
        if send is not None:
            report.published = self.publish(send)
        report.purged = self.purge()
        return report

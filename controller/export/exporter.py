"""One export run: what is stored and in no batch yet -> de-duplicated, converted, sealed, recorded.

For each batch of ``batch_size`` packets, oldest first:

1. open each packet (signature, decrypt, validate) and build its transaction
   in worker processes (:mod:`controller.export.convert`); match its fingers
   1:N against the campaign (:mod:`controller.dedup`) and flag pairs for review;
2. seal the transactions to the centre's key and sign the manifest, in memory;
3. write the sealed file and the manifest (atomically), then record the batch,
   the packets it carries and the audit entry in ONE transaction.

A kill before step 3's commit leaves at most orphan files, which the next run
deletes; their packets are in no batch and go into the next one. After the
commit the packets belong to that batch for good (``export_items`` is keyed
by packet id), so no record is ever handed over twice. Sending is separate
(:mod:`controller.export.delivery`) and resends the same batch until the
centre confirms it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from adapters.files import write_atomic
from controller.config import ExportSettings
from controller.dedup.descriptor import record_vector
from controller.dedup.sealed import index_key, load_index, open_templates, seal_row
from controller.dedup.verify import same_resident
from controller.errors import ControllerError
from controller.export.convert import Converter, Job
from controller.export.sealing import seal_batch
from controller.store import Store
from controller.store.handoff import BatchRow
from protocol.keys import ControllerKeys, SealingPublicKey, SigningKey
from protocol.packet import uuid7

log = logging.getLogger(__name__)
#: Candidates from the 1:N index verified per new record (best first).
CANDIDATES = 5


class ExportBusy(ControllerError):
    """Another export run (the controller's hand-off worker or `rekam controller export`) holds the directory."""


@dataclass
class ExportReport:
    batches: list[str] = field(default_factory=list)
    exported: int = 0
    refused: int = 0
    flagged: int = 0


class Exporter:
    def __init__(self, store: Store, keys: ControllerKeys, settings: ExportSettings, *, origin: str,
                 central_key: SealingPublicKey, signing_key: SigningKey,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.keys = keys
        self.settings = settings
        self.origin = origin
        self.central_key = central_key
        self.signing_key = signing_key
        self.clock = clock
        self.dir = Path(settings.dir or "export")
        self._aead = index_key(keys)

    def remove_orphans(self) -> int:
        """Sealed files of batches that a killed run wrote but never recorded."""
        known = {b.batch_id for b in self.store.batches()}
        n = 0
        for p in list(self.dir.glob("*.batch")) + list(self.dir.glob("*.manifest.json")):
            if p.name.split(".")[0] not in known:
                p.unlink(missing_ok=True)
                n += 1
        return n

    @contextmanager
    def _exclusive(self):
        """One run at a time per export directory: another run's fresh files would look like orphans."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / ".export.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ExportBusy(f"another export is running on {self.dir} (the running controller's hand-off, "
                                 "or another `rekam controller export`); try again when it has finished") from None
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def run(self, actor: str, *, on_progress: Callable[[int, int], None] | None = None,
            limit: int | None = None, retry_refused: bool = True) -> ExportReport:
        """Export the backlog. A record once refused (under review) is tried again only with
        ``retry_refused``: an operator's run after a fix, not every cycle of the running controller."""
        with self._exclusive():
            return self._run(actor, on_progress, limit, retry_refused)

    def _run(self, actor: str, on_progress: Callable[[int, int], None] | None, limit: int | None,
             retry_refused: bool) -> ExportReport:
        self.remove_orphans()
        report = ExportReport()
        total = self.store.export_backlog(retry_refused=retry_refused)
        if limit is not None:
            total = min(total, limit)
        if on_progress:
            on_progress(0, total)
        index = load_index(self._aead, self.store.dedup_rows())
        refused: set[str] = set()
        fresh: dict[str, tuple[str, bytes, bytes]] = {}  # sealed rows of this batch, not yet in the store
        done = 0
        with Converter(self.keys, self.origin, self.settings.workers) as converter:
            while limit is None or done < limit:
                want = self.settings.batch_size if limit is None else min(self.settings.batch_size, limit - done)
                ids = [p for p in self.store.packets_to_export(want + len(refused), retry_refused=retry_refused)
                       if p not in refused][:want]
                if not ids:
                    break
                jobs = [Job(*row) for row in self.store.export_jobs(ids)]
                txs: list[tuple[str, bytes]] = []
                rows = []
                for c in converter.convert(jobs, self.clock(), with_templates=True):
                    if c.transaction is None:
                        refused.add(c.packet_id)
                        report.refused += 1
                        self.store.raise_handoff_review("export_refused", c.packet_id, c.error)
                        log.error("packet %s cannot be exported: %s", c.packet_id, c.error.split(":")[0])
                        continue
                    txs.append((c.packet_id, c.transaction))
                    templates = dict(c.record_templates)
                    vec, mask = record_vector(templates)
                    report.flagged += self._dedup(index, c.packet_id, vec, mask, templates, fresh)
                    index.add(c.packet_id, vec, mask)
                    row = seal_row(self._aead, c.packet_id, vec, mask, templates)
                    rows.append(row)
                    fresh[c.packet_id] = row
                if rows:
                    self.store.add_dedup_rows(rows)
                fresh.clear()
                if txs:
                    report.exported += len(txs)
                    report.batches.append(self._seal_and_record(txs, actor))
                done += len(ids)
                if on_progress:
                    on_progress(min(done, total), total)
        if report.exported == 0:
            self.store.export_audit(actor, "export.nothing", 0, None, f"{report.refused} refused")
        return report

    def _dedup(self, index, packet_id: str, vec, mask, templates: dict[int, bytes],
               fresh: dict[str, tuple[str, bytes, bytes]]) -> int:
        """1:N: the index ranks the campaign, the candidates are verified minutia by minutia."""
        hits = index.search(vec, mask, threshold=self.settings.dedup_threshold, limit=CANDIDATES, exclude=packet_id)
        if not hits:
            return 0
        niks = self.store.packet_niks([packet_id] + [h.packet_id for h in hits])
        stored = {r[0]: r for r in self.store.dedup_rows_for([h.packet_id for h in hits if h.packet_id not in fresh])}
        flagged = 0
        for h in hits:
            if niks.get(h.packet_id) == niks.get(packet_id):
                continue  # the same NIK twice is already under review from ingest
            row = fresh.get(h.packet_id) or stored.get(h.packet_id)
            same, verified = same_resident(templates, open_templates(self._aead, row),
                                           order=index.finger_order(h.packet_id, vec)) if row else (False, 0)
            if not same:
                continue
            if self.store.raise_handoff_review(
                    "biometric_duplicate", packet_id,
                    f"{verified} fingers match an earlier record under another NIK",
                    other_packet_id=h.packet_id, score=round(h.score, 4)):
                flagged += 1
                log.warning("packet %s matches packet %s biometrically (score %.3f): flagged for review",
                            packet_id, h.packet_id, h.score)
        return flagged

    def _seal_and_record(self, txs: list[tuple[str, bytes]], actor: str) -> str:
        batch_id = str(uuid7())
        sealed = seal_batch(batch_id, txs, origin=self.origin, created_at=self.clock(),
                            central_key=self.central_key, signing_key=self.signing_key)
        items = [(pid, hashlib.sha256(tx).hexdigest()) for pid, tx in txs]
        txs.clear()  # the plaintext transactions go now; only sealed bytes are written
        path = self.dir / f"{batch_id}.batch"
        manifest = self.dir / f"{batch_id}.manifest.json"
        write_atomic(path, sealed.data, 0o600)
        write_atomic(manifest, sealed.manifest, 0o644)
        self.store.record_batch(BatchRow(batch_id, self.clock(), actor, len(items), str(path), str(manifest),
                                         sealed.sha256), items, actor=actor)
        log.info("sealed batch %s: %d record(s)", batch_id, len(items))
        return batch_id


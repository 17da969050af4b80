"""The emulated centre: its HTTP endpoints and the worker that judges batches and prints cards.

Endpoints (JSON answers):

* ``POST /v1/batches`` (CBOR ``{"manifest", "batch"}``): the manifest must be
  signed by a trusted controller key and the batch must open with the
  centre's key; the sealed file is then kept (still sealed) and the batch
  recorded before the 200, so a crash after the answer loses nothing, and a
  crash before it makes the controller send again. A batch id already held
  is answered 200 with ``duplicate_batch`` and not judged again.
* ``GET /v1/statuses?origin=&after=&limit=``: status events in order.
* ``POST /v1/stock`` (``{"add": n}``): blank cards arrive.
* ``GET /v1/health``: counts.

The worker thread judges received batches (:mod:`rekam.central.checks`) and
moves records along SENT_FOR_ENROLLMENT -> PRINT_READY_RECORD -> PRINTED ->
DISTRIBUTED on the configured schedule; PRINTED takes a blank card, and
waits while there is none.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import cbor2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.files import write_atomic
from controller.export.keys import load_central_private
from controller.export.sealing import BatchError, open_batch, read_manifest
from protocol.keys import KeyFormatError, VerifyKey
from rekam.central import checks
from rekam.central.config import CentralDir
from rekam.central.store import CentralStore, Decision

log = logging.getLogger("rekam.central")
MAX_BODY = 512 * 2**20


class Central:
    def __init__(self, cdir: CentralDir) -> None:
        self.dir = cdir
        self.settings = cdir.settings
        self.key = load_central_private(cdir.private_key)
        self.store = CentralStore(cdir.db).open()
        self.store.init_stock(self.settings.blank_cards)
        self.gallery = checks.Gallery()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._worker = threading.Thread(target=self._work, name="central-worker", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Central":
        if self.settings.biometric:
            self._rebuild_gallery()
        self._worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._worker.join(10)
        self.store.close()

    def trusted(self) -> dict[str, VerifyKey]:
        keys = {}
        for p in sorted(self.dir.trusted_dir.glob("*.pub")):
            try:
                k = VerifyKey.from_pem(p.read_bytes())
            except (KeyFormatError, OSError):
                log.warning("ignoring unusable trusted key %s", p.name)
                continue
            keys[k.kid] = k
        return keys

    # -- receiving ---------------------------------------------------------------------------
    def receive(self, manifest_bytes: bytes, batch: bytes) -> dict:
        manifest = read_manifest(manifest_bytes, self.trusted())
        batch_id = str(manifest.get("batch_id", ""))
        if not batch_id or "/" in batch_id or batch_id.startswith("."):
            raise BatchError("bad_manifest", "manifest has no usable batch id")
        if self.store.has_batch(batch_id):
            self.store.receive(batch_id, str(manifest["origin"]), int(manifest["count"]), "", manifest_bytes)
            return {"batch_id": batch_id, "received": int(manifest["count"]), "duplicate_batch": True}
        pairs = open_batch(batch, manifest, [self.key])  # refuse at the door what we could never open
        path = self.dir.batches / f"{batch_id}.batch"
        write_atomic(path, batch, 0o600)
        fresh = self.store.receive(batch_id, str(manifest["origin"]), len(pairs), str(path), manifest_bytes)
        self._wake.set()
        return {"batch_id": batch_id, "received": len(pairs), "duplicate_batch": not fresh}

    # -- the worker ---------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                if self.settings.judge:
                    self.process_pending()
                self.advance()
            except Exception:  # one bad batch must not stop the centre
                log.exception("central worker error")
            self._wake.wait(self.settings.tick_s)
            self._wake.clear()

    def process_pending(self) -> int:
        n = 0
        for batch_id, origin, path, manifest_bytes in self.store.unprocessed():
            try:
                pairs = open_batch(Path(path).read_bytes(), json.loads(manifest_bytes)["manifest"], [self.key])
            except (BatchError, OSError, ValueError, KeyError) as exc:
                log.error("batch %s cannot be opened any more: %s", batch_id, exc)
                continue
            decisions: list[Decision] = []
            seen_niks: dict[str, str] = {}
            for packet_id, tx in pairs:
                if self.store.has_record(packet_id):
                    decisions.append(Decision(packet_id, "", "ALREADY_HELD"))  # counted, not judged again
                    continue
                v = checks.judge(tx, packet_id, min_quality=self.settings.min_finger_quality,
                                 biometric=self.settings.biometric)
                status, reason = v.status, v.reason
                if status == checks.SENT:
                    holder = self.store.nik_holder(v.nik) or seen_niks.get(v.nik)
                    if holder is not None:
                        status, reason = checks.DUPLICATE, "nik"
                    elif self.gallery.match(v.templates) is not None:
                        status, reason = checks.DUPLICATE, "biometric"
                    seen_niks.setdefault(v.nik, packet_id)
                decisions.append(Decision(packet_id, v.nik, status, reason))
                if status == checks.SENT and self.settings.biometric:
                    self.gallery.add(packet_id, v.templates)
            n += self.store.settle(batch_id, origin, decisions)
        return n

    def advance(self) -> None:
        s = self.settings
        self.store.advance(checks.SENT, "PRINT_READY_RECORD", s.print_ready_after_s)
        self.store.advance("PRINT_READY_RECORD", "PRINTED", s.printed_after_s, needs_card=True)
        self.store.advance("PRINTED", "DISTRIBUTED", s.distributed_after_s)

    def _rebuild_gallery(self) -> None:
        for batch_id, path, manifest_bytes in self.store.processed_batches():
            try:
                pairs = open_batch(Path(path).read_bytes(), json.loads(manifest_bytes)["manifest"], [self.key])
            except (BatchError, OSError, ValueError, KeyError):
                continue
            for packet_id, tx in pairs:
                held = self.store.record_status(packet_id)
                if held is None or held[0].startswith("ENROLL_FAILURE") or held[0] == checks.DUPLICATE:
                    continue
                v = checks.judge(tx, packet_id, min_quality=0, biometric=True)
                self.gallery.add(packet_id, v.templates)


def app(central: Central) -> Starlette:
    async def batches(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "too_large"}, 413)
        try:
            parts = cbor2.loads(body)
            manifest, batch = bytes(parts["manifest"]), bytes(parts["batch"])
        except (cbor2.CBORDecodeError, KeyError, TypeError, ValueError, EOFError):
            return JSONResponse({"error": "malformed", "detail": "body is not CBOR {manifest, batch}"}, 400)
        try:
            answer = await run_in_threadpool(central.receive, manifest, batch)
        except BatchError as exc:
            log.warning("refused a batch: %s", exc)
            return JSONResponse({"error": exc.reason_id, "detail": str(exc)}, 422)
        return JSONResponse(answer)

    async def statuses(request: Request) -> JSONResponse:
        try:
            origin = request.query_params["origin"]
            after = int(request.query_params.get("after", "0"))
            limit = max(1, min(5000, int(request.query_params.get("limit", "1000"))))
        except (KeyError, ValueError):
            return JSONResponse({"error": "bad_query", "detail": "origin, after and limit are required"}, 400)
        events = central.store.events(origin, after, limit)
        return JSONResponse({"statuses": [{"seq": s, "packet_id": p, "status": st, "reason": r, "at": at}
                                          for s, p, st, r, at in events],
                             "next": events[-1][0] if events else after})

    async def stock(request: Request) -> JSONResponse:
        try:
            add = int((await request.json())["add"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "bad_request", "detail": 'send {"add": N}'}, 400)
        left = central.store.add_stock(add)
        central._wake.set()
        return JSONResponse({"stock": left})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, **central.store.counts()})

    return Starlette(routes=[Route("/v1/batches", batches, methods=["POST"]),
                             Route("/v1/statuses", statuses, methods=["GET"]),
                             Route("/v1/stock", stock, methods=["POST"]),
                             Route("/v1/health", health, methods=["GET"])])

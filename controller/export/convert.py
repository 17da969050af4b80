"""Sealed packet -> ANSI/NIST-ITL transaction, in this process or in a pool of worker processes.

Conversion is CPU-bound (PNG decode and WSQ for ten fingers), so a pool of
processes does it in parallel; each worker gets the controller's keys once,
through its initializer, in memory. The record is decrypted, validated and
converted inside :func:`convert_one` and nothing but the transaction bytes
(or a reason without personal data) leaves it.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Iterator

from controller.export import nist
from protocol import packet
from protocol.keys import ControllerKeys, VerifyKey
from protocol.record import EnrollmentRecord, RecordError


@dataclass(frozen=True)
class Job:
    packet_id: str
    envelope: bytes
    station_key_pem: bytes

    def __repr__(self) -> str:
        return f"Job({self.packet_id})"


@dataclass(frozen=True)
class Converted:
    packet_id: str
    transaction: bytes | None  # None when refused
    record_templates: tuple[tuple[int, bytes], ...] = ()  # (position, template) for de-duplication
    error: str = ""

    def __repr__(self) -> str:
        return f"Converted({self.packet_id}, {'error ' + self.error if self.error else 'ok'})"


_KEYS: ControllerKeys | None = None


def _init(keys_pem: bytes) -> None:
    global _KEYS
    _KEYS = ControllerKeys.from_pem(keys_pem)


def open_record(job: Job, keys: ControllerKeys) -> EnrollmentRecord:
    """Verify and decrypt a stored packet; the record lives only in the caller's frame."""
    env = packet.parse(job.envelope)
    packet.verify(env, VerifyKey.from_pem(job.station_key_pem))
    return EnrollmentRecord.from_cbor(packet.open_envelope(env, keys))


def convert_one(job: Job, origin: str, now: float, keys: ControllerKeys | None = None,
                with_templates: bool = False) -> Converted:
    keys = keys or _KEYS
    if keys is None:
        return Converted(job.packet_id, None, error="no controller keys in this worker")
    try:
        record = open_record(job, keys)
        tx = nist.build(record, job.packet_id, origin=origin, now=now)
    except (packet.PacketError, RecordError, nist.ExportError) as exc:
        return Converted(job.packet_id, None, error=f"{getattr(exc, 'reason_id', 'export_error')}: {exc}")
    except Exception as exc:  # a codec or library failure costs this record only, never the run
        # only the class name: a library's message may quote the data it choked on
        return Converted(job.packet_id, None, error=f"export_error: {exc.__class__.__name__} while converting")
    templates = tuple((f.position, bytes(f.template)) for f in record.fingers
                      if with_templates and f.template) if with_templates else ()
    return Converted(job.packet_id, tx.data, templates)


def _convert_chunk(jobs: list[Job], origin: str, now: float, with_templates: bool) -> list[Converted]:
    return [convert_one(j, origin, now, with_templates=with_templates) for j in jobs]


class Converter:
    """Converts jobs in order; ``workers`` processes (0 = CPUs; 1 = in this process)."""

    def __init__(self, keys: ControllerKeys, origin: str, workers: int = 0) -> None:
        self.keys = keys
        self.origin = origin
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "Converter":
        if self.workers > 1:
            import multiprocessing

            # forkserver: the controller has threads (MQTT, ingest); fork() under threads is unsafe.
            ctx = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init,
                                             initargs=(self.keys.to_pem(),))
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def convert(self, jobs: Iterable[Job], now: float, *, with_templates: bool = False) -> Iterator[Converted]:
        jobs = list(jobs)
        if self._pool is None:
            for j in jobs:
                yield convert_one(j, self.origin, now, self.keys, with_templates)
            return
        size = max(1, min(16, len(jobs) // (self.workers * 2) or 1))
        chunks = [jobs[i: i + size] for i in range(0, len(jobs), size)]
        futures = [self._pool.submit(_convert_chunk, c, self.origin, now, with_templates) for c in chunks]
        for f in futures:
            yield from f.result()

"""Packet ingest: from received bytes to a durable row and the ack to send.

No MQTT here: :meth:`Ingest.process` takes (topic, payload) pairs and returns
what to acknowledge, so the whole pipeline is tested without a broker. For
each packet, cheapest and most decisive first:

    topic -> station registered and not revoked -> size -> envelope (strict,
    canonical) -> header names that station -> signature -> version, suite,
    decrypt -> record valid and from that station -> store -> ack

Rules:

* Nothing is decoded for a station this controller does not know: those
  payloads cost a lookup, not a parse. A revoked station's packets are
  verified with its registered key and then rejected, so an honest station
  that was taken out of service stops resending and shows why.
* Only a packet whose signature verified may produce an ack for its id. A
  refusal before that (unknown station, malformed, forged) is quarantined and
  counted, never acked: a forged copy of a genuine packet must not make its
  station quarantine the real one.
* A batch is stored in one transaction (group commit: one fsync for many
  packets), with the ack counters and the quarantine rows in it; acks are
  produced only after that commit. A packet the database refuses fails alone
  and is rejected with a reason; a database failure fails the batch, unacked.
* Nothing a station sends can raise out of here.

The decrypted record lives only inside :meth:`Ingest._open`; only index
columns (NIK, kelurahan, times) leave it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from controller.errors import StoreError
from controller.store import PacketIndex, Store, StoreOutcome
from protocol import packet, topics
from protocol.keys import ControllerKeys, KeyFormatError, VerifyKey
from protocol.messages import Ack, AckStatus
from protocol.record import EnrollmentRecord, RecordError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    station_id: str | None
    packet_id: str | None
    ack: Ack | None
    outcome: str  # stored | duplicate | rejected | dropped
    same_nik: tuple[str, ...] = ()
    #: Why a packet was refused (rejected or dropped): the quarantine's reason id.
    reason_id: str = ""


class _Refused(Exception):
    """A refusal; ``verified`` once the packet's signature held (only then may its id be acked)."""

    def __init__(self, reason_id: str, reason: str, *, verified: bool = False) -> None:
        self.reason_id, self.reason, self.verified = reason_id, reason, verified
        super().__init__(reason)


@dataclass
class _Refusal:
    topic: str
    payload: bytes
    station_id: str | None  # a registered station, or None
    packet_id: str | None
    error: _Refused


class Ingest:
    def __init__(self, store: Store, keys: ControllerKeys, *, max_packet_bytes: int = packet.MAX_PACKET_BYTES,
                 controller_id: str = "") -> None:
        self.store = store
        self.keys = keys
        self.max_packet_bytes = max_packet_bytes
        self.controller_id = controller_id

    def process(self, batch: list[tuple[str, bytes]]) -> list[IngestResult]:
        keys: dict[str, tuple[VerifyKey, bool] | _Refused] = {}
        to_store: list[tuple[int, PacketIndex, bytes]] = []
        refused: dict[int, _Refusal] = {}
        for i, (topic, payload) in enumerate(batch):
            station_id = packet_id = None
            try:
                station_id = topics.parse(topic).station_id
                if station_id not in keys:
                    keys[station_id] = self._station_key(station_id)
                found = keys[station_id]
                if isinstance(found, _Refused):
                    station_id = None if found.reason_id == "unknown_station" else station_id
                    raise found
                key, revoked = found
                env = self._verified(station_id, payload, key)
                packet_id = env.packet_id
                if revoked is not None:
                    raise _Refused("station_revoked", f"station {station_id} is revoked: {revoked}", verified=True)
                to_store.append((i, self._open(station_id, env), payload))
            except topics.TopicError as exc:
                refused[i] = _Refusal(topic, payload, None, None, _Refused("bad_topic", str(exc)))
            except _Refused as exc:
                refused[i] = _Refusal(topic, payload, station_id, packet_id if exc.verified else None, exc)
            except StoreError:
                raise  # our problem, not the packet's: no ack, the station sends it again
            except Exception as exc:  # a bug must not take the controller down with it
                log.exception("ingest failed unexpectedly on a packet from %s", station_id)
                # Signed by its station (packet_id is known only then): acked rejected, so the station
                # holds it in its quarantine instead of resending it every ack timeout; kept whole here
                # to be requeued once the bug is fixed.
                refused[i] = _Refusal(topic, payload, station_id, packet_id, _Refused(
                    "internal_error", f"controller error: {exc.__class__.__name__}", verified=packet_id is not None))
        results: dict[int, IngestResult] = {}
        with self.store.transaction():
            if to_store:
                outcomes = self.store.store_packets([(ix, data) for _, ix, data in to_store], self.controller_id)
                for (i, index, data), out in zip(to_store, outcomes):
                    if out.refused:
                        refused[i] = _Refusal(batch[i][0], data, index.station_id, index.packet_id, _Refused(
                            "store_refused", f"the database would not take this packet ({out.refused})",
                            verified=True))
                    else:
                        results[i] = self._stored(index, out)
            for i, r in refused.items():
                results[i] = self._refuse(r)
        return [results[i] for i in sorted(results)]

    # -- the checks, in order ---------------------------------------------------------
    def _station_key(self, station_id: str) -> tuple[VerifyKey, str | None] | _Refused:
        """The station's registered key, and why it was revoked (None while it is not)."""
        station = self.store.station(station_id)
        if station is None:
            return _Refused("unknown_station", f"station {station_id} is not registered with this controller")
        revoked = (station.revoked_reason or "no reason given") if station.revoked else None
        try:
            return VerifyKey.from_pem(station.signing_key), revoked
        except KeyFormatError as exc:
            return _Refused("station_key_unusable", f"registered key of {station_id} is unusable: {exc}")

    def _verified(self, station_id: str, payload: bytes, key: VerifyKey) -> packet.Envelope:
        try:
            env = packet.parse(payload, max_bytes=self.max_packet_bytes)
        except packet.PacketError as exc:
            raise _Refused(exc.reason_id, str(exc)) from None
        if env.header.station_id != station_id:
            raise _Refused("station_mismatch",
                           f"packet says station {env.header.station_id} but came on the topic of {station_id}")
        try:
            packet.verify(env, key)
        except packet.PacketError as exc:
            raise _Refused(exc.reason_id, str(exc)) from None
        return env

    def _open(self, station_id: str, env: packet.Envelope) -> PacketIndex:
        """Decrypt, validate and index a packet whose signature verified: every refusal from here is acked."""
        h = env.header
        try:
            plaintext = packet.open_envelope(env, self.keys)
        except packet.PacketError as exc:
            raise _Refused(exc.reason_id, str(exc), verified=True) from None
        try:
            record = EnrollmentRecord.from_cbor(plaintext)
        except RecordError as exc:
            raise _Refused(exc.reason_id, str(exc), verified=True) from None
        finally:
            del plaintext
        if record.station_id != station_id:
            raise _Refused("record_mismatch", f"record inside says station {record.station_id}", verified=True)
        return PacketIndex(
            packet_id=env.packet_id, station_id=station_id, seq=h.seq, nik=record.nik,
            kelurahan_code=record.kelurahan_code, assignment_id=record.assignment_id,
            operator_id=record.operator_id, captured_at=record.started_at, sealed_at=h.sealed_at,
        )

    # -- results ---------------------------------------------------------------------------
    def _stored(self, index: PacketIndex, out: StoreOutcome) -> IngestResult:
        if out.duplicate:
            return IngestResult(index.station_id, index.packet_id, Ack(index.packet_id, AckStatus.DUPLICATE),
                                "duplicate")
        if out.same_nik:
            log.warning("NIK enrolled again: packet %s joins %d earlier packet(s); flagged for review",
                        index.packet_id, len(out.same_nik))
        return IngestResult(index.station_id, index.packet_id, Ack(index.packet_id, AckStatus.STORED), "stored",
                            out.same_nik)

    def _refuse(self, r: _Refusal) -> IngestResult:
        e = r.error
        log.warning("refused packet %s from %s: %s", r.packet_id or "(not verified)", r.station_id or "?",
                    e.reason_id)
        self.store.quarantine(topic=r.topic, reason_id=e.reason_id, reason=e.reason, payload=r.payload,
                              packet_id=r.packet_id, station_id=r.station_id, verified=e.verified)
        if not e.verified or r.packet_id is None or r.station_id is None:
            return IngestResult(r.station_id, None, None, "dropped", reason_id=e.reason_id)
        return IngestResult(r.station_id, r.packet_id, Ack(r.packet_id, AckStatus.REJECTED, e.reason_id, e.reason),
                            "rejected", reason_id=e.reason_id)

"""Packet ingest: from received bytes to a durable row and the ack to send.

No MQTT here: :meth:`Ingest.process` takes (topic, payload) pairs and returns
what to acknowledge, so the whole pipeline is tested without a broker. For
each packet:

    size -> envelope -> topic/header agree -> station known, not revoked ->
    signature -> decrypt -> record valid and from that station -> store -> ack

A batch is stored in one transaction (group commit: one fsync for many
packets), and acks are only produced after that commit. Every refusal is
quarantined with its reason (payload kept, still sealed), counted, and acked
``rejected`` when the packet id is known; garbage with no id cannot be acked
and is only quarantined. Nothing a station sends can raise out of here.

The decrypted record lives only inside :meth:`Ingest._check`; only index
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
    def __init__(self, reason_id: str, reason: str) -> None:
        self.reason_id, self.reason = reason_id, reason
        super().__init__(reason)


class Ingest:
    def __init__(self, store: Store, keys: ControllerKeys, *, max_packet_bytes: int = packet.MAX_PACKET_BYTES,
                 controller_id: str = "") -> None:
        self.store = store
        self.keys = keys
        self.max_packet_bytes = max_packet_bytes
        self.controller_id = controller_id

    def process(self, batch: list[tuple[str, bytes]]) -> list[IngestResult]:
        results: list[IngestResult | None] = [None] * len(batch)
        to_store: list[tuple[int, PacketIndex, bytes]] = []
        keys: dict[str, VerifyKey | _Refused] = {}
        for i, (topic, payload) in enumerate(batch):
            station_id = packet_id = None
            try:
                station_id = topics.parse(topic).station_id
                env = packet.parse(payload, max_bytes=self.max_packet_bytes)
                packet_id = env.packet_id
                index = self._check(topic, station_id, env, keys)
                to_store.append((i, index, payload))
            except packet.PacketError as exc:
                results[i] = self._refuse(topic, payload, station_id, packet_id, exc.reason_id, str(exc))
            except topics.TopicError as exc:
                results[i] = self._refuse(topic, payload, None, None, "bad_topic", str(exc))
            except _Refused as exc:
                results[i] = self._refuse(topic, payload, station_id, packet_id, exc.reason_id, exc.reason)
            except StoreError:
                raise  # our problem, not the packet's: no ack, the station sends it again
            except Exception as exc:  # a bug must not take the controller down with it
                log.exception("ingest failed unexpectedly on a packet from %s", station_id)
                results[i] = self._refuse(topic, payload, station_id, packet_id, "internal_error",
                                          f"controller error: {exc.__class__.__name__}")
        if to_store:
            outcomes = self.store.store_packets([(ix, data) for _, ix, data in to_store], self.controller_id)
            for (i, index, _), out in zip(to_store, outcomes):
                results[i] = self._stored(index, out)
        return [r for r in results if r is not None]

    def _check(self, topic: str, station_id: str, env: packet.Envelope,
               keys: dict[str, VerifyKey | _Refused]) -> PacketIndex:
        h = env.header
        if h.station_id != station_id:
            raise _Refused("station_mismatch",
                           f"packet says station {h.station_id} but came on the topic of station {station_id}")
        key = keys.get(station_id)
        if key is None:
            key = keys[station_id] = self._station_key(station_id)
        if isinstance(key, _Refused):
            raise key
        packet.verify(env, key)
        plaintext = packet.open_envelope(env, self.keys)
        try:
            record = EnrollmentRecord.from_cbor(plaintext)
        except RecordError as exc:
            raise _Refused(exc.reason_id, str(exc)) from None
        finally:
            del plaintext
        if record.station_id != station_id:
            raise _Refused("record_mismatch", f"record inside says station {record.station_id}")
        return PacketIndex(
            packet_id=env.packet_id, station_id=station_id, seq=h.seq, nik=record.nik,
            kelurahan_code=record.kelurahan_code, assignment_id=record.assignment_id,
            operator_id=record.operator_id, captured_at=record.started_at, sealed_at=h.sealed_at,
        )

    def _station_key(self, station_id: str) -> VerifyKey | _Refused:
        station = self.store.station(station_id)
        if station is None:
            return _Refused("unknown_station", f"station {station_id} is not registered with this controller")
        if station.revoked:
            return _Refused("station_revoked", f"station {station_id} is revoked: {station.revoked_reason or 'no reason given'}")
        try:
            return VerifyKey.from_pem(station.signing_key)
        except KeyFormatError as exc:
            return _Refused("station_key_unusable", f"registered key of {station_id} is unusable: {exc}")

    def _stored(self, index: PacketIndex, out: StoreOutcome) -> IngestResult:
        if out.duplicate:
            self.store.count("ack.duplicate")
            return IngestResult(index.station_id, index.packet_id, Ack(index.packet_id, AckStatus.DUPLICATE),
                                "duplicate")
        self.store.count("ack.stored")
        if out.same_nik:
            self.store.count("duplicate_enrollment")
            log.warning("NIK enrolled again: packet %s joins %d earlier packet(s); flagged for review",
                        index.packet_id, len(out.same_nik))
        return IngestResult(index.station_id, index.packet_id, Ack(index.packet_id, AckStatus.STORED), "stored",
                            out.same_nik)

    def _refuse(self, topic: str, payload: bytes, station_id: str | None, packet_id: str | None,
                reason_id: str, reason: str) -> IngestResult:
        log.warning("refused packet %s from %s: %s", packet_id or "(no id)", station_id or "?", reason_id)
        self.store.quarantine(topic=topic, reason_id=reason_id, reason=reason, payload=payload,
                              packet_id=packet_id, station_id=station_id)
        if packet_id is None or station_id is None:
            return IngestResult(station_id, None, None, "dropped", reason_id=reason_id)
        return IngestResult(station_id, packet_id, Ack(packet_id, AckStatus.REJECTED, reason_id, reason), "rejected",
                            reason_id=reason_id)

"""What the store hands out: frozen rows, never cursors or dicts of columns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Station:
    station_id: str
    signing_key: bytes  # PEM
    key_id: str
    status: str  # active | revoked
    revoked_reason: str | None
    registered_at: float
    online: bool
    connection: int
    version: str | None
    drivers: dict[str, str]
    state_at: float | None
    last_seen: float | None
    last_telemetry: dict[str, Any] | None
    telemetry_at: float | None

    @property
    def revoked(self) -> bool:
        return self.status == "revoked"


@dataclass(frozen=True)
class PacketIndex:
    """What the controller may know about a packet without opening it again."""

    packet_id: str
    station_id: str
    seq: int
    nik: str = field(repr=False)
    kelurahan_code: str
    assignment_id: str | None
    operator_id: str
    captured_at: float
    sealed_at: float


@dataclass(frozen=True)
class StoreOutcome:
    packet_id: str
    duplicate: bool  # the packet id was already stored
    #: Other packets with the same NIK (a second enrollment, flagged for review).
    same_nik: tuple[str, ...] = ()
    #: Why the database would not take this packet (the rest of its batch was stored).
    refused: str | None = None


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    packet_id: str | None
    station_id: str | None
    topic: str
    received_at: float
    reason_id: str
    reason: str
    size: int
    payload_kept: bool  # the whole payload, not only its first bytes
    sha256: str | None = None
    kept_bytes: int = 0


@dataclass(frozen=True)
class Alarm:
    id: int
    station_id: str
    kind: str
    message: str
    raised_at: float
    cleared_at: float | None


@dataclass(frozen=True)
class KelurahanProgress:
    code: str
    name: str
    kecamatan_code: str
    kecamatan: str
    wajib_ktp: int
    recorded_before: int
    recorded_here: int  # distinct NIKs stored by this controller

    @property
    def recorded(self) -> int:
        return self.recorded_before + self.recorded_here

    @property
    def remaining(self) -> int:
        return max(0, self.wajib_ktp - self.recorded)


@dataclass(frozen=True)
class AssignmentRow:
    assignment_id: str
    plan_id: str
    station_id: str
    date: str
    start: str
    end: str
    kelurahan_code: str
    venue: dict[str, Any] | None


_STATION_COLS = ("station_id, signing_key, key_id, status, revoked_reason, registered_at, online, connection, "
                 "version, drivers, state_at, last_seen, last_telemetry, telemetry_at")


def _station(row: tuple) -> Station:
    return Station(
        station_id=row[0], signing_key=bytes(row[1]), key_id=row[2], status=row[3], revoked_reason=row[4],
        registered_at=row[5], online=bool(row[6]), connection=row[7], version=row[8],
        drivers=json.loads(row[9]) if row[9] else {}, state_at=row[10], last_seen=row[11],
        last_telemetry=json.loads(row[12]) if row[12] else None, telemetry_at=row[13],
    )

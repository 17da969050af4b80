"""Control messages between stations and controllers: JSON, versioned.

Every message is a frozen dataclass. On the wire it is a JSON object with
``"v"`` (schema version) and ``"type"`` beside its fields. Decoding checks
every field against the dataclass's type hints and names the first wrong
field, so a bad message from one station is refused with a reason instead of
crashing whoever reads it. Unknown extra fields are ignored (a newer peer may
add some); a newer ``v`` is refused.

Sealed biometric packets are not here: they are CBOR, see :mod:`protocol.packet`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, TypeVar

from protocol import schema

SCHEMA_VERSION = 1

T = TypeVar("T", bound="Message")


class MessageError(ValueError):
    """A control message that cannot be used; says which field is wrong."""


@dataclass(frozen=True)
class Message:
    TYPE: ClassVar[str] = ""


# -- station -> controller --------------------------------------------------
@dataclass(frozen=True)
class State(Message):
    """Retained on ``state``; the last will is the same message with online=False.

    ``connection`` counts the station's connections since install, so a will
    that the broker delivers late (after the station reconnected) carries an
    older number and can be ignored.
    """

    TYPE: ClassVar[str] = "state"
    station_id: str
    online: bool
    connection: int
    version: str = ""
    drivers: dict[str, str] = field(default_factory=dict)
    since: float = 0.0


@dataclass(frozen=True)
class DriverHealth:
    driver: str
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class Telemetry(Message):
    TYPE: ClassVar[str] = "telemetry"
    station_id: str
    at: float
    connection: int
    outbox_depth: int
    outbox_bytes: int
    quarantined: int
    disk_free_bytes: int
    enrollments_today: int
    temperature_c: float | None = None
    drivers: dict[str, DriverHealth] = field(default_factory=dict)
    assignment_id: str | None = None


# -- controller -> station --------------------------------------------------
class AckStatus(str, Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Ack(Message):
    TYPE: ClassVar[str] = "ack"
    packet_id: str
    status: AckStatus
    reason_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Venue:
    """An outreach place (school, market, hospital, home visit, meeting)."""

    venue_id: str
    kind: str
    name: str
    address: str = ""
    expected_people: int = 0


@dataclass(frozen=True)
class Assignment:
    """One station-day: where to be, when."""

    assignment_id: str
    date: str  # ISO date, local (WIB)
    start: str  # "15:00"
    end: str  # "21:00"
    kelurahan_code: str
    kelurahan_name: str = ""
    venue: Venue | None = None


@dataclass(frozen=True)
class AssignmentUpdate(Message):
    """Retained on ``assignment``: today's place and what comes next."""

    TYPE: ClassVar[str] = "assignment"
    station_id: str
    issued_at: float
    plan_id: str
    current: Assignment | None = None
    upcoming: list[Assignment] = field(default_factory=list)


@dataclass(frozen=True)
class ControllerStatus(Message):
    """Retained by each controller; its will says it went away."""

    TYPE: ClassVar[str] = "controller_status"
    controller_id: str
    online: bool
    since: float = 0.0
    version: str = ""


# -- commands, both ways -----------------------------------------------------
class CommandName(str, Enum):
    SELF_TEST = "self_test"
    DRIVER_SWAP = "driver_swap"  # args: kind, driver, options
    CONFIG_RELOAD = "config_reload"
    REQUEUE_QUARANTINE = "requeue_quarantine"  # args: packet_id (or all)


@dataclass(frozen=True)
class Command(Message):
    TYPE: ClassVar[str] = "cmd"
    command_id: str
    name: CommandName
    args: dict[str, Any] = field(default_factory=dict)
    issued_at: float = 0.0


@dataclass(frozen=True)
class CommandReply(Message):
    TYPE: ClassVar[str] = "cmd_reply"
    command_id: str
    station_id: str
    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""


# -- encoding ----------------------------------------------------------------
def encode(msg: Message) -> bytes:
    body = {"v": SCHEMA_VERSION, "type": msg.TYPE, **schema.to_plain(msg)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode(cls: type[T], data: bytes | str) -> T:
    """Parse ``data`` as a ``cls`` message; MessageError names what is wrong."""
    try:
        body = json.loads(data)
    except RecursionError:
        raise MessageError(f"{cls.TYPE} message is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"{cls.TYPE} message is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MessageError(f"{cls.TYPE} message must be a JSON object")
    v = body.get("v")
    if not isinstance(v, int) or isinstance(v, bool):
        raise MessageError(f"{cls.TYPE} message has no schema version 'v'")
    if v > SCHEMA_VERSION:
        raise MessageError(f"{cls.TYPE} message has schema v{v}; this program understands up to v{SCHEMA_VERSION}")
    if body.get("type") != cls.TYPE:
        raise MessageError(f"expected a {cls.TYPE!r} message, got type {body.get('type')!r}")
    try:
        return schema.from_plain(cls, body, cls.TYPE)
    except schema.SchemaError as exc:
        raise MessageError(str(exc)) from None

"""Control messages between stations and controllers: JSON, versioned, msgspec Structs.

On the wire every message is a JSON object with ``"type"`` (the tag) and
``"v"`` (schema version) beside its fields. Decoding validates every field
against its Struct, including the bounds of every integer (a number no
station can produce is refused, not carried into the database), and names
the first wrong field, so a bad message from one station is refused with a
reason instead of crashing whoever reads it. Unknown extra fields are ignored
(a newer peer may add some); a newer ``v`` is refused before anything else is
read.

Sealed biometric packets are not here: they are CBOR, see :mod:`protocol.packet`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

from protocol.errors import ProtocolError, explain

SCHEMA_VERSION = 1

#: Counters and sizes: never negative, and small enough for JSON numbers and SQLite integers.
Count = Annotated[int, Meta(ge=0, le=2**53)]
#: Bounds on the free-form tables a station sends (a report is stored for weeks; none may grow without end).
MAX_DEVICES = 16
MAX_ITEMS = 64
#: Seconds since the epoch (or a duration), finite and within a plausible range.
Seconds = Annotated[float, Meta(ge=0, le=1e11)]
Text = Annotated[str, Meta(max_length=4096)]
Name = Annotated[str, Meta(max_length=200)]


class MessageError(ProtocolError):
    """A control message that cannot be used; says which field is wrong."""

    reason_id = "bad_message"


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every message; ``v`` is keyword-only and comes last, so fields stay positional."""

    v: int = SCHEMA_VERSION

    @classmethod
    def type_name(cls) -> str:
        return cls.__struct_config__.tag  # type: ignore[return-value]


T = TypeVar("T", bound=Message)


# -- station -> controller --------------------------------------------------
class State(Message, tag="state"):
    """Retained on ``state``; the last will is the same message with online=False.

    ``connection`` counts the station's connections since install, so a will
    that the broker delivers late (after the station reconnected) carries an
    older number and can be ignored.
    """

    station_id: Name
    online: bool
    connection: Count
    version: Name = ""
    drivers: Annotated[dict[Name, Name], Meta(max_length=MAX_DEVICES)] = {}
    since: Seconds = 0.0


class DriverHealth(msgspec.Struct, frozen=True):
    driver: Name
    ok: bool
    reason: Text = ""


class Telemetry(Message, tag="telemetry"):
    station_id: Name
    at: Seconds
    connection: Count
    outbox_depth: Count
    outbox_bytes: Count
    quarantined: Count
    disk_free_bytes: Count
    enrollments_today: Count
    temperature_c: Annotated[float, Meta(ge=-100, le=200)] | None = None
    drivers: Annotated[dict[Name, DriverHealth], Meta(max_length=MAX_DEVICES)] = {}
    assignment_id: Name | None = None
    #: When the oldest packet still in the outbox was sealed (None: the outbox is empty).
    outbox_oldest_at: Seconds | None = None


# -- controller -> station --------------------------------------------------
class AckStatus(str, Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Ack(Message, tag="ack"):
    packet_id: Name
    status: AckStatus
    reason_id: Name = ""
    reason: Text = ""


class Venue(msgspec.Struct, frozen=True):
    """An outreach place (school, market, hospital, home visit, meeting)."""

    venue_id: Name
    kind: Name
    name: Text
    address: Text = ""
    expected_people: Count = 0


class Assignment(msgspec.Struct, frozen=True):
    """One station-day: where to be, when."""

    assignment_id: Name
    date: Name  # ISO date, local (WIB)
    start: Name  # "15:00"
    end: Name  # "21:00"
    kelurahan_code: Name
    kelurahan_name: Text = ""
    venue: Venue | None = None


class AssignmentUpdate(Message, tag="assignment"):
    """Retained on ``assignment``: today's place and what comes next."""

    station_id: Name
    issued_at: Seconds
    plan_id: Name
    current: Assignment | None = None
    upcoming: list[Assignment] = []


class CertificateUpdate(Message, tag="certificate"):
    """Retained on ``certificate``: a renewed MQTT client certificate for the station's own key.

    Public material only; the station checks it against its CA file, its id and
    its own key before it replaces the old one.
    """

    station_id: Name
    certificate_pem: Annotated[str, Meta(max_length=16 * 1024)]
    not_after: Seconds


class ControllerStatus(Message, tag="controller_status"):
    """Retained by each controller; its will says it went away."""

    controller_id: Name
    online: bool
    since: Seconds = 0.0
    version: Name = ""


class PacketStatus(msgspec.Struct, frozen=True):
    """One packet's status at the central system (SENT_FOR_ENROLLMENT, DUPLICATE_RECORD, ...)."""

    packet_id: Name
    status: Name
    at: Seconds
    reason: Text = ""


class CentralStatuses(Message, tag="central_status"):
    """On ``status``: what the central system says about some of the station's packets."""

    station_id: Name
    statuses: Annotated[list[PacketStatus], Meta(max_length=10_000)] = []


# -- commands, both ways -----------------------------------------------------
class CommandName(str, Enum):
    SELF_TEST = "self_test"
    DRIVER_SWAP = "driver_swap"  # args: kind, driver, options
    CONFIG_RELOAD = "config_reload"
    REQUEUE_QUARANTINE = "requeue_quarantine"  # args: packet_id (or all)


class Command(Message, tag="cmd"):
    command_id: Name
    name: CommandName
    args: Annotated[dict[Name, Any], Meta(max_length=MAX_ITEMS)] = {}
    issued_at: Seconds = 0.0


class CommandReply(Message, tag="cmd_reply"):
    command_id: Name
    station_id: Name
    ok: bool
    result: Annotated[dict[Name, Any], Meta(max_length=MAX_ITEMS)] = {}
    error: Text = ""


# -- encoding ----------------------------------------------------------------
class _Head(msgspec.Struct):
    v: int | None = None
    type: str | None = None


_ENCODER = msgspec.json.Encoder()


def encode(msg: Message) -> bytes:
    return _ENCODER.encode(msg)


def decode(cls: type[T], data: bytes | str) -> T:
    """Parse ``data`` as a ``cls`` message; MessageError names what is wrong."""
    name = cls.type_name()
    try:
        head = msgspec.json.decode(data, type=_Head)
    except msgspec.ValidationError:
        raise MessageError(f"{name} message must be a JSON object with a version 'v' and a 'type'") from None
    except msgspec.DecodeError as exc:
        raise MessageError(f"{name} message is not JSON: {exc}") from None
    except RecursionError:
        raise MessageError(f"{name} message is nested too deeply") from None
    if head.v is None:
        raise MessageError(f"{name} message has no schema version 'v'")
    if head.v > SCHEMA_VERSION:
        raise MessageError(f"{name} message has schema v{head.v}; this program understands up to v{SCHEMA_VERSION}")
    if head.type != name:
        raise MessageError(f"expected a {name!r} message, got type {head.type!r:.40}")
    try:
        return msgspec.json.decode(data, type=cls)
    except msgspec.ValidationError as exc:
        raise MessageError(explain(name, exc)) from None
    except msgspec.DecodeError as exc:  # e.g. a string that is not UTF-8, which the head did not read
        raise MessageError(f"{name} message is not valid JSON: {exc}") from None
    except RecursionError:
        raise MessageError(f"{name} message is nested too deeply") from None

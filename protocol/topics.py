"""MQTT topic names, in one place.

Every station topic lives under ``rekam/v1/stations/{station_id}/``; each
controller replica has its own retained status under
``rekam/v1/controllers/{controller_id}/status`` (one topic per replica, so one
replica's will cannot overwrite another's "online"). Station ids are restricted to
characters that can never be MQTT wildcards or level separators, so a station
id can go into a topic (and into a Mosquitto ACL ``%u`` pattern) unescaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from protocol.errors import ProtocolError

VERSION = "v1"
ROOT = f"rekam/{VERSION}"
STATIONS = f"{ROOT}/stations"
CONTROLLERS = f"{ROOT}/controllers"
#: Every controller's status, for a station to follow.
ALL_CONTROLLER_STATUS = f"{CONTROLLERS}/+/status"
SHARE_GROUP = "controllers"

_STATION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class TopicError(ProtocolError):
    reason_id = "bad_topic"


class Leaf(str, Enum):
    """The last part of a station topic, with who publishes it."""

    STATE = "state"  # station -> controller, QoS 1, retained, last will
    TELEMETRY = "telemetry"  # station -> controller, QoS 0
    PACKETS = "packets"  # station -> controller, QoS 1
    ACKS = "acks"  # controller -> station, QoS 1
    ASSIGNMENT = "assignment"  # controller -> station, QoS 1, retained
    CMD = "cmd"  # controller -> station, QoS 1
    CMD_REPLY = "cmd/reply"  # station -> controller, QoS 1
    CERTIFICATE = "certificate"  # controller -> station, QoS 1, retained: a renewed TLS certificate
    STATUS = "status"  # controller -> station, QoS 1: central statuses of its packets


def check_station_id(station_id: str) -> str:
    if not isinstance(station_id, str) or not _STATION_ID.match(station_id):
        raise TopicError(
            f"station id {station_id!r} must be 1-63 characters of a-z, 0-9, '-' or '_', "
            "starting with a letter or digit"
        )
    return station_id


def station(station_id: str, leaf: Leaf) -> str:
    return f"{STATIONS}/{check_station_id(station_id)}/{leaf.value}"


def check_controller_id(controller_id: str) -> str:
    if not isinstance(controller_id, str) or not _STATION_ID.match(controller_id):
        raise TopicError(f"controller id {controller_id!r} must be 1-63 characters of a-z, 0-9, '-' or '_'")
    return controller_id


def controller_status(controller_id: str) -> str:
    return f"{CONTROLLERS}/{check_controller_id(controller_id)}/status"


def controller_of_status(topic: str) -> str | None:
    """``rekam/v1/controllers/ctl-1/status`` -> ``ctl-1``; None for any other topic."""
    prefix = CONTROLLERS + "/"
    if not topic.startswith(prefix) or not topic.endswith("/status"):
        return None
    cid = topic[len(prefix):-len("/status")]
    return cid if _STATION_ID.match(cid) else None


def all_stations(leaf: Leaf) -> str:
    """Filter for one leaf of every station."""
    return f"{STATIONS}/+/{leaf.value}"


def shared_packets(group: str = SHARE_GROUP) -> str:
    """Shared subscription so several controller replicas split the packets."""
    return f"$share/{group}/{all_stations(Leaf.PACKETS)}"


@dataclass(frozen=True)
class StationTopic:
    station_id: str
    leaf: Leaf


def parse(topic: str) -> StationTopic:
    """``rekam/v1/stations/st-01/packets`` -> StationTopic('st-01', PACKETS)."""
    prefix = STATIONS + "/"
    if not topic.startswith(prefix):
        raise TopicError(f"topic {topic!r} is not a rekam station topic")
    station_id, _, rest = topic[len(prefix) :].partition("/")
    try:
        leaf = Leaf(rest)
    except ValueError:
        raise TopicError(f"topic {topic!r} has an unknown leaf {rest!r}") from None
    return StationTopic(check_station_id(station_id), leaf)

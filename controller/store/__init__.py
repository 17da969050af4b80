"""The controller's store: one repository over SQLite (see ``repository``)."""

from controller.store.packets import (
    QUARANTINE_PAYLOAD_MAX,
    QUARANTINE_PAYLOADS_PER_STATION,
)
from controller.store.repository import Store
from controller.store.rows import (
    Alarm,
    AssignmentRow,
    KelurahanProgress,
    PacketIndex,
    QuarantineEntry,
    Station,
    StoreOutcome,
)

__all__ = [
    "QUARANTINE_PAYLOADS_PER_STATION",
    "QUARANTINE_PAYLOAD_MAX",
    "Alarm",
    "AssignmentRow",
    "KelurahanProgress",
    "PacketIndex",
    "QuarantineEntry",
    "Station",
    "Store",
    "StoreOutcome",
]

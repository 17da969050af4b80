"""The controller's store: one repository over SQLite (see ``repository``)."""

from controller.store.quarantine import QuarantineBudget
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
    "QuarantineBudget",
    "Alarm",
    "AssignmentRow",
    "KelurahanProgress",
    "PacketIndex",
    "QuarantineEntry",
    "Station",
    "Store",
    "StoreOutcome",
]

"""The controller's exception family; each carries a stable ``reason_id``."""

from __future__ import annotations


class ControllerError(Exception):
    reason_id = "controller_error"


class ConfigError(ControllerError, ValueError):
    reason_id = "config_error"


class StoreError(ControllerError):
    """The database failed or refused; sqlite3 errors are mapped here, once."""

    reason_id = "store_error"


class UnknownStation(ControllerError, LookupError):
    reason_id = "unknown_station"


class KeyFileError(ControllerError):
    reason_id = "key_file"

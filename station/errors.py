"""The station's exception family.

Each error carries a stable ``reason_id`` (translated for the operator by
:mod:`station.i18n`) and an English message for logs. Device failures stay
:class:`drivers.errors.DeviceError`; the workflow turns them into operator
prompts, not crashes.
"""

from __future__ import annotations


class StationError(Exception):
    reason_id = "station_error"

    def __init__(self, message: str, **params: object) -> None:
        #: Values for the operator's translated message (never biometric data).
        self.params = params
        super().__init__(message)


class ConfigError(StationError, ValueError):
    """The station config is wrong; the message names the field and the expected form."""

    reason_id = "config_error"


class OutboxError(StationError):
    """The outbox database failed (disk, corruption, permissions)."""

    reason_id = "outbox_error"


class LowDiskSpace(OutboxError):
    """Refuse to start an enrollment that might not fit on disk."""

    reason_id = "low_disk_space"


class UplinkError(StationError):
    """The MQTT side failed in a way the station cannot retry by itself."""

    reason_id = "uplink_error"


class KeyFileError(StationError):
    """A key file is missing, unreadable, or too widely readable."""

    reason_id = "key_file"


class ProvisioningError(StationError):
    """A bundle or key cannot be used; the message says what to do."""

    reason_id = "provisioning"


class EnrollmentAborted(StationError):
    """The operator cancelled, or the resident could not continue."""

    reason_id = "enrollment_aborted"

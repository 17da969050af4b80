"""The one exception family every driver raises.

Each leaf names a condition an operator or technician can act on, and also
inherits the built-in it resembles (as gpiozero's errors do), so generic code
can still catch ``TimeoutError`` or ``ConnectionError``. Messages carry the
device (``fingerprint zhiantec on /dev/rekam-fp``) and never biometric data.

The station shows :attr:`DeviceError.reason_id` translated for the operator;
``str(exc)`` is the English line for logs.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Root of every driver failure."""

    #: Stable id of the condition, used for operator messages and telemetry.
    reason_id: str = "device_error"

    def __init__(self, message: str, *, device: str | None = None) -> None:
        self.device = device
        super().__init__(f"{device}: {message}" if device else message)


class DeviceNotConnected(DeviceError, ConnectionError):
    """The device is not there: port missing, unplugged, no answer at open."""

    reason_id = "not_connected"


class DeviceUnplugged(DeviceNotConnected):
    """The device was there and vanished while in use."""

    reason_id = "unplugged"


class DeviceTimeout(DeviceError, TimeoutError):
    """The device did not answer within the allowed time."""

    reason_id = "timeout"


class DeviceBusy(DeviceError):
    """The device is in use by another process or still working."""

    reason_id = "busy"


class NoFinger(DeviceError):
    """No finger was placed on the sensor in time."""

    reason_id = "no_finger"


class CaptureFailed(DeviceError):
    """The device saw something but could not produce a usable capture."""

    reason_id = "capture_failed"


class DeviceProtocolError(DeviceError):
    """A device's bytes on the wire made no sense: framing, length, unexpected reply.

    Named apart from ``protocol.ProtocolError``, the station/controller
    language's root, so that a handler catching one never means the other.
    """

    reason_id = "protocol_error"


class BadChecksum(DeviceProtocolError):
    reason_id = "bad_checksum"


class BadAddress(DeviceProtocolError):
    reason_id = "bad_address"


class WrongPassword(DeviceProtocolError, PermissionError):
    reason_id = "wrong_password"


class DeviceCommandFailed(DeviceError):
    """The device understood the command and refused it (a confirmation/NACK code)."""

    reason_id = "command_failed"

    def __init__(self, message: str, *, code: int | None = None, device: str | None = None) -> None:
        self.code = code
        super().__init__(message, device=device)


class DriverNotFound(DeviceError, LookupError):
    """No installed driver has the configured name."""

    reason_id = "driver_not_found"


class DriverConfigError(DeviceError, ValueError):
    """A driver's options in the station config are wrong."""

    reason_id = "driver_config"

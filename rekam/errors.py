"""The front door's own errors, and the list of every family an operator can cause."""

from __future__ import annotations


class DemoError(Exception):
    """The demo cannot run as asked; the message says what to do."""


def operator_errors() -> tuple[type[BaseException], ...]:
    """Every error family whose message tells an operator what to fix: shown as one line, never a traceback."""
    from adapters.errors import AdapterError
    from controller.errors import ControllerError
    from drivers.errors import DeviceError
    from protocol.errors import ProtocolError
    from rekam.brokers import BrokerError
    from station.errors import StationError

    return (AdapterError, ProtocolError, StationError, ControllerError, DeviceError, DemoError, BrokerError, OSError)


def one_line(exc: BaseException) -> str:
    """The error as one line: OSError's errno text and file name, others their message."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}:{where}".rstrip(":")
    return " ".join(str(exc).split()) or exc.__class__.__name__

"""The controller's exception family; each carries a stable ``reason_id``."""

from __future__ import annotations


class ControllerError(Exception):
    reason_id = "controller_error"

    def __init__(self, *args: object, **params: object) -> None:
        """``ControllerError("no user {name}", name=n)``: the English text keeps its template and
        values apart, so the dashboard can say it in the operator's language (controller.web.i18n)."""
        self.template = str(args[0]) if len(args) == 1 else ""
        self.params = params
        if params and len(args) == 1:
            args = (self.template.format(**params),)
        super().__init__(*args)


class ConfigError(ControllerError, ValueError):
    reason_id = "config_error"


class StoreError(ControllerError):
    """The database failed or refused; sqlite3 errors are mapped here, once."""

    reason_id = "store_error"


class UnknownStation(ControllerError, LookupError):
    reason_id = "unknown_station"


class KeyFileError(ControllerError):
    reason_id = "key_file"

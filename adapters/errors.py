"""The adapters' own exception family, for what has no caller-chosen error class."""

from __future__ import annotations


class AdapterError(Exception):
    reason_id = "adapter_error"


class LinkError(AdapterError):
    """The MQTT link failed or was misused; paho's errors are mapped here, once."""

    reason_id = "link_error"


class LinkConfigError(LinkError, ValueError):
    """TLS files or connection settings the link cannot use."""

    reason_id = "link_config"


class LinkClosed(LinkError):
    """The link was used outside its OPEN state."""

    reason_id = "link_closed"

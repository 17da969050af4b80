"""``[web]`` and ``[notify]`` of controller.toml: the dashboard's address, TLS, sessions and alarm webhook.

Kept apart from the web app so that reading a config never imports the web
stack. Rules checked here: the dashboard listens on loopback unless a TLS
certificate is configured (session cookies are ``Secure``, and a password
must never cross a network in clear), and a webhook URL is http(s).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from adapters import configfile

Language = Literal["id", "en"]


class WebSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: Off unless the file says so (`rekam controller init` writes it on); throwaway installations stay quiet.
    enabled: bool = False
    host: Annotated[str, Meta(min_length=1)] = "127.0.0.1"
    #: 0 picks a free port (tests, the demo); the URL is logged.
    port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Signs the session cookies; made (mode 0600) at first start if missing.
    secret_file: Path = Path("keys/web-session.key")
    language: Language = "id"
    session_hours: Annotated[float, Meta(gt=0, le=24 * 30)] = 12.0
    lockout_failures: Annotated[int, Meta(ge=1, le=100)] = 5
    lockout_minutes: Annotated[float, Meta(gt=0)] = 15.0
    #: A command without a reply after this long is shown as timed out.
    command_timeout_s: Annotated[float, Meta(gt=0)] = 60.0

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


class NotifySettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: Alarms raised and cleared are POSTed here as JSON; empty: no notifications.
    webhook_url: str = ""
    timeout_s: Annotated[float, Meta(gt=0, le=120)] = 5.0
    max_attempts: Annotated[int, Meta(ge=1, le=100)] = 8
    #: First retry after this long, doubling up to 5 minutes.
    backoff_s: Annotated[float, Meta(gt=0)] = 2.0
    language: Language = "id"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_web(web: WebSettings, base_dir: Path, *, error: type[Exception]) -> WebSettings:
    """Absolute paths, and the rules a config must keep."""
    web = msgspec.structs.replace(
        web, secret_file=configfile.resolve(web.secret_file, Path(), base_dir),
        tls_cert=configfile.resolve(web.tls_cert, Path(), base_dir) if web.tls_cert else None,
        tls_key=configfile.resolve(web.tls_key, Path(), base_dir) if web.tls_key else None)
    if (web.tls_cert is None) != (web.tls_key is None):
        raise error("web.tls_cert and web.tls_key go together: set both or neither")
    if web.enabled and not web.tls and not _loopback(web.host):
        raise error(f"web.host is {web.host!r}, not a loopback address: the dashboard serves other machines "
                    "only over TLS, so set web.tls_cert and web.tls_key (or keep host = \"127.0.0.1\")")
    return web


def check_notify(notify: NotifySettings, *, error: type[Exception]) -> NotifySettings:
    url = notify.webhook_url
    if url and not (url.startswith("http://") or url.startswith("https://")):
        raise error(f"notify.webhook_url must start with http:// or https://, got {url[:60]!r}")
    return notify


EXAMPLE = """
[web]
# The fleet dashboard, served by `rekam controller run`. Only loopback without TLS;
# to serve other machines set host = "0.0.0.0" with tls_cert and tls_key.
enabled = true
host = "127.0.0.1"
port = 8080
# tls_cert = "tls/web.crt"
# tls_key = "tls/web.key"
secret_file = "keys/web-session.key"
# Bahasa Indonesia ("id") or English ("en"); each user may switch.
language = "id"
session_hours = 12
lockout_failures = 5
lockout_minutes = 15
command_timeout_s = 60

[notify]
# Alarms raised and cleared are POSTed here as JSON (empty: off), retried with back-off.
webhook_url = ""
timeout_s = 5
max_attempts = 8
backoff_s = 2
language = "id"
"""

"""The controller's TOML config (/etc/rekam/controller.toml).

Validated at start; an error names the field and the expected form. Relative
paths are relative to the config file's directory. ``rekam controller init``
writes :data:`EXAMPLE` next to a fresh key pair and store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Mapping

import msgspec
from msgspec import Meta

from adapters import configfile
from controller.errors import ConfigError
from controller.web_settings import EXAMPLE as _WEB_EXAMPLE
from controller.web_settings import NotifySettings, WebSettings, check_notify, resolve_web

Seconds = Annotated[float, Meta(gt=0)]
NonEmpty = Annotated[str, Meta(min_length=1)]


class ControllerMqtt(configfile.BrokerTable, frozen=True, forbid_unknown_fields=True):
    share_group: Annotated[str, Meta(pattern=r"^[a-z0-9_-]{1,64}$")] = "controllers"


class FleetSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    offline_alarm_s: Annotated[float, Meta(ge=0.1)] = 15 * 60
    #: A station "online" but silent (no state or telemetry) this long counts as offline.
    silent_after_s: Annotated[float, Meta(ge=0.1)] = 3 * 60
    outbox_alarm_depth: Annotated[int, Meta(ge=1)] = 200
    disk_low_mb: Annotated[int, Meta(ge=0)] = 500
    check_interval_s: Annotated[float, Meta(ge=0.05)] = 30.0
    #: Alarm on any station (assigned or not) whose last contact is older than this.
    stale_after_h: Annotated[float, Meta(gt=0)] = 24.0
    #: Alarm when a station holds (or the controller kept) at least this many quarantined packets.
    quarantine_alarm: Annotated[int, Meta(ge=1)] = 1

    @property
    def disk_low_bytes(self) -> int:
        return self.disk_low_mb * 1024 * 1024


class IngestSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_packet_bytes: Annotated[int, Meta(ge=1024)] = 8 * 1024 * 1024
    batch_size: Annotated[int, Meta(ge=1, le=10_000)] = 32
    batch_wait_s: Annotated[float, Meta(ge=0)] = 0.05
    workers: Annotated[int, Meta(ge=1, le=64)] = 2


class ScheduleSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    city_code: NonEmpty = "33.72"
    start: NonEmpty = "15:00"
    end: NonEmpty = "21:00"
    station_capacity: Annotated[int, Meta(ge=1, le=1000)] = 100
    publish_days_ahead: Annotated[int, Meta(ge=0, le=60)] = 3


class _ControllerTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str = "controller-1"


class _StoreTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: Path | None = None


class _KeysTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    private_key: Path | None = None
    public_key: Path | None = None


class _ControllerFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    controller: _ControllerTable = _ControllerTable()
    store: _StoreTable = _StoreTable()
    keys: _KeysTable = _KeysTable()
    mqtt: ControllerMqtt = ControllerMqtt()
    fleet: FleetSettings = FleetSettings()
    ingest: IngestSettings = IngestSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    web: WebSettings = WebSettings()
    notify: NotifySettings = NotifySettings()


@dataclass(frozen=True)
class ControllerConfig:
    """The whole controller config, checked and with every path absolute."""

    controller_id: str
    store_path: Path
    private_key: Path
    public_key: Path
    mqtt: ControllerMqtt
    fleet: FleetSettings
    ingest: IngestSettings
    schedule: ScheduleSettings
    source: Path | None = None
    web: WebSettings = WebSettings()
    notify: NotifySettings = NotifySettings()


def default_path() -> Path:
    """$REKAM_CONTROLLER_CONFIG, else /etc/rekam/controller.toml if it exists, else ./controller.toml."""
    return configfile.default_path("REKAM_CONTROLLER_CONFIG", "controller.toml")


def load(path: str | Path) -> ControllerConfig:
    p = Path(path)
    raw = configfile.read_toml(p, error=ConfigError, missing_hint="create one with: rekam controller init")
    return from_mapping(raw, base_dir=p.resolve().parent, source=p)


def from_mapping(raw: Mapping[str, Any], *, base_dir: Path, source: Path | None = None) -> ControllerConfig:
    f = configfile.convert(raw, _ControllerFile, error=ConfigError)
    cid = f.controller.id
    if not re.fullmatch(r"[a-z0-9_-]{1,64}", cid):
        raise ConfigError(f"controller.id must be lower-case letters, digits, '-' or '_', got {cid!r}")

    def at(p: Path | None, default: Path) -> Path:
        return configfile.resolve(p, default, base_dir)

    mqtt = configfile.resolve_broker(f.mqtt, base_dir, error=ConfigError)
    return ControllerConfig(
        controller_id=cid,
        store_path=at(f.store.path, Path("controller.db")),
        private_key=at(f.keys.private_key, Path("keys/controller.key")),
        public_key=at(f.keys.public_key, Path("keys/controller.pub")),
        mqtt=mqtt,
        fleet=f.fleet,
        ingest=f.ingest,
        schedule=f.schedule,
        source=source,
        web=resolve_web(f.web, base_dir, error=ConfigError),
        notify=check_notify(f.notify, error=ConfigError),
    )


EXAMPLE = """\
# rekam controller configuration. Relative paths are relative to this file.

[controller]
# Several controllers may share one store and one broker; each needs its own id.
id = "controller-1"

[store]
path = "controller.db"

[keys]
# Written by `rekam controller init`. The private key never leaves this machine (mode 0600).
private_key = "keys/controller.key"
public_key = "keys/controller.pub"

[mqtt]
host = "127.0.0.1"
port = 1883
tls = false
# ca_file = "tls/ca.crt"
# cert_file = "tls/controller.crt"
# key_file = "tls/controller.key"
keepalive_s = 30
# Controllers in one group split the packets between them ($share/<group>/...).
share_group = "controllers"

[ingest]
max_packet_bytes = 8388608
# Packets stored per transaction, and how long to wait to fill a batch.
batch_size = 32
batch_wait_s = 0.05
# Threads verifying and decrypting in parallel (the disk writes are serialised).
workers = 2

[fleet]
# Alarm when a station with an assignment today has been offline this long.
offline_alarm_s = 900
# An "online" station that sends nothing for this long (3 telemetry periods) is treated as offline.
silent_after_s = 180
outbox_alarm_depth = 200
disk_low_mb = 500
check_interval_s = 30
# Alarm on any station not heard from for this many hours, assigned or not.
stale_after_h = 24
# Alarm when a station holds this many quarantined packets (or the controller kept them).
quarantine_alarm = 1

[schedule]
city_code = "33.72"
start = "15:00"
end = "21:00"
station_capacity = 100
publish_days_ahead = 3
""" + _WEB_EXAMPLE

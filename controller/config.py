"""The controller's TOML config (/etc/rekam/controller.toml).

Validated at start; an error names the field and the expected form. Relative
paths are relative to the config file's directory. ``rekam controller init``
writes :data:`EXAMPLE` next to a fresh key pair and store.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Mapping

import msgspec
from msgspec import Meta

from adapters import configfile
from controller.errors import ConfigError
from protocol.wib import weekday_number
from controller.web_settings import EXAMPLE as _WEB_EXAMPLE
from controller.web_settings import NotifySettings, WebSettings, check_notify, resolve_web

Seconds = Annotated[float, Meta(gt=0)]
NonEmpty = Annotated[str, Meta(min_length=1)]


class ControllerMqtt(configfile.BrokerTable, frozen=True, forbid_unknown_fields=True):
    share_group: Annotated[str, Meta(pattern=r"^[a-z0-9_-]{1,64}$")] = "controllers"
    #: The stations' listener mount_point ("st/" in deploy/mosquitto): the controller puts it before every
    #: topic it uses, so it reaches stations that cannot reach outside it.
    stations_mount_point: Annotated[str, Meta(pattern=r"^([a-z0-9_-]+/)?$")] = ""
    #: Seconds the broker keeps this controller's session after it disconnects: 0, so a dead
    #: replica drops out of the share group at once (benchmarks set more to pre-load a backlog).
    session_expiry_s: Annotated[int, Meta(ge=0, le=86400)] = 0


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
    #: Packets the broker may have sent and this controller not yet stored (MQTT 5 receive maximum).
    receive_maximum: Annotated[int, Meta(ge=1, le=65535)] = 128


IsoDate = Annotated[str, Meta(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]


class ScheduleSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    city_code: NonEmpty = "33.72"
    start: NonEmpty = "15:00"
    end: NonEmpty = "21:00"
    #: Residents a station records in a full day; 0: the fitted turnout model (15 an hour).
    station_capacity: Annotated[int, Meta(ge=0, le=1000)] = 0
    publish_days_ahead: Annotated[int, Meta(ge=0, le=60)] = 3
    #: First day of the campaign (YYYY-MM-DD); "" plans from today.
    campaign_start: IsoDate = ""
    #: The campaign's deadline (YYYY-MM-DD), figures are reported against it; "" for none.
    deadline: IsoDate = ""
    #: National holidays off, and cuti bersama with them.
    holidays: bool = True
    cuti_bersama: bool = True
    #: Weekly days off, by name (English or Indonesian) or number (0 Monday .. 6 Sunday).
    weekly_days_off: tuple[str | Annotated[int, Meta(ge=0, le=6)], ...] = ("sunday",)
    #: The stop rule: a station-day expected to record fewer is not planned (group visits need 20).
    min_per_station_day: Annotated[int, Meta(ge=1, le=1000)] = 20
    #: Priority groups (first-time voters, home-bound) count 1 + this much in the planner.
    priority_weight: Annotated[float, Meta(ge=0, le=100)] = 1.0
    #: Share of each priority group to be recorded by the deadline (reported against).
    priority_target_share: Annotated[float, Meta(ge=0, le=1)] = 0.95
    #: [schedule.home_areas] station id = kabupaten/kota "33.72" or kecamatan "33.72.01"; absent: anywhere.
    home_areas: dict[str, str] = {}

    def __post_init__(self) -> None:
        for name in ("campaign_start", "deadline"):
            value = getattr(self, name)
            if value:
                try:
                    _dt.date.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"schedule.{name} must be a date YYYY-MM-DD, got {value!r}") from None
        for day in self.weekly_days_off:
            if weekday_number(day) is None:
                raise ValueError(f"schedule.weekly_days_off: {day!r} is not a day of the week "
                                 "(0-6, or a name such as 'sunday' or 'minggu')")


class ExportSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[export]``: the hand-off to the central system (controller/export)."""

    #: The central system's HTTPS endpoint; "" = none configured (batches are sealed and wait).
    central_url: Annotated[str, Meta(pattern=r"^(https://\S+)?$", description='an https:// address (or "")')] = ""
    central_public_key: Path | None = None  # default keys/central.pub
    #: CA certificate (or the centre's own certificate) to trust for HTTPS; None = the system's CAs.
    central_ca_file: Path | None = None
    signing_key: Path | None = None  # default keys/export-signing.key (public half beside it, .pub)
    dir: Path | None = None  # default export/: sealed batches and their signed manifests
    batch_size: Annotated[int, Meta(ge=1, le=5000)] = 200
    #: Processes converting records (WSQ); 0 = one per CPU.
    workers: Annotated[int, Meta(ge=0, le=64)] = 0
    #: The running controller exports, pushes, polls, publishes and purges this often; 0 = never by itself.
    interval_s: Annotated[float, Meta(ge=0)] = 300.0
    timeout_s: Annotated[float, Meta(gt=0)] = 60.0
    retry_min_s: Annotated[float, Meta(gt=0)] = 5.0
    retry_max_s: Annotated[float, Meta(gt=0)] = 900.0
    #: Sealed payloads are deleted this long after the centre confirmed them (SENT_FOR_ENROLLMENT or later).
    purge_grace_days: Annotated[float, Meta(ge=0)] = 30.0
    #: Biometric de-duplication before export: candidates scoring at least this (0..1) in the 1:N index are
    #: verified finger by finger (see bench/dedup.py for the rates).
    dedup_threshold: Annotated[float, Meta(ge=0, le=1)] = 0.90


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
    export: ExportSettings = ExportSettings()
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
    #: [export], its paths made absolute.
    export: ExportSettings = ExportSettings()
    web: WebSettings = WebSettings()
    notify: NotifySettings = NotifySettings()


def default_path() -> Path:
    """$REKAM_CONTROLLER_CONFIG, else /etc/rekam/controller.toml if it exists, else ./controller.toml."""
    return configfile.default_path("REKAM_CONTROLLER_CONFIG", "controller.toml")


def load(path: str | Path) -> ControllerConfig:
    p = Path(path)
    raw = configfile.read_toml(p, error=ConfigError, missing_hint="create one with: rekam controller init")
    return from_mapping(raw, base_dir=p.resolve().parent, source=p)


#: The --config help of every controller command.
CONFIG_HELP = ("controller TOML (default: $REKAM_CONTROLLER_CONFIG, else /etc/rekam/controller.toml if it "
               "exists, else ./controller.toml)")


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
        export=msgspec.structs.replace(
            f.export, central_public_key=at(f.export.central_public_key, Path("keys/central.pub")),
            central_ca_file=at(f.export.central_ca_file, Path()) if f.export.central_ca_file else None,
            signing_key=at(f.export.signing_key, Path("keys/export-signing.key")),
            dir=at(f.export.dir, Path("export"))),
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
# The stations' listener mount_point. With deploy/mosquitto the controller connects to the
# controllers' listener (127.0.0.1:8884) and reaches the stations under "st/".
stations_mount_point = ""
# Seconds the broker keeps this controller's session after a disconnect. 0: a replica that
# dies leaves the share group at once (the stations keep and resend what nobody acked).
session_expiry_s = 0

[ingest]
max_packet_bytes = 8388608
# Packets stored per transaction, and how long to wait to fill a batch.
batch_size = 32
batch_wait_s = 0.05
# Threads verifying and decrypting in parallel (the disk writes are serialised).
workers = 2
# Packets the broker may hand over before this controller has stored them (flow control).
receive_maximum = 128

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
# Hours residents can come: Solo's safari ran 15:00-21:00, after the working day.
start = "15:00"
end = "21:00"
# Residents one station records in a full day; 0 uses the turnout model fitted
# to Solo 2013 (15 an hour). `rekam controller schedule simulate` shows the fit.
station_capacity = 0
publish_days_ahead = 3
# The campaign: its first day and its deadline (YYYY-MM-DD; "" = from today, no deadline).
campaign_start = ""
deadline = ""
# Days off: national holidays (and cuti bersama) from lokal-id / holidays, and weekly days off.
holidays = true
cuti_bersama = true
weekly_days_off = ["sunday"]
# The stop rule: a station-day expected to record fewer residents is not planned;
# they go to kecamatan office service or home visits (listed by the simulate command).
min_per_station_day = 20
# First-time voters and the home-bound count 1 + priority_weight in the planner;
# the share of each to be recorded by the deadline is reported against this target.
priority_weight = 1.0
priority_target_share = 0.95

# Each station's home area (kabupaten/kota "33.72" or kecamatan "33.72.01"); a station
# leaves it only when it has nothing left, and its assignment then says why.
[schedule.home_areas]
# st-01 = "33.72.01"

[export]
# The hand-off to the central system: batches sealed to its key, manifests signed by
# keys/export-signing.key (`rekam controller export init`).
# central_url = "https://central.example:8443"
central_public_key = "keys/central.pub"
# central_ca_file = "tls/central-ca.crt"
dir = "export"
batch_size = 200
interval_s = 300
# Sealed payloads are deleted this many days after the centre confirmed them.
purge_grace_days = 30
""" + _WEB_EXAMPLE
